//! The QuoteWerks connector plugin (plugins/quotewerks) against the QuoteWerks simulator: its
//! tables in SQLite through the host's `sql` import, its webhooks delivered over loopback and
//! verified through `secrets`, QuoteWerks' line semantics, products, availability, customers,
//! and classified errors for bad data.

// `common` (shared, not this file's) trips clippy::type_complexity on the current toolchain.

mod common;

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::routing::post;
use common::*;
use ferry::config::FerryConfig;
use ferry::runtime::bindings::quoting::{Availability, InboundWebhook};
use ferry::runtime::bindings::types::{Document, Error, Field, MatchCriteria, PageRequest, Value};
use ferry::runtime::{Grants, Plugin, Role, Runtime};
use ferry_sim::quotewerks::{NewLine, NewQuote};
use ferry_sim::seed;
use ferry_sim::{QuoteWerksSim, QuoteWerksSimConfig, QuoteWerksSimHandle};
use rust_decimal::Decimal;

const READY: &str = "3-Manager Approved";
const DONE: &str = "5-Order Created in M3";
const SECRET: &str = "webhook-s3cret-value";

struct Env {
    dir: tempfile::TempDir,
    sim: QuoteWerksSimHandle,
    rt: Arc<Runtime>,
    plugin: Plugin,
    grants: Arc<Grants>,
}

async fn env_with(settings: &[(&str, &str)], webhook: Option<String>) -> Env {
    let dir = tempfile::tempdir().expect("tmp");
    let sim = QuoteWerksSim::start(QuoteWerksSimConfig {
        db: Some(dir.path().join("qw.sqlite")),
        webhook,
        secret: Some(SECRET.into()),
        bad_quotes: true,
        quotes: 14,
        ..QuoteWerksSimConfig::default()
    })
    .await
    .expect("qw sim");
    std::fs::write(dir.path().join("webhook.secret"), SECRET).expect("secret");
    let mut toml = format!(
        "[tenants.acme.connections.quotewerks]\nkind = \"sqlite\"\npath = \"{}\"\n\n\
         [tenants.acme.plugins.quoting]\nconnections = [\"quotewerks\"]\n\n\
         [tenants.acme.plugins.quoting.settings]\n",
        sim.db_path.display()
    );
    let defaults = [
        ("ready_status", READY),
        ("transferred_status", DONE),
        ("order_number_field", "CustomText10"),
        ("customer_number_field", "CustomText01"),
    ];
    for (k, v) in defaults
        .iter()
        .filter(|(k, _)| !settings.iter().any(|(s, _)| s == k))
    {
        toml.push_str(&format!("{k} = \"{v}\"\n"));
    }
    for (k, v) in settings {
        toml.push_str(&format!("{k} = \"{v}\"\n"));
    }
    std::fs::write(dir.path().join("ferry.toml"), toml).expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let grants = config.plugin_grants("acme", Role::Quoting).expect("grants");
    let rt = runtime();
    let plugin = load(&rt, "quotewerks_connector", Role::Quoting);
    Env {
        dir,
        sim,
        rt,
        plugin,
        grants,
    }
}

async fn env(settings: &[(&str, &str)]) -> Env {
    env_with(settings, None).await
}

macro_rules! qw {
    ($env:expr, $method:ident $(, $arg:expr)*) => {{
        let mut call = $env.rt.quoting(&$env.plugin, $env.grants.clone()).await.expect("instantiate");
        let (q, store) = call.parts();
        let r = q.ferry_quoting_quoting().$method(store $(, $arg)*).await;
        call.finish(r).expect("plugin call")
    }};
}

fn value<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

fn text(fields: &[Field], name: &str) -> String {
    match value(fields, name) {
        Some(Value::Text(s) | Value::Decimal(s) | Value::Date(s)) => s.clone(),
        Some(Value::Integer(i)) => i.to_string(),
        _ => String::new(),
    }
}

fn dec(fields: &[Field], name: &str) -> Decimal {
    match value(fields, name) {
        Some(Value::Decimal(s)) => Decimal::from_str(s).expect("decimal"),
        other => panic!("{name} is not a decimal: {other:?}"),
    }
}

fn n(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn header_of(env: &Env, id: i64, column: &str) -> String {
    env.sim.document(id).expect("doc").text(column)
}

fn quote(lines: Vec<NewLine>) -> NewQuote {
    let c = seed::customer(42, 0);
    let mut q: NewQuote = serde_json::from_value(serde_json::json!({
        "sold_to": {"company": c.name, "email": c.email, "cm_account_no": "CM00001"},
        "status": "1-In Progress",
        "lines": [],
    }))
    .expect("quote");
    q.lines = lines;
    q
}

#[tokio::test]
async fn ready_quotes_are_listed_handed_off_once_and_dropped_from_the_list() {
    let env = env(&[]).await;
    let docs = env.sim.documents(None).expect("docs");
    let ids: Vec<i64> = docs.iter().take(5).map(|d| d.id).collect();
    for id in &ids {
        env.sim.set_status(*id, READY).expect("status");
    }
    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = qw!(
            env,
            call_list_ready_quotes,
            &PageRequest {
                cursor: cursor.clone(),
                limit: 2
            }
        )
        .expect("list");
        assert!(page.quotes.len() <= 2);
        for q in &page.quotes {
            assert_eq!(q.status, READY);
            // The host drops anything else, with a warning per quote and poll.
            let stamp = q.modified_at.as_deref();
            assert!(
                stamp.is_none_or(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
                "modified-at {stamp:?} is no RFC 3339 time"
            );
        }
        listed.extend(page.quotes.iter().map(|q| q.id.parse::<i64>().expect("id")));
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(listed, ids);

    let first = ids[0].to_string();
    qw!(env, call_mark_transferred, &first, "1000000042", None).expect("hand-off");
    assert_eq!(header_of(&env, ids[0], "CustomText10"), "1000000042");
    assert_eq!(header_of(&env, ids[0], "DocStatus"), DONE);
    // Idempotent with the same number; a different number is a second order: conflict.
    qw!(env, call_mark_transferred, &first, "1000000042", None).expect("again");
    assert!(matches!(
        qw!(env, call_mark_transferred, &first, "1000000099", None),
        Err(Error::Conflict(m)) if m.contains("1000000042")
    ));
    // Transferred quotes are not ready any more, even when someone puts the status back.
    env.sim.set_status(ids[0], READY).expect("status");
    let page = qw!(
        env,
        call_list_ready_quotes,
        &PageRequest {
            cursor: None,
            limit: 100
        }
    )
    .expect("list");
    assert!(!page.quotes.iter().any(|q| q.id == first));
    assert_eq!(page.quotes.len(), 4);

    assert!(matches!(
        qw!(env, call_mark_transferred, "999999", "1", None),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        qw!(env, call_get_quote, "not-a-number"),
        Err(Error::Invalid(_))
    ));

    qw!(env, call_set_status, &ids[1].to_string(), "Lost").expect("a listed status");
    assert_eq!(header_of(&env, ids[1], "DocStatus"), "Lost");
    assert!(matches!(
        qw!(env, call_set_status, &ids[1].to_string(), "Made Up Status"),
        Err(Error::Invalid(e)) if e[0].field == "DocStatus"
    ));
}

#[tokio::test]
async fn a_quote_with_every_line_type_becomes_the_right_order_lines() {
    for mode in ["percent", "amount"] {
        let env = env(&[("discount_mode", mode)]).await;
        let item = |i: usize| seed::item_number(i);
        let lines = vec![
            NewLine::heading("Kit section"),
            NewLine::group(
                "Kit",
                n("3"),
                vec![
                    NewLine::product(&item(0), n("2")),
                    NewLine::product(&item(1), n("1")).with_modifier("D10"),
                ],
            ),
            NewLine::product(&item(2), n("1")).optional(false),
            NewLine::product(&item(3), n("2")).optional(true),
            NewLine::comment("Delivery in two weeks"),
            NewLine::product(&item(4), n("10")).with_modifier("D10\\5"),
            NewLine::subtotal(),
            NewLine::percent_discount(n("5")),
            NewLine::tax(n("42.13")),
            NewLine::product(&item(5), n("1")).excluded(),
            NewLine::running_subtotal(),
            NewLine::percent_charge(n("2"), "2% Fuel surcharge"),
            NewLine::product(&item(6), n("6")),
        ];
        let created = env.sim.create_quote(&quote(lines)).expect("create");
        let doc = qw!(env, call_get_quote, &created.id.to_string()).expect("quote");
        assert_eq!(doc.kind, "quote");
        assert_eq!(text(&doc.fields, "DocNo"), created.doc_no);

        let got: Vec<(String, Decimal)> = doc
            .lines
            .iter()
            .map(|l| {
                (
                    text(&l.fields, "ManufacturerPartNumber"),
                    dec(&l.fields, "OrderQuantity"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (item(0), n("6")), // group member: 2 × group quantity 3
                (item(1), n("3")),
                (item(3), n("2")), // the selected option; the unselected one is gone
                (item(4), n("10")),
                (item(6), n("6")), // after the excluded line, the TAX line and the % charge
            ],
            "{mode}"
        );
        let line_no: Vec<String> = doc
            .lines
            .iter()
            .map(|l| text(&l.fields, "LineNumber"))
            .collect();
        assert_eq!(line_no, vec!["1", "2", "3", "4", "5"]);
        assert_eq!(text(&doc.lines[0].fields, "GroupDescription"), "Kit");

        // D modifiers go out as list price plus discount; the 5 % discount line under the
        // subtotal discounts every line the subtotal sums.
        let list = |i: usize| dec(&doc.lines[i].fields, "UnitList");
        for i in 0..5 {
            let l = &doc.lines[i].fields;
            let expected = match i {
                0 | 2 => n("5"),
                1 => n("14.5"),
                3 => n("18.775"),
                _ => n("0"),
            };
            if mode == "percent" {
                assert_eq!(dec(l, "DiscountPercent"), expected, "line {i}");
            } else {
                assert!(value(l, "DiscountPercent").is_none());
                let gross = dec(l, "OrderUnitPrice") * dec(l, "OrderQuantity");
                assert_eq!(
                    dec(l, "DiscountAmount"),
                    gross.round_dp(2) - dec(l, "NetAmount"),
                    "line {i}"
                );
            }
        }
        assert_eq!(dec(&doc.lines[1].fields, "OrderUnitPrice"), list(1));
        assert_eq!(dec(&doc.lines[3].fields, "OrderUnitPrice"), list(3));

        // What the lines add up to agrees with QuoteWerks' own subtotal (which also counts the
        // % charge and the TAX line) to the cent per line.
        let lines_total = dec(&doc.fields, "OrderLinesTotal");
        let charges = dec(&doc.fields, "PercentChargeTotal");
        assert!(charges > Decimal::ZERO);
        let subtotal = n(&header_of(&env, created.id, "SubTotal"));
        let diff = (lines_total + charges + n("42.13") - subtotal).abs();
        assert!(
            diff <= n("0.05"),
            "{mode}: lines {lines_total} + charges {charges} + tax vs {subtotal}"
        );
    }
}

#[tokio::test]
async fn seeded_quotes_read_without_loss() {
    let env = env(&[]).await;
    for d in env.sim.documents(None).expect("docs") {
        let doc = qw!(env, call_get_quote, &d.id.to_string()).expect("quote");
        assert_eq!(doc.id.as_deref(), Some(d.id.to_string().as_str()));
        assert!(!doc.lines.is_empty(), "{} has order lines", d.doc_no);
        for l in &doc.lines {
            assert!(!text(&l.fields, "ManufacturerPartNumber").is_empty());
            assert!(dec(&l.fields, "OrderQuantity") > Decimal::ZERO);
            assert_ne!(text(&l.fields, "ItemType").to_uppercase(), "TAX");
        }
        assert!(matches!(
            value(&doc.fields, "DocDate"),
            Some(Value::Date(_)) | Some(Value::Text(_))
        ));
    }
    assert!(matches!(
        qw!(env, call_get_quote, "424242"),
        Err(Error::NotFound(_))
    ));
}

/// A delivered webhook: its headers and body.
type Delivery = (Vec<(String, String)>, Vec<u8>);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Delivery>>>);

#[tokio::test]
async fn webhooks_from_quotewerks_are_verified_and_parsed() {
    let captured = Captured::default();
    let router = axum::Router::new()
        .route(
            "/hook",
            post(
                |axum::extract::State(c): axum::extract::State<Captured>,
                 headers: HeaderMap,
                 body: axum::body::Bytes| async move {
                    let hs = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    c.0.lock().expect("lock").push((hs, body.to_vec()));
                    "ok"
                },
            ),
        )
        .with_state(captured.clone());
    let addr = serve(router).await;
    let env = env_with(&[], Some(format!("http://{addr}/hook"))).await;
    let id = env.sim.documents(None).expect("docs")[0].id;
    let change = env.sim.set_status(id, READY).expect("status");
    let mut delivery = None;
    for _ in 0..100 {
        if let Some(d) = captured.0.lock().expect("lock").first().cloned() {
            delivery = Some(d);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (headers, body) = delivery.expect("the simulator delivered the webhook");
    let event = qw!(
        env,
        call_parse_webhook,
        &InboundWebhook {
            headers: headers.clone(),
            body: body.clone()
        }
    )
    .expect("parsed");
    assert_eq!(event.quote_id, id.to_string());
    assert_eq!(event.status.as_deref(), Some(READY));
    assert_eq!(Some(event.event_id.clone()), change.event_id);
    assert_eq!(event.event, "QuoteWerks.DocumentStatusChanged");

    // The host checked the secret and removed its header before the call: without it the
    // connector parses the same delivery the same way.
    let unsigned: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("x-quotewerks-secret"))
        .cloned()
        .collect();
    let again = qw!(
        env,
        call_parse_webhook,
        &InboundWebhook {
            headers: unsigned,
            body: body.clone()
        }
    )
    .expect("parsed without the secret header");
    assert_eq!(again, event);
    // Malformed: invalid, never a trap.
    for bad in [
        &b"{"[..],
        b"<xml/>",
        br#"{"event":"x","document":{"id":"{{Document.ID}}"}}"#,
        &[0xff, 0x00, 0x13],
    ] {
        assert!(matches!(
            qw!(
                env,
                call_parse_webhook,
                &InboundWebhook {
                    headers: headers.clone(),
                    body: bad.to_vec()
                }
            ),
            Err(Error::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn products_are_upserted_by_their_key_and_availability_is_summed_per_product() {
    let env = env(&[]).await;
    let db = rusqlite::Connection::open(&env.sim.db_path).expect("db");
    let price_of = |mpn: &str| -> (String, String, String) {
        db.query_row(
            "SELECT Price, Description, UnitOfPricing FROM M3_Products WHERE ManufacturerPartNumber = ?1",
            [mpn],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("row")
    };
    let existing = seed::item_number(0);
    let (old_price, old_desc, _) = price_of(&existing);
    let unchanged = seed::item_number(1);
    let (p1, d1, u1) = price_of(&unchanged);
    let product = |mpn: &str, price: &str, desc: &str, unit: &str| Document {
        kind: "product".into(),
        id: None,
        fields: vec![
            Field {
                name: "ManufacturerPartNumber".into(),
                value: Value::Text(mpn.into()),
            },
            Field {
                name: "Price".into(),
                value: Value::Decimal(price.into()),
            },
            Field {
                name: "Description".into(),
                value: Value::Text(desc.into()),
            },
            Field {
                name: "UnitOfMeasure".into(),
                value: Value::Text(unit.into()),
            },
        ],
        lines: vec![],
    };
    let new_price = (n(&old_price) + n("1.25")).to_string();
    let report = qw!(
        env,
        call_upsert_products,
        &[
            product(&existing, &new_price, &old_desc, "EA"),
            // Same values, the price written with trailing zeros: unchanged.
            product(&unchanged, &format!("{}0", n(&p1).normalize()), &d1, &u1),
            product("NEW-PART-1", "99.90", "A new part", "BOX"),
        ]
    )
    .expect("upsert");
    assert_eq!(
        (report.inserted, report.updated, report.unchanged),
        (1, 1, 1)
    );
    assert_eq!(n(&price_of(&existing).0), n(&new_price));
    let (price, desc, unit) = price_of("NEW-PART-1");
    assert_eq!(
        (n(&price), desc.as_str(), unit.as_str()),
        (n("99.90"), "A new part", "BOX")
    );

    let updated = qw!(
        env,
        call_set_availability,
        &[
            Availability {
                product: existing.clone(),
                quantity: "40".into(),
                warehouse: Some("100".into())
            },
            Availability {
                product: existing.clone(),
                quantity: "2.5".into(),
                warehouse: Some("200".into())
            },
            Availability {
                product: "NOT-IN-QW".into(),
                quantity: "1".into(),
                warehouse: None
            },
        ]
    )
    .expect("availability");
    assert_eq!(updated, 1);
    let avail: String = db
        .query_row(
            "SELECT Availability FROM M3_Products WHERE ManufacturerPartNumber = ?1",
            [&existing],
            |r| r.get(0),
        )
        .expect("avail");
    assert_eq!(n(&avail), n("42.5"));
    assert!(matches!(
        qw!(
            env,
            call_set_availability,
            &[Availability {
                product: existing,
                quantity: "4,5".into(),
                warehouse: None
            }]
        ),
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn customers_come_from_the_sold_to_bill_to_and_ship_to_fields() {
    let env = env(&[]).await;
    let c0 = seed::customer(42, 0);
    let created = env
        .sim
        .create_quote(&quote(vec![NewLine::product(
            &seed::item_number(0),
            n("1"),
        )]))
        .expect("quote");

    let doc = qw!(env, call_get_customer, "CM00001").expect("customer");
    assert_eq!(text(&doc.fields, "SoldToCompany"), c0.name);
    assert!(value(&doc.fields, "ShipToCompany").is_some());
    assert!(value(&doc.fields, "BillToCompany").is_some());
    assert!(matches!(
        qw!(env, call_get_customer, "CM-NOPE"),
        Err(Error::NotFound(_))
    ));

    let criteria = |email: Option<&str>, name: Option<&str>| MatchCriteria {
        email: email.map(String::from),
        name: name.map(String::from),
        phone: None,
        external_ref: None,
    };
    let by_mail = qw!(
        env,
        call_find_customers,
        &criteria(Some(&c0.email.to_uppercase()), None)
    )
    .expect("find");
    assert!(by_mail.iter().any(|d| d.id.as_deref() == Some("CM00001")));
    let by_name = qw!(
        env,
        call_find_customers,
        &criteria(None, Some(&format!("the {}", c0.name.to_lowercase())))
    )
    .expect("find");
    assert!(
        by_name
            .iter()
            .any(|d| text(&d.fields, "SoldToCompany") == c0.name)
    );

    // The ERP customer number goes onto the customer's open documents.
    let update = Document {
        kind: "customer".into(),
        id: Some("CM00001".into()),
        fields: vec![Field {
            name: "CustomText01".into(),
            value: Value::Text(c0.cuno.clone()),
        }],
        lines: vec![],
    };
    assert_eq!(
        qw!(env, call_upsert_customer, &update).expect("upsert"),
        "CM00001"
    );
    assert_eq!(header_of(&env, created.id, "CustomText01"), c0.cuno);

    let page = qw!(
        env,
        call_list_customers_changed,
        "2000-01-01",
        &PageRequest {
            cursor: None,
            limit: 500
        }
    )
    .expect("changed");
    assert!(
        page.documents
            .iter()
            .any(|d| d.id.as_deref() == Some("CM00001"))
    );
}

#[tokio::test]
async fn sql_errors_and_bad_settings_are_classified() {
    // A custom field that is not a column: the database refuses the statement.
    let env = env(&[("order_number_field", "CustomText99")]).await;
    assert!(matches!(
        qw!(env, call_list_ready_quotes, &PageRequest { cursor: None, limit: 10 }),
        Err(Error::Fatal(m)) if m.contains("CustomText99")
    ));
    // A setting that would smuggle SQL in is refused before any statement.
    let env = env_with(
        &[(
            "order_number_field",
            "CustomText10; DROP TABLE DocumentItems",
        )],
        None,
    )
    .await;
    assert!(matches!(
        qw!(env, call_list_ready_quotes, &PageRequest { cursor: None, limit: 10 }),
        Err(Error::Fatal(m)) if m.contains("not a plain")
    ));
    let count: i64 = rusqlite::Connection::open(&env.sim.db_path)
        .expect("db")
        .query_row("SELECT COUNT(*) FROM DocumentItems", [], |r| r.get(0))
        .expect("items still there");
    assert!(count > 0);
    // No such connection granted: a config saying so is refused at load (tests/tests/
    // plugin_grants.rs); grants built by hand still reach nothing the plugin wasn't granted.
    let mut env = env_with(&[], None).await;
    let settings = [("connection".to_string(), "elsewhere".to_string())];
    env.grants = Arc::new(
        env.grants
            .with_plugin("quotewerks", settings.into_iter().collect()),
    );
    assert!(matches!(
        qw!(env, call_get_quote, "1"),
        Err(Error::Fatal(m)) if m.contains("elsewhere")
    ));
    drop(env.dir);
}

#[tokio::test]
async fn a_sql_server_connection_is_configured_by_reference_and_an_unreachable_server_is_transient()
{
    let dir = tempfile::tempdir().expect("tmp");
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    std::fs::write(
        dir.path().join("qw.sql"),
        "server=tcp:127.0.0.1,1;database=QuoteWerks;user=ferry;password=pa55-word;TrustServerCertificate=true",
    )
    .expect("secret");
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[tenants.acme.connections.quotewerks]\nkind = \"sqlserver\"\nconnection_string = { file = \"qw.sql\" }\ntimeout_ms = 2000\n\
         [tenants.acme.plugins.quoting]\nconnections = [\"quotewerks\"]\n",
    )
    .expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let grants = config
        .plugin_grants("acme", Role::Quoting)
        .expect("grants: nothing is dialled yet");
    let rt = runtime();
    let plugin = load(&rt, "quotewerks_connector", Role::Quoting);
    let mut call = rt.quoting(&plugin, grants).await.expect("instantiate");
    let (q, store) = call.parts();
    let r = q.ferry_quoting_quoting().call_get_quote(store, "1").await;
    match call.finish(r).expect("call") {
        Err(Error::Transient(m)) => assert!(!m.contains("pa55-word"), "{m}"),
        other => panic!("expected transient, got {other:?}"),
    }

    // A connection string typed inline is refused without being echoed.
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[tenants.acme.connections.quotewerks]\nkind = \"sqlserver\"\nconnection_string = \"server=x;password=pa55-word\"\n",
    )
    .expect("toml");
    let err = FerryConfig::load(&dir.path().join("ferry.toml"))
        .expect_err("inline secret")
        .to_string();
    assert!(
        err.contains("by reference") && !err.contains("pa55-word"),
        "{err}"
    );
}
