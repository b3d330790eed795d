//! A quoting plugin built against the frozen 1.1.0 contract (`wit/frozen/quoting@1.1.0`), as
//! one released before `ferry:quoting` 1.2 added `set-invoice`. It does not use ferry-pdk
//! (which follows the live contract), so its export carries 1.1.0. The host, serving 1.2, must
//! load it, answer its functions through the 1.1 bindings, and answer the one it lacks
//! `unsupported` without running it (crates/ferry/tests/contract_versions.rs).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/frozen/quoting@1.1.0",
    features: ["sync"],
    generate_all,
});

use exports::ferry::quoting::quoting::{
    Availability, Guest, InboundWebhook, QuoteEvent, QuotePage, QuoteSummary, UpsertReport,
};
use ferry::types::types::{Document, Error, Field, MatchCriteria, Page, PageRequest, Value};

struct Contract11Quoting;

fn absent<T>() -> Result<T, Error> {
    Err(Error::Unsupported("not in the 1.1 fixture".into()))
}

impl Guest for Contract11Quoting {
    /// Proof the 1.1 bindings reach the guest: the quote says which contract built it.
    fn get_quote(id: String) -> Result<Document, Error> {
        Ok(Document {
            kind: "quote".into(),
            id: Some(id),
            fields: vec![Field {
                name: "BuiltAgainst".into(),
                value: Value::Text("ferry:quoting@1.1.0".into()),
            }],
            lines: Vec::new(),
        })
    }

    fn parse_webhook(webhook: InboundWebhook) -> Result<QuoteEvent, Error> {
        Ok(QuoteEvent {
            event_id: "e1".into(),
            quote_id: String::from_utf8_lossy(&webhook.body).into_owned(),
            event: "DocumentStatusChanged".into(),
            status: None,
            occurred_at: None,
        })
    }

    fn list_ready_quotes(_: PageRequest) -> Result<QuotePage, Error> {
        Ok(QuotePage {
            quotes: vec![QuoteSummary {
                id: "17".into(),
                number: "AAAQ1017".into(),
                revision: None,
                status: "Approved".into(),
                modified_at: None,
            }],
            next: None,
        })
    }

    fn mark_transferred(_: String, _: String, _: Option<String>) -> Result<(), Error> {
        Ok(())
    }
    fn set_status(_: String, _: String) -> Result<(), Error> {
        Ok(())
    }
    /// Counts what it was given, as inserted: proof the 1.1 bindings carried the products.
    fn upsert_products(products: Vec<Document>) -> Result<UpsertReport, Error> {
        Ok(UpsertReport {
            inserted: u32::try_from(products.len()).unwrap_or(u32::MAX),
            updated: 0,
            unchanged: 0,
        })
    }
    fn set_availability(items: Vec<Availability>) -> Result<u32, Error> {
        Ok(u32::try_from(items.len()).unwrap_or(u32::MAX))
    }
    fn get_customer(_: String) -> Result<Document, Error> {
        absent()
    }
    fn find_customers(_: MatchCriteria) -> Result<Vec<Document>, Error> {
        absent()
    }
    fn upsert_customer(_: Document) -> Result<String, Error> {
        absent()
    }
    fn list_customers_changed(_: String, _: PageRequest) -> Result<Page, Error> {
        absent()
    }
}

export!(Contract11Quoting);
