//! {{name}}: a Ferry ERP connector. The host calls it for customers, orders, order status,
//! invoices and the ERP's pushed events; it reaches the ERP only through the connections the
//! tenant grants it (`ferry:host/http`, here the connection named by setting `connection`,
//! default `erp`), and the host adds the credentials.
//!
//! What a quote-to-order flow needs first: `find-customers`, `validate-order`, `begin-order`,
//! `add-order-lines`, `confirm-order`, `find-order`, `get-order-status`. Each function here
//! that is not written yet answers `unsupported`, which the host reports without retrying.
//! Write them against your ERP's API; the unit tests below run natively (`cargo test`).

wit_bindgen::generate!({
    world: "plugin",
    path: "wit/erp",
    // The host binds the `@unstable(feature = sync)` functions too, so the component exports them.
    features: ["sync"],
    with: {
        "ferry:types/types@{{types_version}}": ferry_pdk::types,
        "ferry:host/http@{{host_version}}": ferry_pdk::http,
        "ferry:host/log@{{host_version}}": ferry_pdk::log,
        "ferry:host/config@{{host_version}}": ferry_pdk::config,
        "ferry:host/diagnostics@{{host_version}}": ferry_pdk::diagnostics,
    },
});

use exports::ferry::erp::erp::{
    Guest, Invoice, ItemPrices, ItemStock, OrderReceipt, Price, StockBalance,
};
use ferry_pdk::http::{self, Method, Request};
use ferry_pdk::{
    Change, ChangeAction, Document, Entity, Error, FieldError, Line, MatchCriteria, Page,
    PageRequest,
};

struct Plugin;

fn unsupported<T>(what: &str) -> Result<T, Error> {
    Err(Error::Unsupported(format!(
        "{what} is not written yet in {{name}}"
    )))
}

/// The connection to the ERP (the tenant grants it; the host adds the credentials).
fn connection() -> String {
    ferry_pdk::setting_or("connection", "erp")
}

/// An order's status line as the ERP answers `GET orders/{number}`: `STATUS` in plain text.
fn receipt(order_number: &str, body: &[u8]) -> Result<OrderReceipt, Error> {
    let status = std::str::from_utf8(body)
        .map_err(|_| Error::fatal("the order status is not UTF-8"))?
        .trim();
    if status.is_empty() {
        return Err(Error::fatal(format!("order {order_number}: empty status")));
    }
    Ok(OrderReceipt {
        order_number: order_number.to_string(),
        reference: String::new(),
        status: status.to_string(),
        line_numbers: Vec::new(),
    })
}

/// An event the ERP pushed: one changed order number a line (text/plain).
fn changes(content_type: &str, payload: &[u8]) -> Result<Vec<Change>, Error> {
    if !content_type.starts_with("text/plain") {
        return Err(Error::invalid(
            "content-type",
            format!("expected text/plain, got {content_type}"),
        ));
    }
    let text = std::str::from_utf8(payload).map_err(|_| Error::invalid("payload", "not UTF-8"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|order| Change {
            entity: Entity::Order,
            key: order.to_string(),
            action: ChangeAction::Updated,
            changed_at: None,
            detail: Vec::new(),
        })
        .collect())
}

impl Guest for Plugin {
    fn get_customer(_id: String) -> Result<Document, Error> {
        unsupported("get-customer")
    }
    fn find_customers(_criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        unsupported("find-customers")
    }
    fn create_customer(_customer: Document) -> Result<String, Error> {
        unsupported("create-customer")
    }
    fn update_customer(_id: String, _changes: Document) -> Result<(), Error> {
        unsupported("update-customer")
    }
    fn list_customers_changed(_since: String, _page: PageRequest) -> Result<Page, Error> {
        unsupported("list-customers-changed")
    }
    fn get_item(_id: String) -> Result<Document, Error> {
        unsupported("get-item")
    }
    fn list_items(_page: PageRequest) -> Result<Page, Error> {
        unsupported("list-items")
    }
    fn list_items_changed(_since: String, _page: PageRequest) -> Result<Page, Error> {
        unsupported("list-items-changed")
    }
    fn get_item_price(_item: String) -> Result<Price, Error> {
        unsupported("get-item-price")
    }
    fn get_customer_price(
        _item: String,
        _customer: String,
        _quantity: String,
    ) -> Result<Price, Error> {
        unsupported("get-customer-price")
    }
    fn get_stock(_item: String) -> Result<Vec<StockBalance>, Error> {
        unsupported("get-stock")
    }
    fn get_item_prices(
        _items: Vec<String>,
        _customer: Option<String>,
    ) -> Result<Vec<ItemPrices>, Error> {
        unsupported("get-item-prices")
    }
    fn get_stocks(
        _items: Vec<String>,
        _warehouses: Vec<String>,
    ) -> Result<Vec<ItemStock>, Error> {
        unsupported("get-stocks")
    }
    fn list_stocks_changed(
        _since: String,
        _warehouses: Vec<String>,
    ) -> Result<Option<Vec<ItemStock>>, Error> {
        // None: this ERP cannot tell which stock changed; the host reads every item.
        Ok(None)
    }
    fn validate_order(_order: Document) -> Result<Vec<FieldError>, Error> {
        unsupported("validate-order")
    }
    fn create_order(_order: Document, _reference: String) -> Result<OrderReceipt, Error> {
        unsupported("create-order")
    }
    fn begin_order(_header: Document, _reference: String) -> Result<String, Error> {
        unsupported("begin-order")
    }
    fn add_order_lines(_draft: String, _lines: Vec<Line>) -> Result<(), Error> {
        unsupported("add-order-lines")
    }
    fn confirm_order(_draft: String) -> Result<OrderReceipt, Error> {
        unsupported("confirm-order")
    }
    fn find_order(
        _reference: String,
        _customer: Option<String>,
    ) -> Result<Option<OrderReceipt>, Error> {
        unsupported("find-order")
    }
    fn get_order_status(order_number: String) -> Result<OrderReceipt, Error> {
        let request = Request {
            method: Method::Get,
            path: format!("orders/{order_number}"),
            headers: Vec::new(),
            body: None,
        };
        // A read: the host may resend it after a 429 or 503.
        let response = http::send_idempotent(&connection(), &request)?;
        match response.status {
            200..=299 => receipt(&order_number, &response.body),
            404 => Err(Error::not_found(format!("order {order_number}"))),
            429 | 503 => Err(Error::transient(format!("HTTP {}", response.status))),
            status => Err(Error::fatal(format!("order {order_number}: HTTP {status}"))),
        }
    }
    fn list_order_invoices(_order_number: String) -> Result<Vec<Invoice>, Error> {
        unsupported("list-order-invoices")
    }
    fn parse_event(content_type: String, payload: Vec<u8>) -> Result<Vec<Change>, Error> {
        changes(&content_type, &payload)
    }
}

export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_each_changed_order() {
        let found = changes("text/plain", b"1000123\n\n1000124\n").unwrap();
        let keys: Vec<&str> = found.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["1000123", "1000124"]);
        assert!(found.iter().all(|c| c.entity == Entity::Order));
    }

    #[test]
    fn an_event_of_another_type_is_invalid() {
        assert!(matches!(
            changes("application/xml", b"<x/>"),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn a_status_answer_becomes_a_receipt() {
        assert_eq!(receipt("1000123", b"22\n").unwrap().status, "22");
        assert!(receipt("1000123", b" ").is_err());
    }
}
