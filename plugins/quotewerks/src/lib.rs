//! Ferry's QuoteWerks connector: the `quoting` role over QuoteWerks' own SQL database
//! (`DocumentHeaders`, `DocumentItems` on `DocID = ID`, `<ProductDb>_Products`, `LookupItems`)
//! through the host's `sql` import, and its webhooks (whose shared secret the host has already
//! checked).
//!
//! SQL: every parameter is written `?` and bound by the host (the SQL Server backend rewrites
//! them to `@P1…`); what else differs is written per `get-dialect`: `TOP n` vs `LIMIT n` and
//! `[ident]` vs `"ident"`. Identifiers that come from settings are checked to be plain names
//! before they are put into SQL. Settings are listed in the README ("Connectors").
//!
//! One job a file: `settings`, `db` (the `sql` import and value conversions), `quotes`, `lines`
//! (a quote's lines as QuoteWerks prices them), `products`, `customers`, `webhook`; this file
//! only binds the `quoting` exports to them.

wit_bindgen::generate!({
    world: "plugin",
    path: "../../wit/quoting",
    // Implements the `@unstable(feature = sync)` functions too, ahead of the flows.
    features: ["sync"],
    with: {
        "ferry:types/types@1.0.0": ferry_pdk::types,
        "ferry:host/http@1.1.0": ferry_pdk::http,
        "ferry:host/sql@1.1.0": ferry_pdk::sql,
        "ferry:host/log@1.1.0": ferry_pdk::log,
        "ferry:host/config@1.1.0": ferry_pdk::config,
        "ferry:host/diagnostics@1.1.0": ferry_pdk::diagnostics,
        "ferry:host/secrets@1.1.0": ferry_pdk::secrets,
    },
});

mod customers;
mod db;
mod invoices;
mod lines;
mod products;
mod quotes;
mod settings;
mod texts;
mod webhook;

use exports::ferry::quoting::quoting::{
    Availability, Guest, InboundWebhook, QuoteEvent, QuotePage, UpsertReport,
};
use ferry_pdk::{Document, Error, MatchCriteria, Page, PageRequest};

struct QuoteWerks;

impl Guest for QuoteWerks {
    fn parse_webhook(webhook: InboundWebhook) -> Result<QuoteEvent, Error> {
        // The host checked the shared secret before this call and removed its header.
        let e = webhook::parse(&webhook.body)?;
        Ok(QuoteEvent {
            event_id: e.event_id,
            quote_id: e.quote_id,
            event: e.event,
            status: e.status,
            occurred_at: e.occurred_at,
        })
    }

    fn list_ready_quotes(page: PageRequest) -> Result<QuotePage, Error> {
        quotes::list_ready_quotes(page)
    }

    fn get_quote(id: String) -> Result<Document, Error> {
        quotes::get_quote(id)
    }

    fn mark_transferred(
        id: String,
        order_number: String,
        status: Option<String>,
    ) -> Result<(), Error> {
        quotes::mark_transferred(id, order_number, status)
    }

    fn set_status(id: String, status: String) -> Result<(), Error> {
        quotes::set_status(id, status)
    }

    fn set_invoice(id: String, invoice_number: String, invoice_date: String) -> Result<(), Error> {
        invoices::set_invoice(id, invoice_number, invoice_date)
    }

    fn upsert_products(products: Vec<Document>) -> Result<UpsertReport, Error> {
        products::upsert_products(products)
    }

    fn set_availability(items: Vec<Availability>) -> Result<u32, Error> {
        products::set_availability(items)
    }

    fn get_customer(id: String) -> Result<Document, Error> {
        customers::get_customer(id)
    }

    fn find_customers(criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        customers::find_customers(criteria)
    }

    fn upsert_customer(customer: Document) -> Result<String, Error> {
        customers::upsert_customer(customer)
    }

    fn list_customers_changed(since: String, page: PageRequest) -> Result<Page, Error> {
        customers::list_customers_changed(since, page)
    }
}

export!(QuoteWerks);
