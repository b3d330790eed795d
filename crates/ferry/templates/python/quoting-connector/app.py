"""{{name}}: a Ferry quoting connector. The host calls it for each webhook the quoting system
sends (after checking its shared secret), for quotes, and to write the ERP's order number,
status and invoice back. It reaches the quoting system's database only through the SQL
connection the tenant grants it (`sql`, the connection named by setting `connection`, default
`quotewerks`).

What a quote-to-order flow needs first: parse_webhook, list_ready_quotes, get_quote,
mark_transferred, set_status. Each function here that is not written yet answers
`unsupported`, which the host reports without retrying. test_app.py runs on your own Python
(`python -m unittest`).
"""

import json
from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.quoting import Availability, InboundWebhook, QuoteEvent, QuotePage, UpsertReport
from wit_world.imports import config, sql
from wit_world.imports.types import (
    Document,
    Error_Invalid,
    Error_NotFound,
    Error_Unsupported,
    FieldError,
    MatchCriteria,
    Page,
    PageRequest,
)


def unsupported(what: str) -> Err:
    return Err(Error_Unsupported(f"{what} is not written yet in {{name}}"))


def invalid(field: str, message: str) -> Err:
    return Err(Error_Invalid([FieldError(field, None, message)]))


def connection() -> str:
    """The SQL connection to the quoting system's database (the tenant grants it)."""
    return config.get("connection") or "quotewerks"


def event(body: bytes) -> QuoteEvent:
    """A webhook body: {"DocID": "17", "DocStatus": "Approved", "EventID": "..."}."""
    try:
        data = json.loads(body)
    except ValueError as e:
        raise invalid("body", f"not JSON: {e}")
    if not isinstance(data, dict):
        raise invalid("body", "not a JSON object")

    def text(key: str) -> Optional[str]:
        v = data.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        return v.strip() if isinstance(v, str) and v.strip() else None

    quote_id = text("DocID")
    if quote_id is None:
        raise invalid("DocID", "is required")
    # The host deduplicates on the event id: the same delivery twice is one event.
    return QuoteEvent(text("EventID") or quote_id, quote_id, "DocumentStatusChanged", text("DocStatus"), None)


class Quoting(exports.Quoting):
    def parse_webhook(self, webhook: InboundWebhook) -> QuoteEvent:
        return event(webhook.body)

    def list_ready_quotes(self, page: PageRequest) -> QuotePage:
        raise unsupported("list-ready-quotes")

    def get_quote(self, id: str) -> Document:
        raise unsupported("get-quote")

    def mark_transferred(self, id: str, order_number: str, status: Optional[str]) -> None:
        raise unsupported("mark-transferred")

    def set_status(self, id: str, status: str) -> None:
        statement = sql.Statement(
            "UPDATE DocumentHeaders SET DocStatus = ? WHERE ID = ?",
            [sql.SqlValue_Text(status), sql.SqlValue_Text(id)],
        )
        if sql.execute(connection(), statement) == 0:
            raise Err(Error_NotFound(f"quote {id}"))

    def set_invoice(self, id: str, invoice_number: str, invoice_date: str) -> None:
        raise unsupported("set-invoice")

    def upsert_products(self, products: List[Document]) -> UpsertReport:
        raise unsupported("upsert-products")

    def set_availability(self, items: List[Availability]) -> int:
        raise unsupported("set-availability")

    def get_customer(self, id: str) -> Document:
        raise unsupported("get-customer")

    def find_customers(self, criteria: MatchCriteria) -> List[Document]:
        raise unsupported("find-customers")

    def upsert_customer(self, customer: Document) -> str:
        raise unsupported("upsert-customer")

    def list_customers_changed(self, since: str, page: PageRequest) -> Page:
        raise unsupported("list-customers-changed")
