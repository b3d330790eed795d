"""Unit tests for app.py on your own Python: `python -m unittest` (after generating the
bindings into bindings/, see README). The host's imports are replaced by fakes here."""

import os
import sys
import unittest
from unittest import mock

# The generated bindings (`componentize-py ... bindings bindings`); componentize makes its own.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bindings"))

from componentize_py_types import Err
from wit_world.exports.quoting import InboundWebhook
from wit_world.imports.types import Error_Invalid, Error_NotFound

import app


def webhook(body: bytes) -> InboundWebhook:
    return InboundWebhook([("content-type", "application/json")], body)


class QuotingTest(unittest.TestCase):
    def test_a_webhook_names_the_quote_and_its_status(self):
        e = app.Quoting().parse_webhook(webhook(b'{"DocID": 17, "DocStatus": "Approved", "EventID": "ev-1"}'))
        self.assertEqual((e.quote_id, e.status, e.event_id), ("17", "Approved", "ev-1"))

    def test_a_webhook_without_a_quote_is_invalid(self):
        for body in (b'{"DocStatus": "Approved"}', b"not json"):
            with self.assertRaises(Err) as refused:
                app.Quoting().parse_webhook(webhook(body))
            self.assertIsInstance(refused.exception.value, Error_Invalid)

    def test_a_status_for_an_unknown_quote_is_not_found(self):
        with mock.patch.object(app.config, "get", return_value=None), \
                mock.patch.object(app.sql, "execute", return_value=0) as execute:
            with self.assertRaises(Err) as refused:
                app.Quoting().set_status("99", "Ordered")
        self.assertIsInstance(refused.exception.value, Error_NotFound)
        self.assertEqual(execute.call_args.args[0], "quotewerks")


if __name__ == "__main__":
    unittest.main()
