//! An ERP plugin built against the frozen 1.1.0 contract (`wit/frozen/erp@1.1.0`), as one
//! released before `ferry:erp` 1.2 added `list-order-invoices`. It does not use ferry-pdk
//! (which follows the live contract), so its export carries 1.1.0. The host, serving 1.2, must
//! load it, answer its functions through the 1.1 bindings, and answer the one it lacks
//! `unsupported` without running it (crates/ferry/tests/contract_versions.rs).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/frozen/erp@1.1.0",
    features: ["sync"],
    generate_all,
});

use exports::ferry::erp::erp::{Guest, OrderReceipt, Price, StockBalance};
use ferry::host::log;
use ferry::types::types::{
    Change, Document, Error, Field, FieldError, Line, MatchCriteria, Page, PageRequest, Value,
};

struct Contract11Erp;

fn item(itno: &str, itds: &str) -> Document {
    let text = |name: &str, v: &str| Field {
        name: name.into(),
        value: Value::Text(v.into()),
    };
    Document {
        kind: "item".into(),
        id: Some(itno.into()),
        fields: vec![text("ITNO", itno), text("ITDS", itds), text("STAT", "20")],
        lines: Vec::new(),
    }
}

fn absent<T>() -> Result<T, Error> {
    Err(Error::Unsupported("not in the 1.1 fixture".into()))
}

impl Guest for Contract11Erp {
    /// The one function the test calls: proof the 1.1 bindings reach the guest.
    fn get_order_status(order_number: String) -> Result<OrderReceipt, Error> {
        log::log(log::Level::Info, "order status read by a 1.1 plugin");
        Ok(OrderReceipt {
            order_number,
            reference: "built against ferry:erp@1.1.0".into(),
            status: "77".into(),
            line_numbers: Vec::new(),
        })
    }

    fn find_order(reference: String, _: Option<String>) -> Result<Option<OrderReceipt>, Error> {
        Ok(Some(OrderReceipt {
            order_number: "1000017".into(),
            reference,
            status: "22".into(),
            line_numbers: vec!["1".into()],
        }))
    }

    fn get_customer(_: String) -> Result<Document, Error> {
        absent()
    }
    fn find_customers(_: MatchCriteria) -> Result<Vec<Document>, Error> {
        Ok(Vec::new())
    }
    fn create_customer(_: Document) -> Result<String, Error> {
        absent()
    }
    fn update_customer(_: String, _: Document) -> Result<(), Error> {
        absent()
    }
    fn list_customers_changed(_: String, _: PageRequest) -> Result<Page, Error> {
        absent()
    }
    fn get_item(_: String) -> Result<Document, Error> {
        absent()
    }
    /// The catalog a 1.1 plugin serves (the host's catalog sync calls it through the 1.1
    /// bindings): two items, one page.
    fn list_items(_: PageRequest) -> Result<Page, Error> {
        Ok(Page {
            documents: vec![item("A100", "Bearing 6204"), item("A200", "Seal 40x52")],
            next: None,
        })
    }
    fn list_items_changed(_: String, _: PageRequest) -> Result<Page, Error> {
        Ok(Page {
            documents: vec![item("A200", "Seal 40x52")],
            next: None,
        })
    }
    fn get_item_price(item: String) -> Result<Price, Error> {
        Ok(Price {
            item,
            amount: "12.50".into(),
            currency: Some("USD".into()),
            unit: None,
            min_quantity: None,
        })
    }
    fn get_customer_price(_: String, _: String, _: String) -> Result<Price, Error> {
        absent()
    }
    fn get_stock(_: String) -> Result<Vec<StockBalance>, Error> {
        Ok(vec![StockBalance {
            warehouse: "100".into(),
            on_hand: "7".into(),
            allocatable: "5".into(),
            allocated: None,
        }])
    }
    fn validate_order(_: Document) -> Result<Vec<FieldError>, Error> {
        Ok(Vec::new())
    }
    fn create_order(_: Document, _: String) -> Result<OrderReceipt, Error> {
        absent()
    }
    fn begin_order(_: Document, _: String) -> Result<String, Error> {
        absent()
    }
    fn add_order_lines(_: String, _: Vec<Line>) -> Result<(), Error> {
        absent()
    }
    fn confirm_order(_: String) -> Result<OrderReceipt, Error> {
        absent()
    }
    fn parse_event(_: String, _: Vec<u8>) -> Result<Vec<Change>, Error> {
        Ok(Vec::new())
    }
}

export!(Contract11Erp);
