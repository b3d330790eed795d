"""{{name}}: a Ferry transform. It maps an approved QuoteWerks quote to an M3 sales order
(kind `quote-to-order`); every other kind a flow asks for (`quote-to-customer`,
`item-to-product`, ...) is left to Ferry's default mappings, because `describe` names only
this one.

Change `map_quote` to the customer's rules; test_app.py and the fixtures in fixtures/
(`ferry plugin test`) say what it must do. Money is `decimal.Decimal`, never float.

Settings (the tenant's `[tenants.T.plugins.transform] settings`): `order_type` (default
`A01`), `warehouse` (default `100`).
"""

from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.transform import Context, FieldUsage, Issue, Mapped, Severity
from wit_world.imports import log
from wit_world.imports.types import Document, Field, Line, Value_Decimal, Value_Integer, Value_Text

KIND = "quote-to-order"
CENT = Decimal("0.01")


def issue(field: str, message: str, line: Optional[int] = None) -> Issue:
    return Issue(Severity.ERROR, "{{name}}", field, line, message)


def value_of(fields: List[Field], name: str):
    for f in fields:
        if f.name == name:
            return f.value
    return None


def text(fields: List[Field], name: str) -> str:
    v = value_of(fields, name)
    return "" if v is None or not hasattr(v, "value") else str(v.value).strip()


def integer(fields: List[Field], name: str) -> int:
    v = value_of(fields, name)
    if isinstance(v, Value_Integer):
        return v.value
    try:
        return int(text(fields, name) or "0")
    except ValueError:
        return 0


def setting(context: Context, key: str, default: str) -> str:
    """A setting from the call's context (the host passes the tenant's settings there)."""
    for k, v in context.settings:
        if k == key:
            return v
    return default


def is_ordered(fields: List[Field]) -> bool:
    """Selected product rows: comments, headings and unselected options are not ordered."""
    attrs = integer(fields, "LineAttributes")
    return integer(fields, "LineType") == 1 and attrs & 1 == 0 and (attrs & 16 == 0 or attrs & 256 != 0)


def map_quote(quote: Document, context: Context) -> Document:
    """The quote as an M3 order; raises Err with every problem found."""
    issues: List[Issue] = []
    reference = text(quote.fields, "DocNo")
    if not reference:
        issues.append(issue("CUOR", "the quote has no DocNo"))
    customer = dict(context.ids).get("customer") or text(quote.fields, "SoldToCMAccountNo")
    if not customer:
        issues.append(issue("CUNO", "no customer was resolved"))
    header = [
        Field("CUNO", Value_Text(customer)),
        Field("CUOR", Value_Text(reference)),
        Field("ORTP", Value_Text(setting(context, "order_type", "A01"))),
        Field("WHLO", Value_Text(setting(context, "warehouse", "100"))),
    ]
    lines: List[Line] = []
    for i, line in enumerate(quote.lines):
        f = line.fields
        if not is_ordered(f):
            continue
        try:
            qty = Decimal(text(f, "QtyTotal") or "0")
            price = Decimal(text(f, "UnitPrice") or "0")
        except InvalidOperation:
            issues.append(issue("ORQT", "the quantity or price is not a number", i))
            continue
        if qty <= 0:
            issues.append(issue("ORQT", "the quantity must be more than 0", i))
            continue
        lines.append(Line([
            Field("ITNO", Value_Text(text(f, "ManufacturerPartNumber"))),
            Field("ORQT", Value_Decimal(str(qty))),
            Field("SAPR", Value_Decimal(str(price.quantize(CENT, ROUND_HALF_UP)))),
        ]))
    if issues:
        raise Err(issues)
    return Document("order", reference, header, lines)


class Transform(exports.Transform):
    def map_document(self, kind: str, input: Document, context: Context) -> Mapped:
        if kind != KIND:
            raise Err([issue("kind", f"{{name}} maps {KIND}, not '{kind}'")])
        order = map_quote(input, context)
        log.log(log.Level.INFO, f"mapped quote {order.id} to {len(order.lines)} order line(s)")
        return Mapped(order, [])

    def describe(self) -> List[FieldUsage]:
        return [
            FieldUsage(
                KIND,
                ["DocNo", "SoldToCMAccountNo", "lines.LineType", "lines.LineAttributes",
                 "lines.ManufacturerPartNumber", "lines.QtyTotal", "lines.UnitPrice"],
                ["CUNO", "CUOR", "ORTP", "WHLO", "lines.ITNO", "lines.ORQT", "lines.SAPR"],
            )
        ]
