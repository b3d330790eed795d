"""{{name}}: a Ferry ERP connector. The host calls it for customers, orders, order status,
invoices and the ERP's pushed events; it reaches the ERP only through the connections the
tenant grants it (`http`, here the connection named by setting `connection`, default `erp`),
and the host adds the credentials.

What a quote-to-order flow needs first: find_customers, validate_order, begin_order,
add_order_lines, confirm_order, find_order, get_order_status. Each function here that is not
written yet answers `unsupported`, which the host reports without retrying. test_app.py runs
on your own Python (`python -m unittest`).
"""

from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.erp import (
    Invoice,
    ItemPrices,
    ItemStock,
    OrderReceipt,
    Price,
    StockBalance,
)
from wit_world.imports import config, http
from wit_world.imports.types import (
    Change,
    ChangeAction_Updated,
    Document,
    Entity_Order,
    Error_Fatal,
    Error_Invalid,
    Error_NotFound,
    Error_Transient,
    Error_Unsupported,
    FieldError,
    Line,
    MatchCriteria,
    Page,
    PageRequest,
)


def unsupported(what: str) -> Err:
    return Err(Error_Unsupported(f"{what} is not written yet in {{name}}"))


def connection() -> str:
    """The connection to the ERP (the tenant grants it; the host adds the credentials)."""
    return config.get("connection") or "erp"


def receipt(order_number: str, body: bytes) -> OrderReceipt:
    """An order's status as the ERP answers `GET orders/{number}`: the status in plain text."""
    try:
        status = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Err(Error_Fatal("the order status is not UTF-8"))
    if not status:
        raise Err(Error_Fatal(f"order {order_number}: empty status"))
    return OrderReceipt(order_number, "", status, [])


def changes(content_type: str, payload: bytes) -> List[Change]:
    """An event the ERP pushed: one changed order number a line (text/plain)."""
    if not content_type.startswith("text/plain"):
        raise Err(Error_Invalid([FieldError("content-type", None, f"expected text/plain, got {content_type}")]))
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Err(Error_Invalid([FieldError("payload", None, "not UTF-8")]))
    return [
        Change(Entity_Order(), line.strip(), ChangeAction_Updated(), None, [])
        for line in text.splitlines()
        if line.strip()
    ]


class Erp(exports.Erp):
    def get_customer(self, id: str) -> Document:
        raise unsupported("get-customer")

    def find_customers(self, criteria: MatchCriteria) -> List[Document]:
        raise unsupported("find-customers")

    def create_customer(self, customer: Document) -> str:
        raise unsupported("create-customer")

    def update_customer(self, id: str, changes: Document) -> None:
        raise unsupported("update-customer")

    def list_customers_changed(self, since: str, page: PageRequest) -> Page:
        raise unsupported("list-customers-changed")

    def get_item(self, id: str) -> Document:
        raise unsupported("get-item")

    def list_items(self, page: PageRequest) -> Page:
        raise unsupported("list-items")

    def list_items_changed(self, since: str, page: PageRequest) -> Page:
        raise unsupported("list-items-changed")

    def get_item_price(self, item: str) -> Price:
        raise unsupported("get-item-price")

    def get_customer_price(self, item: str, customer: str, quantity: str) -> Price:
        raise unsupported("get-customer-price")

    def get_stock(self, item: str) -> List[StockBalance]:
        raise unsupported("get-stock")

    def get_item_prices(self, items: List[str], customer: Optional[str]) -> List[ItemPrices]:
        raise unsupported("get-item-prices")

    def get_stocks(self, items: List[str], warehouses: List[str]) -> List[ItemStock]:
        raise unsupported("get-stocks")

    def list_stocks_changed(self, since: str, warehouses: List[str]) -> Optional[List[ItemStock]]:
        # None: this ERP cannot tell which stock changed; the host reads every item.
        return None

    def validate_order(self, order: Document) -> List[FieldError]:
        raise unsupported("validate-order")

    def create_order(self, order: Document, reference: str) -> OrderReceipt:
        raise unsupported("create-order")

    def begin_order(self, header: Document, reference: str) -> str:
        raise unsupported("begin-order")

    def add_order_lines(self, draft: str, lines: List[Line]) -> None:
        raise unsupported("add-order-lines")

    def confirm_order(self, draft: str) -> OrderReceipt:
        raise unsupported("confirm-order")

    def find_order(self, reference: str, customer: Optional[str]) -> Optional[OrderReceipt]:
        raise unsupported("find-order")

    def get_order_status(self, order_number: str) -> OrderReceipt:
        request = http.Request(http.Method.GET, f"orders/{order_number}", [], None)
        # A read: the host may resend it after a 429 or 503.
        response = http.send_idempotent(connection(), request)
        if 200 <= response.status < 300:
            return receipt(order_number, response.body)
        if response.status == 404:
            raise Err(Error_NotFound(f"order {order_number}"))
        if response.status in (429, 503):
            raise Err(Error_Transient(f"HTTP {response.status}"))
        raise Err(Error_Fatal(f"order {order_number}: HTTP {response.status}"))

    def list_order_invoices(self, order_number: str) -> List[Invoice]:
        raise unsupported("list-order-invoices")

    def parse_event(self, content_type: str, payload: bytes) -> List[Change]:
        return changes(content_type, payload)
