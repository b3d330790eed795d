"""Example per-customer transform in Python (componentize-py): QuoteWerks quote -> M3 order with
one customer's contract pricing, which a mapping file can't express.

The customer's contract says:
- some parts have a fixed contract price (setting `contract_prices`: `PART=PRICE, ...`), whatever
  the quote says;
- every other line gets a volume discount by its quantity (setting `tiers`: `QTY:PERCENT, ...`,
  e.g. `10:2, 50:5, 100:8`: 10 or more units 2 %, 50 or more 5 %...), sent to M3 as DIP1;
- prices are rounded half-up to cents.

Money is Python's `decimal.Decimal`, never float. Built by `cargo xtask build-plugins` with
componentize-py against world `plugin` of wit/transform (ferry:transform).
"""

from decimal import Decimal, InvalidOperation, ROUND_HALF_UP
from typing import List, Optional, Tuple

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.transform import Context, FieldUsage, Issue, Mapped, Severity
from wit_world.imports import config, log
from wit_world.imports.types import (
    Document,
    Field,
    Line,
    Value_Decimal,
    Value_Integer,
    Value_Text,
)

CENT = Decimal("0.01")


def issue(field: str, message: str, line: Optional[int] = None) -> Issue:
    return Issue(Severity.ERROR, "example-pricing", field, line, message)


def value_of(fields: List[Field], name: str):
    for f in fields:
        if f.name == name:
            return f.value
    return None


def text(fields: List[Field], name: str) -> str:
    v = value_of(fields, name)
    if v is None or not hasattr(v, "value"):
        return ""
    return str(v.value).strip()


def decimal(fields: List[Field], name: str) -> Optional[Decimal]:
    raw = text(fields, name)
    if raw == "":
        return None
    try:
        d = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"'{raw}' is not a decimal")
    if not d.is_finite():
        raise ValueError(f"'{raw}' is not a decimal")
    return d


def integer(fields: List[Field], name: str) -> int:
    v = value_of(fields, name)
    if isinstance(v, Value_Integer):
        return v.value
    try:
        return int(text(fields, name) or "0")
    except ValueError:
        return 0


def setting(context: Context, key: str, default: str = "") -> str:
    for k, v in context.settings:
        if k == key:
            return v
    found = config.get(key)
    return default if found is None else found


def parse_pairs(raw: str, sep: str, what: str) -> List[Tuple[str, Decimal]]:
    pairs = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition(sep)
        try:
            pairs.append((key.strip(), Decimal(value.strip())))
        except InvalidOperation:
            raise ValueError(f"{what}: '{part}' needs KEY{sep}NUMBER")
    return pairs


def tier_percent(tiers: List[Tuple[Decimal, Decimal]], qty: Decimal) -> Decimal:
    best = Decimal(0)
    for threshold, percent in tiers:
        if qty >= threshold:
            best = max(best, percent)
    return best


def ordered(fields: List[Field]) -> bool:
    attrs = integer(fields, "LineAttributes")
    return (
        integer(fields, "LineType") == 1
        and attrs & 1 == 0
        and (attrs & 16 == 0 or attrs & 256 != 0)
    )


def dec(name: str, d: Decimal) -> Field:
    return Field(name, Value_Decimal(str(d)))


class Transform(exports.Transform):
    def map_document(self, kind: str, input: Document, context: Context) -> Mapped:
        if kind != "quote-to-order":
            raise Err([issue("kind", f"example-pricing maps quote-to-order, not '{kind}'")])
        try:
            contract = dict(parse_pairs(setting(context, "contract_prices"), "=", "contract_prices"))
            tiers = [
                (Decimal(k), p)
                for k, p in parse_pairs(setting(context, "tiers"), ":", "tiers")
            ]
        except (ValueError, InvalidOperation) as e:
            raise Err([issue("settings", str(e))])

        doc_no = text(input.fields, "DocNo")
        if not doc_no:
            raise Err([issue("CUOR", "DocNo is required")])
        customer = dict(context.ids).get("customer") or text(input.fields, "SoldToCMAccountNo")
        if not customer:
            raise Err([issue("CUNO", "no customer was resolved")])

        header = [
            Field("CUNO", Value_Text(customer)),
            Field("CUOR", Value_Text(doc_no)),
            Field("ORTP", Value_Text(setting(context, "order_type", "A01"))),
            Field("WHLO", Value_Text(setting(context, "warehouse", "100"))),
            Field("RLDT", Value_Text(text(input.fields, "DocDate").replace("-", ""))),
        ]
        lines: List[Line] = []
        errors: List[Issue] = []
        contract_lines = 0
        for i, line in enumerate(input.lines):
            f = line.fields
            if not ordered(f):
                continue
            part = text(f, "ManufacturerPartNumber")
            try:
                qty = decimal(f, "QtyTotal")
                price = decimal(f, "UnitPrice") or Decimal(0)
            except ValueError as e:
                errors.append(issue("ORQT", str(e), i))
                continue
            if qty is None or qty <= 0:
                errors.append(issue("ORQT", "the quantity must be more than 0", i))
                continue
            out = [Field("ITNO", Value_Text(part)), dec("ORQT", qty)]
            if part in contract:
                contract_lines += 1
                out.append(dec("SAPR", contract[part].quantize(CENT, ROUND_HALF_UP)))
            else:
                out.append(dec("SAPR", price.quantize(CENT, ROUND_HALF_UP)))
                percent = tier_percent(tiers, qty)
                if percent > 0:
                    out.append(dec("DIP1", percent))
            out.append(Field("ITDS", Value_Text(text(f, "Description")[:30])))
            lines.append(Line(out))
        if errors:
            raise Err(errors)
        log.log(log.Level.INFO, f"priced {len(lines)} line(s), {contract_lines} at contract price")
        return Mapped(Document("order", doc_no, header, lines), [])

    def describe(self) -> List[FieldUsage]:
        return [
            FieldUsage(
                "quote-to-order",
                ["DocNo", "DocDate", "SoldToCMAccountNo", "lines.LineType",
                 "lines.LineAttributes", "lines.ManufacturerPartNumber", "lines.QtyTotal",
                 "lines.UnitPrice", "lines.Description"],
                ["CUNO", "CUOR", "ORTP", "WHLO", "RLDT", "lines.ITNO", "lines.ORQT",
                 "lines.SAPR", "lines.DIP1", "lines.ITDS"],
            )
        ]
