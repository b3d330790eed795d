"""Unit tests for app.py on your own Python: `python -m unittest` (after generating the
bindings into bindings/, see README). The host's imports are replaced by fakes here."""

import os
import sys
import unittest
from unittest import mock

# The generated bindings (`componentize-py ... bindings bindings`); componentize makes its own.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bindings"))

from componentize_py_types import Err
from wit_world.imports import http
from wit_world.imports.types import Entity_Order, Error_Invalid, Error_NotFound

import app


class ErpTest(unittest.TestCase):
    def test_an_event_names_each_changed_order(self):
        found = app.Erp().parse_event("text/plain", b"1000123\n\n1000124\n")
        self.assertEqual([c.key for c in found], ["1000123", "1000124"])
        self.assertTrue(all(isinstance(c.entity, Entity_Order) for c in found))

    def test_an_event_of_another_type_is_invalid(self):
        with self.assertRaises(Err) as refused:
            app.Erp().parse_event("application/xml", b"<x/>")
        self.assertIsInstance(refused.exception.value, Error_Invalid)

    def test_the_status_is_read_from_the_granted_connection(self):
        answer = http.Response(200, [], b"22\n")
        with mock.patch.object(app.config, "get", return_value=None), \
                mock.patch.object(app.http, "send_idempotent", return_value=answer) as send:
            self.assertEqual(app.Erp().get_order_status("1000123").status, "22")
        connection, request = send.call_args.args
        self.assertEqual((connection, request.path), ("erp", "orders/1000123"))

    def test_an_unknown_order_is_not_found(self):
        with mock.patch.object(app.config, "get", return_value=None), \
                mock.patch.object(app.http, "send_idempotent", return_value=http.Response(404, [], b"")):
            with self.assertRaises(Err) as refused:
                app.Erp().get_order_status("9")
        self.assertIsInstance(refused.exception.value, Error_NotFound)


if __name__ == "__main__":
    unittest.main()
