//! An ERP plugin built against the frozen 1.3.0 contract (`wit/frozen/erp@1.3.0`), as one
//! released before `ferry:erp` 1.4 added `list-stocks-changed`. It does not use ferry-pdk
//! (which follows the live contract), so its export carries 1.3.0. The host, serving 1.4, must
//! load it, answer its batched `get-item-prices` / `get-stocks` and `list-order-invoices`
//! through the 1.3 bindings, and answer `list-stocks-changed` "cannot tell" without running it
//! (crates/ferry/tests/contract_versions.rs).
//!
//! The per-item `get-item-price` and `get-stock` answer differently from the batched calls
//! (another price, another warehouse), so a host that asked item by item shows it.

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/frozen/erp@1.3.0",
    features: ["sync"],
    generate_all,
});

use exports::ferry::erp::erp::{
    Guest, Invoice, ItemPrices, ItemStock, OrderReceipt, Price, StockBalance,
};
use ferry::types::types::{
    Change, Document, Error, Field, FieldError, Line, MatchCriteria, Page, PageRequest, Value,
};

struct Contract13Erp;

/// An item the batched calls know: its list price, the reference customer's price, and its
/// balances as (warehouse, on hand, allocatable).
struct Row {
    item: &'static str,
    list: &'static str,
    customer: &'static str,
    balances: &'static [(&'static str, &'static str, &'static str)],
}

const ITEMS: &[Row] = &[
    Row {
        item: "A100",
        list: "10.00",
        customer: "9.00",
        balances: &[("100", "7", "5"), ("200", "3", "3")],
    },
    Row {
        item: "A200",
        list: "20.00",
        customer: "18.00",
        balances: &[("100", "40", "38")],
    },
];

fn known(item: &str) -> Option<&'static Row> {
    ITEMS.iter().find(|r| r.item == item)
}

fn price(item: &str, amount: &str) -> Price {
    Price {
        item: item.into(),
        amount: amount.into(),
        currency: Some("SEK".into()),
        unit: Some("EA".into()),
        min_quantity: None,
    }
}

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
    Err(Error::Unsupported("not in the 1.3 fixture".into()))
}

impl Guest for Contract13Erp {
    fn list_items(_: PageRequest) -> Result<Page, Error> {
        Ok(Page {
            documents: vec![item("A100", "Bearing 6204"), item("A200", "Seal 40x52")],
            next: None,
        })
    }

    /// Not the batched answer: a host that priced a batch item by item would get 0.01.
    fn get_item_price(item: String) -> Result<Price, Error> {
        Ok(Price {
            currency: None,
            unit: None,
            ..price(&item, "0.01")
        })
    }

    /// One entry per item, in order, from `ITEMS`; an unknown item has no list price.
    fn get_item_prices(
        items: Vec<String>,
        customer: Option<String>,
    ) -> Result<Vec<ItemPrices>, Error> {
        Ok(items
            .into_iter()
            .map(|key| {
                let row = known(&key);
                ItemPrices {
                    list_price: row.map(|r| price(&key, r.list)),
                    customer_price: row
                        .filter(|_| customer.is_some())
                        .map(|r| price(&key, r.customer)),
                    item: key,
                }
            })
            .collect())
    }

    /// Not the batched answer: a host that read a batch's stock item by item would get
    /// warehouse 999.
    fn get_stock(_: String) -> Result<Vec<StockBalance>, Error> {
        Ok(vec![StockBalance {
            warehouse: "999".into(),
            on_hand: "1".into(),
            allocatable: "1".into(),
            allocated: None,
        }])
    }

    /// One entry per item, in order, from `ITEMS`, kept to `warehouses` when given; an
    /// unknown item has no balances.
    fn get_stocks(items: Vec<String>, warehouses: Vec<String>) -> Result<Vec<ItemStock>, Error> {
        Ok(items
            .into_iter()
            .map(|key| {
                let balances = known(&key)
                    .map(|r| r.balances)
                    .unwrap_or_default()
                    .iter()
                    .filter(|(w, ..)| warehouses.is_empty() || warehouses.iter().any(|x| x == w))
                    .map(|(warehouse, on_hand, allocatable)| StockBalance {
                        warehouse: (*warehouse).into(),
                        on_hand: (*on_hand).into(),
                        allocatable: (*allocatable).into(),
                        allocated: None,
                    })
                    .collect();
                ItemStock {
                    item: key,
                    balances,
                }
            })
            .collect())
    }

    fn list_order_invoices(order_number: String) -> Result<Vec<Invoice>, Error> {
        Ok(vec![Invoice {
            number: format!("INV13-{order_number}"),
            date: "2026-12-04".into(),
            amount: Some("250.00".into()),
            currency: Some("SEK".into()),
        }])
    }

    fn get_customer(_: String) -> Result<Document, Error> {
        absent()
    }
    fn find_customers(_: MatchCriteria) -> Result<Vec<Document>, Error> {
        absent()
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
    fn list_items_changed(_: String, _: PageRequest) -> Result<Page, Error> {
        absent()
    }
    fn get_customer_price(_: String, _: String, _: String) -> Result<Price, Error> {
        absent()
    }
    fn validate_order(_: Document) -> Result<Vec<FieldError>, Error> {
        absent()
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
    fn find_order(_: String, _: Option<String>) -> Result<Option<OrderReceipt>, Error> {
        absent()
    }
    fn get_order_status(_: String) -> Result<OrderReceipt, Error> {
        absent()
    }
    fn parse_event(_: String, _: Vec<u8>) -> Result<Vec<Change>, Error> {
        absent()
    }
}

export!(Contract13Erp);
