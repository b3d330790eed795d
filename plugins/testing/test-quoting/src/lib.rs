//! Test fixture for the `quoting-connector` world: reads and writes a QuoteWerks-shaped
//! database through the host's `sql` import and parses webhooks (whose secret the host has
//! checked). A webhook body's `"behave"` makes it hostile on purpose: `"spin"` loops forever,
//! `"hog"` allocates until the memory cap stops it, `"panic"` panics, `"headers"` refuses
//! the body, listing the headers it was given, and `"calls"` answers the event `calls-N`,
//! N being how many webhooks this instance has parsed (the host's warm-instance tests).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/quoting",
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

use exports::ferry::quoting::quoting::{
    Availability, Guest, InboundWebhook, QuoteEvent, QuotePage, QuoteSummary, UpsertReport,
};
use std::sync::atomic::{AtomicU32, Ordering};

use ferry_pdk::sql::{self, SqlValue, Statement};
use ferry_pdk::{
    Document, DocumentBuilder, Error, Field, Line, MatchCriteria, Page, PageRequest, Value,
};

const DB: &str = "qw";

struct TestQuoting;

fn unsupported<T>(what: &str) -> Result<T, Error> {
    Err(Error::fatal(format!(
        "{what} is not supported by the test quoting plugin"
    )))
}

fn to_value(v: SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(i),
        SqlValue::Decimal(d) => Value::Decimal(d),
        SqlValue::Text(t) => Value::Text(t),
        SqlValue::Boolean(b) => Value::Boolean(b),
        SqlValue::Blob(b) => Value::Text(format!("{} bytes", b.len())),
    }
}

fn rows_as_fields(rows: sql::Rows) -> Vec<Vec<Field>> {
    rows.rows
        .into_iter()
        .map(|row| {
            rows.columns
                .iter()
                .zip(row)
                .map(|(name, v)| Field {
                    name: name.clone(),
                    value: to_value(v),
                })
                .collect()
        })
        .collect()
}

/// Loops until the host stops the call at its deadline.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates and touches memory 1 MiB at a time until the host's memory cap stops the call.
fn hog() -> ! {
    let mut held: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        held.push(std::hint::black_box(chunk));
    }
}

/// Webhooks this instance has parsed: outlives a call only on a warm instance.
static PARSED: AtomicU32 = AtomicU32::new(0);

impl Guest for TestQuoting {
    fn parse_webhook(webhook: InboundWebhook) -> Result<QuoteEvent, Error> {
        // The host has checked the shared secret and removed its header.
        let body: serde_json::Value = serde_json::from_slice(&webhook.body)
            .map_err(|e| Error::invalid("body", format!("not JSON: {e}")))?;
        // Hostile behaviours for the host's isolation tests.
        match body["behave"].as_str() {
            Some("spin") => spin(),
            Some("hog") => hog(),
            Some("panic") => panic!("test-quoting was told to panic (src/lib.rs)"),
            Some("calls") => {
                let n = PARSED.fetch_add(1, Ordering::Relaxed) + 1;
                return Ok(QuoteEvent {
                    event_id: format!("calls-{n}"),
                    quote_id: "calls".to_string(),
                    event: "DocumentStatusChanged".to_string(),
                    status: None,
                    occurred_at: None,
                });
            }
            // Shows the caller which headers reached the plugin (names and values).
            Some("headers") => {
                let seen: Vec<String> = webhook
                    .headers
                    .iter()
                    .map(|(k, v)| format!("{}={v}", k.to_ascii_lowercase()))
                    .collect();
                return Err(Error::invalid("headers", seen.join(" ")));
            }
            _ => {}
        }
        let quote_id = body["DocID"]
            .as_str()
            .ok_or_else(|| Error::invalid("DocID", "is required"))?;
        Ok(QuoteEvent {
            event_id: body["EventID"].as_str().unwrap_or(quote_id).to_string(),
            quote_id: quote_id.to_string(),
            event: "DocumentStatusChanged".to_string(),
            status: body["DocStatus"].as_str().map(String::from),
            occurred_at: None,
        })
    }

    fn list_ready_quotes(page: PageRequest) -> Result<QuotePage, Error> {
        let status = ferry_pdk::setting_or("ready-status", "Approved");
        let rows = sql::query(DB, &Statement {
            sql: "SELECT ID, DocNo, DocStatus FROM DocumentHeaders WHERE DocStatus = ? ORDER BY ID LIMIT ?".into(),
            params: vec![SqlValue::Text(status), SqlValue::Integer(page.limit as i64)],
        })?;
        let quotes = rows
            .rows
            .into_iter()
            .map(|r| {
                let text = |v: &SqlValue| match v {
                    SqlValue::Text(t) => t.clone(),
                    SqlValue::Integer(i) => i.to_string(),
                    _ => String::new(),
                };
                QuoteSummary {
                    id: text(&r[0]),
                    number: text(&r[1]),
                    revision: None,
                    status: text(&r[2]),
                    modified_at: None,
                }
            })
            .collect();
        Ok(QuotePage { quotes, next: None })
    }

    fn get_quote(id: String) -> Result<Document, Error> {
        let dialect = sql::get_dialect(DB)?;
        let head = sql::query(DB, &Statement {
            sql: "SELECT DocNo, SoldToCompany, GrandTotal, DocStatus FROM DocumentHeaders WHERE ID = ?".into(),
            params: vec![SqlValue::Text(id.clone())],
        })?;
        let mut head = rows_as_fields(head);
        let fields = head
            .pop()
            .ok_or_else(|| Error::not_found(format!("quote {id}")))?;
        let items = sql::query(DB, &Statement {
            sql: "SELECT ItemNumber, QtyTotal, UnitPrice FROM DocumentItems WHERE DocID = ? ORDER BY SortOrder".into(),
            params: vec![SqlValue::Text(id.clone())],
        })?;
        let mut doc = Document {
            kind: "quote".into(),
            id: Some(id),
            fields,
            lines: rows_as_fields(items)
                .into_iter()
                .map(|fields| Line { fields })
                .collect(),
        };
        doc.fields.push(Field {
            name: "Dialect".into(),
            value: Value::Text(format!("{dialect:?}")),
        });
        Ok(doc)
    }

    fn mark_transferred(
        id: String,
        order_number: String,
        status: Option<String>,
    ) -> Result<(), Error> {
        let status =
            status.unwrap_or_else(|| ferry_pdk::setting_or("transferred-status", "Ordered"));
        let changed = sql::transaction(
            DB,
            &[
                Statement {
                    sql: "UPDATE DocumentHeaders SET DocStatus = ? WHERE ID = ?".into(),
                    params: vec![SqlValue::Text(status), SqlValue::Text(id.clone())],
                },
                Statement {
                    sql: "UPDATE DocumentHeaders SET CustomText01 = ? WHERE ID = ?".into(),
                    params: vec![SqlValue::Text(order_number), SqlValue::Text(id.clone())],
                },
            ],
        )?;
        if changed.first() == Some(&0) {
            return Err(Error::not_found(format!("quote {id}")));
        }
        Ok(())
    }

    fn set_invoice(_id: String, _number: String, _date: String) -> Result<(), Error> {
        unsupported("set-invoice")
    }

    fn set_status(id: String, status: String) -> Result<(), Error> {
        let n = sql::execute(
            DB,
            &Statement {
                sql: "UPDATE DocumentHeaders SET DocStatus = ? WHERE ID = ?".into(),
                params: vec![SqlValue::Text(status), SqlValue::Text(id.clone())],
            },
        )?;
        if n == 0 {
            return Err(Error::not_found(format!("quote {id}")));
        }
        Ok(())
    }

    fn upsert_products(_products: Vec<Document>) -> Result<UpsertReport, Error> {
        unsupported("upsert-products")
    }
    fn set_availability(_items: Vec<Availability>) -> Result<u32, Error> {
        unsupported("set-availability")
    }
    fn get_customer(_id: String) -> Result<Document, Error> {
        // Deliberately broken SQL: the host must return it as a classified error, not trap.
        let rows = sql::query(
            DB,
            &Statement {
                sql: "SELEKT nonsense".into(),
                params: vec![],
            },
        )?;
        Ok(DocumentBuilder::new("customer")
            .integer("rows", rows.rows.len() as i64)
            .build())
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

export!(TestQuoting);
