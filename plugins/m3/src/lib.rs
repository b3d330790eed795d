//! Ferry's Infor M3 connector: the `erp` role over MI REST through the ION API gateway.
//!
//! Every call goes through the host's `http` import on the tenant's connection (setting
//! `connection`, default "m3"); the host adds the OAuth token from the `.ionapi` file. MI v2 is
//! spoken by default and v1 read when the tenant sets `api = "v1"`. Settings are listed in the
//! README ("Connectors").
//!
//! Orders go through batch entry: `OIS100MI/AddBatchHead` → `AddBatchLine` per line →
//! `Confirm`; with `order_entry = "bulk"` the lines travel in one bulk POST (head and confirm
//! stay single calls, because a line needs the head's temporary order number and a confirm
//! must not run when a line failed). Every order logs one line
//! `m3 order <reference>: <orno> in <n> M3 round trips (<mode>)`.
//!
//! One job a file: `mi` (MI REST calls and answers), `fields` (M3's field types, from the one
//! catalog), `records` (records as documents, documents as inputs, paging), `customers`,
//! `items` (items, prices, stock), `orders`, `invoices` (an order's invoices), `bod` (ION
//! events); this file binds the `erp`
//! exports to them.

wit_bindgen::generate!({
    world: "plugin",
    path: "../../wit/erp",
    // Implements the `@unstable(feature = sync)` functions too, ahead of the flows.
    features: ["sync"],
    with: {
        "ferry:types/types@1.0.0": ferry_pdk::types,
        "ferry:host/http@1.1.0": ferry_pdk::http,
        "ferry:host/log@1.1.0": ferry_pdk::log,
        "ferry:host/config@1.1.0": ferry_pdk::config,
        "ferry:host/diagnostics@1.1.0": ferry_pdk::diagnostics,
    },
});

mod batched;
mod bod;
mod customers;
mod fields;
mod invoices;
mod items;
mod mi;
mod orders;
mod records;

use crate::exports::ferry::erp::erp::{
    Guest, Invoice, ItemPrices, ItemStock, OrderReceipt, Price, StockBalance,
};
use ferry_pdk::{Change, Document, Error, FieldError, Line, MatchCriteria, Page, PageRequest};
use records::{client, document, key, number_setting};

struct M3;

impl Guest for M3 {
    fn get_customer(id: String) -> Result<Document, Error> {
        let mi = client()?;
        let r = mi.get_one("CRS610MI", "GetBasicData", &[key("CUNO", &id)?])?;
        Ok(document("customer", "CUNO", &r))
    }

    fn find_customers(criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        let mi = client()?;
        customers::matching(&mi, &criteria)
    }

    fn create_customer(customer: Document) -> Result<String, Error> {
        customers::create_customer(customer)
    }

    fn update_customer(id: String, changes: Document) -> Result<(), Error> {
        customers::update_customer(id, changes)
    }

    fn list_customers_changed(since: String, page: PageRequest) -> Result<Page, Error> {
        customers::list_customers_changed(since, page)
    }

    fn get_item(id: String) -> Result<Document, Error> {
        items::get_item(id)
    }

    fn list_items(page: PageRequest) -> Result<Page, Error> {
        items::list_items(page)
    }

    fn list_items_changed(since: String, page: PageRequest) -> Result<Page, Error> {
        items::list_items_changed(since, page)
    }

    fn get_item_price(item: String) -> Result<Price, Error> {
        items::get_item_price(item)
    }

    fn get_customer_price(
        item: String,
        customer: String,
        quantity: String,
    ) -> Result<Price, Error> {
        items::get_customer_price(item, customer, quantity)
    }

    fn get_stock(item: String) -> Result<Vec<StockBalance>, Error> {
        items::get_stock(item)
    }

    fn get_item_prices(
        items: Vec<String>,
        customer: Option<String>,
    ) -> Result<Vec<ItemPrices>, Error> {
        batched::get_item_prices(items, customer)
    }

    fn get_stocks(items: Vec<String>, warehouses: Vec<String>) -> Result<Vec<ItemStock>, Error> {
        batched::get_stocks(items, warehouses)
    }

    fn list_stocks_changed(
        since: String,
        warehouses: Vec<String>,
    ) -> Result<Option<Vec<ItemStock>>, Error> {
        batched::list_stocks_changed(since, warehouses)
    }

    fn validate_order(order: Document) -> Result<Vec<FieldError>, Error> {
        let mi = client()?;
        orders::validate(&mi, &order)
    }

    fn create_order(order: Document, reference: String) -> Result<OrderReceipt, Error> {
        let mi = client()?;
        orders::create(&mi, &order, &reference)
    }

    fn begin_order(header: Document, reference: String) -> Result<String, Error> {
        let mi = client()?;
        orders::begin(&mi, &header, &reference)
    }

    fn add_order_lines(draft: String, lines: Vec<Line>) -> Result<(), Error> {
        let mi = client()?;
        orders::add_lines(&mi, &draft, &lines, 0).map(|_| ())
    }

    fn confirm_order(draft: String) -> Result<OrderReceipt, Error> {
        let mi = client()?;
        orders::confirm_staged(&mi, &draft)
    }

    fn find_order(
        reference: String,
        customer: Option<String>,
    ) -> Result<Option<OrderReceipt>, Error> {
        let mi = client()?;
        orders::find(&mi, &reference, customer.as_deref())
    }

    fn get_order_status(order_number: String) -> Result<OrderReceipt, Error> {
        let mi = client()?;
        orders::status(&mi, &order_number)
    }

    fn list_order_invoices(order_number: String) -> Result<Vec<Invoice>, Error> {
        let mi = client()?;
        invoices::list(&mi, &order_number)
    }

    fn parse_event(content_type: String, payload: Vec<u8>) -> Result<Vec<Change>, Error> {
        let max = number_setting("max_event_bytes", bod::DEFAULT_MAX_BYTES, 1..=usize::MAX)?;
        bod::parse(&content_type, &payload, max)
    }
}

export!(M3);
