//! {{name}}: a Ferry quoting connector. The host calls it for each webhook the quoting system
//! sends (after checking its shared secret), for quotes, and to write the ERP's order number,
//! status and invoice back. It reaches the quoting system's database only through the SQL
//! connection the tenant grants it (`ferry:host/sql`, the connection named by setting
//! `connection`, default `quotewerks`).
//!
//! What a quote-to-order flow needs first: `parse-webhook`, `list-ready-quotes`, `get-quote`,
//! `mark-transferred`, `set-status`. Each function here that is not written yet answers
//! `unsupported`, which the host reports without retrying. The unit tests below run natively
//! (`cargo test`).

wit_bindgen::generate!({
    world: "plugin",
    path: "wit/quoting",
    // The host binds the `@unstable(feature = sync)` functions too, so the component exports them.
    features: ["sync"],
    with: {
        "ferry:types/types@{{types_version}}": ferry_pdk::types,
        "ferry:host/http@{{host_version}}": ferry_pdk::http,
        "ferry:host/sql@{{host_version}}": ferry_pdk::sql,
        "ferry:host/log@{{host_version}}": ferry_pdk::log,
        "ferry:host/config@{{host_version}}": ferry_pdk::config,
        "ferry:host/diagnostics@{{host_version}}": ferry_pdk::diagnostics,
        "ferry:host/secrets@{{host_version}}": ferry_pdk::secrets,
    },
});

use exports::ferry::quoting::quoting::{
    Availability, Guest, InboundWebhook, QuoteEvent, QuotePage, UpsertReport,
};
use ferry_pdk::sql::{self, SqlValue, Statement};
use ferry_pdk::{Document, Error, MatchCriteria, Page, PageRequest};

struct Plugin;

fn unsupported<T>(what: &str) -> Result<T, Error> {
    Err(Error::Unsupported(format!(
        "{what} is not written yet in {{name}}"
    )))
}

/// The SQL connection to the quoting system's database (the tenant grants it).
fn connection() -> String {
    ferry_pdk::setting_or("connection", "quotewerks")
}

/// A webhook body: `{"DocID": "17", "DocStatus": "Approved", "EventID": "..."}`.
fn event(body: &[u8]) -> Result<QuoteEvent, Error> {
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid("body", format!("not JSON: {e}")))?;
    let text = |key: &str| match &json[key] {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let quote_id = text("DocID").ok_or_else(|| Error::invalid("DocID", "is required"))?;
    Ok(QuoteEvent {
        // The host deduplicates on it: the same delivery twice is one event.
        event_id: text("EventID").unwrap_or_else(|| quote_id.clone()),
        quote_id,
        event: "DocumentStatusChanged".to_string(),
        status: text("DocStatus"),
        occurred_at: None,
    })
}

impl Guest for Plugin {
    fn parse_webhook(webhook: InboundWebhook) -> Result<QuoteEvent, Error> {
        event(&webhook.body)
    }
    fn list_ready_quotes(_page: PageRequest) -> Result<QuotePage, Error> {
        unsupported("list-ready-quotes")
    }
    fn get_quote(_id: String) -> Result<Document, Error> {
        unsupported("get-quote")
    }
    fn mark_transferred(
        _id: String,
        _order_number: String,
        _status: Option<String>,
    ) -> Result<(), Error> {
        unsupported("mark-transferred")
    }
    fn set_status(id: String, status: String) -> Result<(), Error> {
        let changed = sql::execute(
            &connection(),
            &Statement {
                sql: "UPDATE DocumentHeaders SET DocStatus = ? WHERE ID = ?".into(),
                params: vec![SqlValue::Text(status), SqlValue::Text(id.clone())],
            },
        )?;
        if changed == 0 {
            return Err(Error::not_found(format!("quote {id}")));
        }
        Ok(())
    }
    fn set_invoice(
        _id: String,
        _invoice_number: String,
        _invoice_date: String,
    ) -> Result<(), Error> {
        unsupported("set-invoice")
    }
    fn upsert_products(_products: Vec<Document>) -> Result<UpsertReport, Error> {
        unsupported("upsert-products")
    }
    fn set_availability(_items: Vec<Availability>) -> Result<u32, Error> {
        unsupported("set-availability")
    }
    fn get_customer(_id: String) -> Result<Document, Error> {
        unsupported("get-customer")
    }
    fn find_customers(_criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        unsupported("find-customers")
    }
    fn upsert_customer(_customer: Document) -> Result<String, Error> {
        unsupported("upsert-customer")
    }
    fn list_customers_changed(_since: String, _page: PageRequest) -> Result<Page, Error> {
        unsupported("list-customers-changed")
    }
}

export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_names_the_quote_and_its_status() {
        let e = event(br#"{"DocID": 17, "DocStatus": "Approved", "EventID": "ev-1"}"#).unwrap();
        assert_eq!(e.quote_id, "17");
        assert_eq!(e.status.as_deref(), Some("Approved"));
        assert_eq!(e.event_id, "ev-1");
    }

    #[test]
    fn a_webhook_without_a_quote_is_invalid() {
        assert!(matches!(
            event(br#"{"DocStatus": "Approved"}"#),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(event(b"not json"), Err(Error::Invalid(_))));
    }
}
