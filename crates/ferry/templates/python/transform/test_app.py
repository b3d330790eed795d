"""Unit tests for app.py on your own Python: `python -m unittest` (after generating the
bindings into bindings/, see README). The host's imports are replaced by fakes here."""

import os
import sys
import unittest
from unittest import mock

# The generated bindings (`componentize-py ... bindings bindings`); componentize makes its own.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bindings"))

from componentize_py_types import Err
from wit_world.exports.transform import Context
from wit_world.imports.types import Document, Field, Line, Value_Decimal, Value_Integer, Value_Text

import app


def row(part: str, qty: str, price: str) -> Line:
    return Line([
        Field("LineType", Value_Integer(1)),
        Field("LineAttributes", Value_Integer(0)),
        Field("ManufacturerPartNumber", Value_Text(part)),
        Field("QtyTotal", Value_Decimal(qty)),
        Field("UnitPrice", Value_Decimal(price)),
    ])


def quote(*lines: Line) -> Document:
    return Document("quote", "17", [Field("DocNo", Value_Text("Q1001"))], list(lines))


CONTEXT = Context("test", [("warehouse", "200")], [("customer", "M3-C100")])


class MapQuoteTest(unittest.TestCase):
    def test_a_quote_becomes_an_order_with_prices_in_cents(self):
        with mock.patch.object(app.log, "log"):
            mapped = app.Transform().map_document("quote-to-order", quote(row("ABC-100", "2", "10.005")), CONTEXT)
        order = mapped.document
        self.assertEqual(app.text(order.fields, "CUNO"), "M3-C100")
        self.assertEqual(app.text(order.fields, "WHLO"), "200")
        self.assertEqual(len(order.lines), 1)
        self.assertEqual(app.text(order.lines[0].fields, "SAPR"), "10.01")

    def test_a_zero_quantity_is_refused_naming_the_line(self):
        with self.assertRaises(Err) as refused:
            app.map_quote(quote(row("ABC-100", "0", "1")), CONTEXT)
        [problem] = refused.exception.value
        self.assertEqual((problem.field, problem.line), ("ORQT", 0))

    def test_other_kinds_are_left_to_the_default_mappings(self):
        self.assertEqual([u.kind for u in app.Transform().describe()], ["quote-to-order"])


if __name__ == "__main__":
    unittest.main()
