//! Each world of the contract, with real components: load, call, and typed results and errors
//! round-trip through the host.

mod common;

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use common::*;
use ferry::runtime::bindings::quoting::InboundWebhook;
use ferry::runtime::bindings::transform::{Context, Severity};
use ferry::runtime::bindings::types::{ChangeAction, Document, Entity, Error, Field, Line, Value};
use ferry::runtime::connections::sql::{SqlConnection, SqliteSettings};
use ferry::runtime::grants::Secret;
use ferry::runtime::{Role, RuntimeSettings};
use serde_json::json;

fn text(name: &str, v: &str) -> Field {
    Field {
        name: name.into(),
        value: Value::Text(v.into()),
    }
}

fn decimal(name: &str, v: &str) -> Field {
    Field {
        name: name.into(),
        value: Value::Decimal(v.into()),
    }
}

fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

fn ctx(tenant: &str) -> Context {
    Context {
        tenant: tenant.into(),
        settings: vec![("warehouse".into(), "200".into())],
        ids: vec![("customer".into(), "C100".into())],
    }
}

#[tokio::test]
async fn transform_documents_and_issues_round_trip() {
    let rt = runtime();
    let plugin = load(&rt, "test_transform", Role::Transform);
    let mut g = grants("acme");
    g.settings.insert("greeting".into(), "hej".into());
    let g = Arc::new(g);

    let doc = Document {
        kind: "quote".into(),
        id: Some("Q-1".into()),
        fields: vec![
            text("DocNo", "Q-1"),
            decimal("Total", "1234567890.123456789"),
            Field {
                name: "Lines".into(),
                value: Value::Integer(-7),
            },
            Field {
                name: "Taxable".into(),
                value: Value::Boolean(true),
            },
            Field {
                name: "DocDate".into(),
                value: Value::Date("2026-11-27".into()),
            },
            Field {
                name: "Empty".into(),
                value: Value::Null,
            },
        ],
        lines: vec![Line {
            fields: vec![text("Sku", "Ä-1 ✓")],
        }],
    };
    let mapped = rt
        .transform(&plugin, g.clone())
        .await
        .expect("instantiate")
        .map_document("echo", &doc, &ctx("acme"))
        .await
        .expect("call")
        .expect("mapped");
    let out = mapped.document;
    // Every value kind survives the trip, decimals digit for digit.
    assert_eq!(out.fields[..6], doc.fields[..]);
    assert_eq!(out.lines, doc.lines);
    assert_eq!(out.id.as_deref(), Some("Q-1"));
    assert_eq!(
        field(&out.fields, "MappedBy"),
        Some(&Value::Text("test-transform v1".into()))
    );
    assert_eq!(
        field(&out.fields, "Tenant"),
        Some(&Value::Text("acme".into()))
    );
    assert_eq!(
        field(&out.fields, "id:customer"),
        Some(&Value::Text("C100".into()))
    );
    // The plugin's config import sees the tenant's settings for it.
    assert_eq!(
        field(&out.fields, "Greeting"),
        Some(&Value::Text("hej".into()))
    );

    // Decimal arithmetic in the guest, exact.
    let lines = ["0.1", "0.2", "1234.005"]
        .iter()
        .map(|a| Line {
            fields: vec![decimal("Amount", a)],
        })
        .collect();
    let sum = Document {
        kind: "x".into(),
        id: None,
        fields: vec![],
        lines,
    };
    let out = rt
        .transform(&plugin, g.clone())
        .await
        .expect("instantiate")
        .map_document("sum", &sum, &ctx("acme"))
        .await
        .expect("call")
        .expect("mapped");
    assert_eq!(
        field(&out.document.fields, "Total"),
        Some(&Value::Decimal("1234.305".into()))
    );

    // Issues come back typed: rule, field, line, severity.
    let issues = rt
        .transform(&plugin, g.clone())
        .await
        .expect("instantiate")
        .map_document("fail", &doc, &ctx("acme"))
        .await
        .expect("call")
        .expect_err("issues");
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].rule.as_deref(), Some("test-rule"));
    assert_eq!(issues[0].field, "ORQT");
    assert_eq!(issues[0].line, Some(3));
    assert_eq!(issues[0].severity, Severity::Error);

    // A bad decimal in a line is reported against that line.
    let bad = Document {
        kind: "x".into(),
        id: None,
        fields: vec![],
        lines: vec![
            Line {
                fields: vec![decimal("Amount", "1")],
            },
            Line {
                fields: vec![text("Amount", "abc")],
            },
        ],
    };
    let issues = rt
        .transform(&plugin, g.clone())
        .await
        .expect("instantiate")
        .map_document("sum", &bad, &ctx("acme"))
        .await
        .expect("call")
        .expect_err("issues");
    assert_eq!(issues[0].line, Some(1));
    assert!(
        issues[0].message.contains("'abc' is not a decimal"),
        "{}",
        issues[0].message
    );

    // describe() lists what the transform reads and writes.
    let mut call = rt.transform(&plugin, g).await.expect("instantiate");
    let (t, store) = call.parts();
    let r = t.ferry_transform_transform().call_describe(store).await;
    let usage = call.finish(r).expect("describe");
    assert_eq!(usage[0].kind, "quote-to-order");
    assert!(usage[0].writes.contains(&"CUNO".to_string()));
}

/// A stand-in for a remote JSON API, answering by item id.
fn erp_server(seen: Seen) -> axum::Router {
    async fn item(
        State(seen): State<Seen>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> axum::response::Response {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        seen.record("GET", &format!("items/{id}"), auth);
        match id.as_str() {
            "A100" => Json(
                json!({"ITNO": "A100", "ITDS": "Hex bolt M8", "price": 12.50, "currency": "EUR"}),
            )
            .into_response(),
            "busy" => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "7")],
                "slow down",
            )
                .into_response(),
            "boom" => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
            "long" => (
                StatusCode::BAD_REQUEST,
                Json(json!({"field": "ITNO", "message": "longer than 15"})),
            )
                .into_response(),
            "locked" => (StatusCode::UNAUTHORIZED, "no").into_response(),
            _ => (StatusCode::NOT_FOUND, "no such item").into_response(),
        }
    }
    async fn order(
        State(seen): State<Seen>,
        Json(body): Json<serde_json::Value>,
    ) -> Json<serde_json::Value> {
        seen.record("POST", "orders", None);
        let lines = body["lines"].as_array().map(|l| l.len()).unwrap_or(0);
        Json(
            json!({"order": format!("ORD-{}-{lines}", body["reference"].as_str().unwrap_or("")), "status": "22"}),
        )
    }
    axum::Router::new()
        .route("/m3/items/{id}", get(item))
        .route("/m3/orders", post(order))
        .with_state(seen)
}

#[tokio::test]
async fn erp_connector_results_and_classified_errors_round_trip() {
    let seen = Seen::default();
    let addr = serve(erp_server(seen.clone())).await;
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    let mut g = grants("acme");
    g.http.insert(
        "erp".into(),
        http_connection("acme", "erp", &format!("http://{addr}/m3/")),
    );
    let g = Arc::new(g);

    macro_rules! get_item {
        ($id:expr) => {{
            let mut call = rt.erp(&plugin, g.clone()).await.expect("instantiate");
            let (erp, store) = call.parts();
            let r = erp.ferry_erp_erp().call_get_item(store, $id).await;
            call.finish(r).expect("call")
        }};
    }

    let item = get_item!("A100").expect("item");
    assert_eq!(item.kind, "item");
    assert_eq!(
        field(&item.fields, "ITDS"),
        Some(&Value::Text("Hex bolt M8".into()))
    );
    // JSON numbers become decimals, never floats.
    assert_eq!(
        field(&item.fields, "price"),
        Some(&Value::Decimal("12.5".into()))
    );

    assert!(matches!(get_item!("nope"), Err(Error::NotFound(_))));
    match get_item!("busy") {
        Err(Error::RateLimited(r)) => assert_eq!(r.retry_after_ms, Some(7_000)),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    assert!(matches!(get_item!("boom"), Err(Error::Transient(_))));
    assert!(matches!(get_item!("locked"), Err(Error::Unauthorized(_))));
    match get_item!("long") {
        Err(Error::Invalid(errs)) => {
            assert_eq!(errs[0].field, "ITNO");
            assert_eq!(errs[0].message, "longer than 15");
        }
        other => panic!("expected invalid, got {other:?}"),
    }

    // A document with lines goes out; the receipt comes back.
    let order = Document {
        kind: "order".into(),
        id: None,
        fields: vec![text("CUNO", "C100")],
        lines: (0..3)
            .map(|i| Line {
                fields: vec![text("ITNO", "A100"), decimal("ORQT", &format!("{}", i + 1))],
            })
            .collect(),
    };
    let mut call = rt.erp(&plugin, g.clone()).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp
        .ferry_erp_erp()
        .call_create_order(store, &order, "Q-77")
        .await;
    let receipt = call.finish(r).expect("call").expect("receipt");
    assert_eq!(receipt.order_number, "ORD-Q-77-3");
    assert_eq!(receipt.reference, "Q-77");
    assert_eq!(receipt.line_numbers, vec!["1", "2", "3"]);

    // Validation errors name the line.
    let mut bad = order.clone();
    bad.lines[1].fields[1] = decimal("ORQT", "0");
    let mut call = rt.erp(&plugin, g.clone()).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp.ferry_erp_erp().call_validate_order(store, &bad).await;
    let problems = call.finish(r).expect("call").expect("validated");
    assert_eq!(problems.len(), 1);
    assert_eq!(
        (problems[0].field.as_str(), problems[0].line),
        ("ORQT", Some(1))
    );

    // Events parse into change notifications; a wrong payload is `invalid`.
    let mut call = rt.erp(&plugin, g.clone()).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp
        .ferry_erp_erp()
        .call_parse_event(store, "text/plain", b"A100\nB200\n")
        .await;
    let changes = call.finish(r).expect("call").expect("changes");
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (
            &changes[1].entity,
            &changes[1].action,
            changes[1].key.as_str()
        ),
        (&Entity::Item, &ChangeAction::Updated, "B200")
    );
    let mut call = rt.erp(&plugin, g).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp
        .ferry_erp_erp()
        .call_parse_event(store, "application/xml", b"<x/>")
        .await;
    assert!(matches!(
        call.finish(r).expect("call"),
        Err(Error::Invalid(_))
    ));

    assert_eq!(
        seen.count(),
        7,
        "one request per call, no hidden retries: {:?}",
        seen.all()
    );
}

fn quote_db(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("qw.db");
    let db = rusqlite::Connection::open(&path).expect("db");
    db.execute_batch(
        "CREATE TABLE DocumentHeaders (ID TEXT PRIMARY KEY, DocNo TEXT, SoldToCompany TEXT,
             GrandTotal REAL, DocStatus TEXT, CustomText01 TEXT);
         CREATE TABLE DocumentItems (ID INTEGER PRIMARY KEY, DocID TEXT, SortOrder INTEGER,
             ItemNumber TEXT, QtyTotal REAL, UnitPrice REAL);
         INSERT INTO DocumentHeaders VALUES ('7', 'Q1007', 'Acme Corp', 1234.1, 'Approved', NULL);
         INSERT INTO DocumentHeaders VALUES ('8', 'Q1008', 'Globex', 99.99, 'Draft', NULL);
         INSERT INTO DocumentItems VALUES (1, '7', 2, 'B200', 3, 0.1);
         INSERT INTO DocumentItems VALUES (2, '7', 1, 'A100', 1.5, 12.35);",
    )
    .expect("schema");
    path
}

#[tokio::test]
async fn quoting_connector_sql_and_webhooks_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let db_path = quote_db(dir.path());
    let rt = runtime();
    let plugin = load(&rt, "test_quoting", Role::Quoting);
    let mut g = grants("acme");
    let sqlite = SqliteSettings {
        path: db_path.clone(),
        max_rows: 100,
        busy_timeout_ms: 1000,
    };
    g.sql.insert(
        "qw".into(),
        Arc::new(SqlConnection::sqlite("qw", &sqlite).expect("sql")),
    );
    g.secrets
        .insert("webhook".into(), Secret::new("s3cret-value"));
    let g = Arc::new(g);

    macro_rules! quoting {
        (|$q:ident, $store:ident| $body:expr) => {{
            let mut call = rt.quoting(&plugin, g.clone()).await.expect("instantiate");
            let ($q, $store) = call.parts();
            let r = $body.await;
            call.finish(r).expect("call")
        }};
    }

    let quote = quoting!(|q, s| q.ferry_quoting_quoting().call_get_quote(s, "7")).expect("quote");
    assert_eq!(
        field(&quote.fields, "DocNo"),
        Some(&Value::Text("Q1007".into()))
    );
    // REAL money columns arrive as exact decimals.
    assert_eq!(
        field(&quote.fields, "GrandTotal"),
        Some(&Value::Decimal("1234.1".into()))
    );
    assert_eq!(
        field(&quote.fields, "Dialect"),
        Some(&Value::Text("Dialect::Sqlite".into()))
    );
    assert_eq!(quote.lines.len(), 2);
    assert_eq!(
        field(&quote.lines[0].fields, "ItemNumber"),
        Some(&Value::Text("A100".into()))
    );
    assert_eq!(
        field(&quote.lines[1].fields, "UnitPrice"),
        Some(&Value::Decimal("0.1".into()))
    );

    assert!(matches!(
        quoting!(|q, s| q.ferry_quoting_quoting().call_get_quote(s, "404")),
        Err(Error::NotFound(_))
    ));

    let ready = quoting!(|q, s| q.ferry_quoting_quoting().call_list_ready_quotes(
        s,
        &ferry::runtime::bindings::types::PageRequest {
            cursor: None,
            limit: 10
        }
    ))
    .expect("ready");
    assert_eq!(
        ready
            .quotes
            .iter()
            .map(|q| q.number.as_str())
            .collect::<Vec<_>>(),
        vec!["Q1007"]
    );

    quoting!(|q, s| q.ferry_quoting_quoting().call_mark_transferred(
        s,
        "7",
        "1000123",
        Some("Ordered")
    ))
    .expect("marked");
    let db = rusqlite::Connection::open(&db_path).expect("db");
    let (status, order): (String, String) = db
        .query_row(
            "SELECT DocStatus, CustomText01 FROM DocumentHeaders WHERE ID = '7'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!((status.as_str(), order.as_str()), ("Ordered", "1000123"));

    // A broken statement is a classified error, not a trap.
    match quoting!(|q, s| q.ferry_quoting_quoting().call_get_customer(s, "1")) {
        Err(Error::Fatal(m)) => assert!(m.contains("syntax error"), "{m}"),
        other => panic!("expected fatal, got {other:?}"),
    }

    // Webhooks: the host checks the secret before any plugin code runs (api/intake.rs) and
    // removes its header; the plugin only parses.
    let hook = |body: &str| InboundWebhook {
        headers: vec![("Content-Type".to_string(), "application/json".to_string())],
        body: body.as_bytes().to_vec(),
    };
    let event = quoting!(|q, s| q.ferry_quoting_quoting().call_parse_webhook(
        s,
        &hook(r#"{"DocID": "7", "DocStatus": "Approved", "EventID": "e-1"}"#)
    ))
    .expect("event");
    assert_eq!(
        (event.quote_id.as_str(), event.event_id.as_str()),
        ("7", "e-1")
    );
    assert_eq!(event.status.as_deref(), Some("Approved"));
    assert!(matches!(
        quoting!(|q, s| q
            .ferry_quoting_quoting()
            .call_parse_webhook(s, &hook("{not json"))),
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn on_demand_allocation_works_when_pooling_is_off() {
    let rt = ferry::runtime::Runtime::new(RuntimeSettings {
        pooling: ferry::runtime::PoolingMode::Off,
        ..settings()
    })
    .expect("runtime");
    assert!(!rt.uses_pooling());
    let plugin = load(&rt, "test_transform", Role::Transform);
    let doc = Document {
        kind: "q".into(),
        id: None,
        fields: vec![],
        lines: vec![],
    };
    let out = rt
        .transform(&plugin, Arc::new(grants("t")))
        .await
        .expect("instantiate")
        .map_document("echo", &doc, &ctx("t"))
        .await
        .expect("call")
        .expect("mapped");
    assert_eq!(out.document.kind, "q");
    // And the default engine on this machine does use the pool.
    assert!(runtime().uses_pooling());
}
