//! The M3 connector plugin (plugins/m3) against the M3 simulator over loopback: OAuth from the
//! `.ionapi` file, MI v2 and v1, batch and bulk order entry, customers, items, prices, stock,
//! BODs, and classified errors for bad data and a misbehaving gateway.

// `common` (shared, not this file's) trips clippy::type_complexity on the current toolchain.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::*;
use ferry::config::FerryConfig;
use ferry::runtime::bindings::erp::OrderReceipt;
use ferry::runtime::bindings::types::{
    Change, ChangeAction, Document, Entity, Error, Field, FieldError, Line, MatchCriteria,
    PageRequest, Value,
};
use ferry::runtime::{Grants, Plugin, Role, Runtime};
use ferry_sim::m3::{CustomerChange, FaultKind, ItemChange, QueuedFault};
use ferry_sim::seed;
use ferry_sim::{M3Sim, M3SimConfig, M3SimHandle};
use tracing_subscriber::layer::SubscriberExt;

struct Env {
    _dir: tempfile::TempDir,
    sim: M3SimHandle,
    rt: Arc<Runtime>,
    plugin: Plugin,
    grants: Arc<Grants>,
}

async fn env_with(settings: &[(&str, &str)], ionapi: Option<String>) -> Env {
    let sim = M3Sim::start(M3SimConfig::default()).await.expect("m3 sim");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("m3.ionapi"),
        ionapi.unwrap_or_else(|| sim.ionapi_json()),
    )
    .expect("ionapi");
    let mut toml = String::from(
        "[tenants.acme.connections.m3]\nkind = \"http\"\nionapi = { file = \"m3.ionapi\" }\n\n\
         [tenants.acme.plugins.erp]\nconnections = [\"m3\"]\n\n[tenants.acme.plugins.erp.settings]\n",
    );
    for (k, v) in settings {
        toml.push_str(&format!("{k} = \"{v}\"\n"));
    }
    std::fs::write(dir.path().join("ferry.toml"), toml).expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let grants = config.plugin_grants("acme", Role::Erp).expect("grants");
    let rt = runtime();
    let plugin = load(&rt, "m3_connector", Role::Erp);
    Env {
        _dir: dir,
        sim,
        rt,
        plugin,
        grants,
    }
}

async fn env(settings: &[(&str, &str)]) -> Env {
    env_with(settings, None).await
}

/// Calls one `erp` export: `erp!(env, call_get_item, "A1")`.
macro_rules! erp {
    ($env:expr, $method:ident $(, $arg:expr)*) => {{
        let mut call = $env.rt.erp(&$env.plugin, $env.grants.clone()).await.expect("instantiate");
        let (erp, store) = call.parts();
        let r = erp.ferry_erp_erp().$method(store $(, $arg)*).await;
        call.finish(r).expect("plugin call")
    }};
}

fn text(doc: &Document, name: &str) -> Option<String> {
    doc.fields
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| match &f.value {
            Value::Text(s) | Value::Decimal(s) | Value::Date(s) => Some(s.clone()),
            _ => None,
        })
}

fn t(name: &str, v: &str) -> Field {
    Field {
        name: name.into(),
        value: Value::Text(v.into()),
    }
}

fn d(name: &str, v: &str) -> Field {
    Field {
        name: name.into(),
        value: Value::Decimal(v.into()),
    }
}

fn order(cuno: &str, lines: Vec<Vec<Field>>) -> Document {
    Document {
        kind: "order".into(),
        id: None,
        fields: vec![
            t("CUNO", cuno),
            t("YREF", "Jane Buyer"),
            Field {
                name: "RLDT".into(),
                value: Value::Date("2026-12-01".into()),
            },
        ],
        lines: lines.into_iter().map(|fields| Line { fields }).collect(),
    }
}

fn customer(i: usize) -> seed::SeedCustomer {
    seed::customer(42, i)
}

fn sellable(i: usize) -> String {
    // Items 13 (mod 25) are discontinued in the seed; everything else below 50 sells.
    assert!(i % 25 != 13);
    seed::item_number(i)
}

fn invalid(r: Result<impl std::fmt::Debug, Error>) -> Vec<FieldError> {
    match r {
        Err(Error::Invalid(errors)) => errors,
        other => panic!("expected invalid, got {other:?}"),
    }
}

/// Captures the plugin's log lines (the M3 round-trip count is one of them).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Logs {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut v = V(String::new());
        event.record(&mut v);
        self.0.lock().expect("lock").push(v.0);
    }
}

impl Logs {
    fn round_trips(&self, reference: &str) -> Option<u32> {
        self.0.lock().expect("lock").iter().find_map(|l| {
            let rest = l.strip_prefix(&format!("m3 order {reference}: "))?;
            rest.split(" in ").nth(1)?.split(' ').next()?.parse().ok()
        })
    }
}

#[tokio::test]
async fn customers_are_read_found_created_and_changed() {
    let env = env(&[("customer_template", "TMPLDOM")]).await;
    let c0 = customer(0);

    let doc = erp!(env, call_get_customer, &c0.cuno).expect("get");
    assert_eq!(doc.id.as_deref(), Some(c0.cuno.as_str()));
    assert_eq!(
        text(&doc, "CUNM").as_deref(),
        Some(c0.name.as_str()),
        "blank padding trimmed"
    );
    assert_eq!(text(&doc, "MAIL").as_deref(), Some(c0.email.as_str()));

    let by_mail = erp!(
        env,
        call_find_customers,
        &MatchCriteria {
            email: Some(c0.email.to_uppercase()),
            name: None,
            phone: None,
            external_ref: None
        }
    )
    .expect("find");
    assert_eq!(by_mail.len(), 1);
    assert_eq!(by_mail[0].id.as_deref(), Some(c0.cuno.as_str()));

    // The name as a person types it: other case, punctuation and legal form.
    let typed = format!(
        "{}, Incorporated",
        c0.name.to_uppercase().trim_end_matches(" INC")
    );
    let by_name = erp!(
        env,
        call_find_customers,
        &MatchCriteria {
            email: None,
            name: Some(typed.clone()),
            phone: None,
            external_ref: None
        }
    )
    .expect("find");
    assert!(
        by_name
            .iter()
            .any(|d| d.id.as_deref() == Some(c0.cuno.as_str())),
        "{typed} should find {}: {:?}",
        c0.name,
        by_name
            .iter()
            .map(|d| (d.id.clone(), text(d, "CUNM")))
            .collect::<Vec<_>>()
    );

    let new = Document {
        kind: "customer".into(),
        id: None,
        fields: vec![
            t("CUNM", "Ferry Test Works"),
            t("CUA1", "1 Harbour Way"),
            t("TOWN", "Boston"),
            t("MAIL", "buyer@ferry-test.example"),
            t("QuoteWerksOnly", "dropped with a log line"),
        ],
        lines: vec![],
    };
    let cuno = erp!(env, call_create_customer, &new).expect("create");
    let created = erp!(env, call_get_customer, &cuno).expect("get new");
    assert_eq!(text(&created, "CUNM").as_deref(), Some("Ferry Test Works"));

    let change = Document {
        kind: "customer".into(),
        id: None,
        fields: vec![t("MAIL", "orders@ferry-test.example")],
        lines: vec![],
    };
    erp!(env, call_update_customer, &cuno, &change).expect("update");
    let changed = erp!(env, call_get_customer, &cuno).expect("get changed");
    assert_eq!(
        text(&changed, "MAIL").as_deref(),
        Some("orders@ferry-test.example")
    );
    assert_eq!(text(&changed, "CUNM").as_deref(), Some("Ferry Test Works"));

    // A name over CUNM's 36 characters is refused before any M3 call: nothing is cut.
    let before = env.sim.summary().expect("summary").customers;
    let long = Document {
        kind: "customer".into(),
        id: None,
        fields: vec![t("CUNM", &"N".repeat(37)), t("CUA1", "x")],
        lines: vec![],
    };
    let errors = invalid(erp!(env, call_create_customer, &long));
    assert_eq!(errors[0].field, "CUNM");
    assert_eq!(env.sim.summary().expect("summary").customers, before);

    assert!(matches!(
        erp!(env, call_get_customer, "NOSUCH"),
        Err(Error::NotFound(_))
    ));

    // Paging walks every customer exactly once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = erp!(
            env,
            call_list_customers_changed,
            "2020-01-01",
            &PageRequest {
                cursor: cursor.clone(),
                limit: 6
            }
        )
        .expect("page");
        seen.extend(page.documents.into_iter().filter_map(|d| d.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(seen.len(), unique.len(), "no customer twice");
    assert_eq!(seen.len(), 21, "20 seeded + 1 created");
}

#[tokio::test]
async fn a_customer_without_a_configured_template_is_a_fatal_misconfiguration() {
    let env = env(&[]).await;
    let new = Document {
        kind: "customer".into(),
        id: None,
        fields: vec![t("CUNM", "X"), t("CUA1", "Y")],
        lines: vec![],
    };
    assert!(matches!(
        erp!(env, call_create_customer, &new),
        Err(Error::Fatal(m)) if m.contains("customer_template")
    ));
}

#[tokio::test]
async fn items_prices_and_stock_are_read() {
    let env = env(&[]).await;
    let item0 = seed::item(42, 0);
    let doc = erp!(env, call_get_item, &item0.itno).expect("item");
    assert_eq!(text(&doc, "ITDS").as_deref(), Some(item0.name.as_str()));
    assert!(matches!(
        doc.fields
            .iter()
            .find(|f| f.name == "LMDT")
            .map(|f| &f.value),
        Some(Value::Date(_))
    ));
    assert!(matches!(
        erp!(env, call_get_item, "NOSUCHITEM"),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        erp!(env, call_get_item, &"X".repeat(16)),
        Err(Error::Invalid(e)) if e[0].field == "ITNO"
    ));

    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = erp!(
            env,
            call_list_items,
            &PageRequest {
                cursor: cursor.clone(),
                limit: 7
            }
        )
        .expect("page");
        assert!(page.documents.len() <= 7);
        all.extend(page.documents.into_iter().filter_map(|d| d.id));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(all.len(), 50);
    let distinct: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), 50);

    let mut changed = 0;
    let mut cursor = None;
    loop {
        let page = erp!(
            env,
            call_list_items_changed,
            "2000-01-01",
            &PageRequest {
                cursor: cursor.clone(),
                limit: 9
            }
        )
        .expect("changed page");
        changed += page.documents.len();
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(changed, 50, "every item changed since 2000, each once");

    let price = erp!(env, call_get_item_price, &item0.itno).expect("price");
    assert_eq!(price.amount, item0.sales_price.normalize().to_string());

    // GetPriceLine: the customer's discount applies.
    let c = (0..20)
        .map(customer)
        .find(|c| c.stat == "20" && !c.discount_percent.is_zero())
        .expect("a discounted customer");
    let cp = erp!(env, call_get_customer_price, &item0.itno, &c.cuno, "3").expect("customer price");
    let expected = (item0.sales_price * (rust_decimal::Decimal::ONE_HUNDRED - c.discount_percent)
        / rust_decimal::Decimal::ONE_HUNDRED)
        .round_dp(2);
    assert_eq!(
        cp.amount.parse::<rust_decimal::Decimal>().expect("dec"),
        expected
    );

    let stock = erp!(env, call_get_stock, &item0.itno).expect("stock");
    assert!(!stock.is_empty());
    for b in &stock {
        assert_eq!(
            b.on_hand.parse::<rust_decimal::Decimal>().expect("dec")
                - b.allocated
                    .as_deref()
                    .unwrap_or("0")
                    .parse::<rust_decimal::Decimal>()
                    .expect("dec"),
            b.allocatable.parse::<rust_decimal::Decimal>().expect("dec")
        );
    }

    // With named warehouses the connector asks GetItmWhsBal per warehouse instead.
    let env2 = env_with(&[("warehouses", "100,200")], None).await;
    let per_wh = erp!(env2, call_get_stock, &item0.itno).expect("stock");
    let whs: Vec<&str> = per_wh.iter().map(|b| b.warehouse.as_str()).collect();
    assert_eq!(whs, vec!["100", "200"]);
    for b in &per_wh {
        let same = stock
            .iter()
            .find(|s| s.warehouse == b.warehouse)
            .expect("same warehouse");
        assert_eq!(same.on_hand, b.on_hand);
    }
}

async fn create_and_check(env: &Env, logs: &Logs, reference: &str) -> (OrderReceipt, u32) {
    let c0 = customer(0);
    let doc = order(
        &c0.cuno,
        vec![
            vec![t("ITNO", &sellable(0)), d("ORQT", "2")],
            vec![
                t("ITNO", &sellable(1)),
                d("ORQT", "1.5"),
                d("SAPR", "10.00"),
                d("DIP1", "14.5"),
            ],
            vec![
                t("ITNO", &sellable(2)),
                d("ORQT", "4"),
                t("ITDS", "Custom text"),
            ],
        ],
    );
    let receipt = erp!(env, call_create_order, &doc, reference).expect("order");
    assert_eq!(receipt.reference, reference);
    assert_eq!(receipt.line_numbers, vec!["1", "2", "3"]);
    let in_m3 = env.sim.orders_by_cuor(reference).expect("orders");
    assert_eq!(in_m3.len(), 1);
    assert_eq!(in_m3[0].orno, receipt.order_number);
    assert_eq!(in_m3[0].cuno, c0.cuno);
    let lines: Vec<(String, String)> = in_m3[0]
        .lines
        .iter()
        .map(|l| (l.itno.clone(), l.orqt.clone()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (sellable(0), "2".to_string()),
            (sellable(1), "1.5".to_string()),
            (sellable(2), "4".to_string())
        ]
    );
    assert_eq!(
        in_m3[0].lines[1]
            .sapr
            .parse::<rust_decimal::Decimal>()
            .expect("dec"),
        rust_decimal::Decimal::TEN,
        "the manual price went over"
    );
    let trips = logs
        .round_trips(reference)
        .expect("the round-trip log line");
    (receipt, trips)
}

#[tokio::test]
async fn an_order_goes_through_batch_entry_or_one_bulk_post_and_is_found_by_reference() {
    let logs = Logs::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));

    let batch = env(&[]).await;
    let (receipt, trips) = create_and_check(&batch, &logs, "FRYQ1000").await;
    assert_eq!(trips, 5, "AddBatchHead + 3 × AddBatchLine + Confirm");

    let found = erp!(
        batch,
        call_find_order,
        "FRYQ1000",
        Some(customer(0).cuno.as_str())
    )
    .expect("find")
    .expect("found");
    assert_eq!(found.order_number, receipt.order_number);
    assert!(
        erp!(
            batch,
            call_find_order,
            "FRYQ-NEVER",
            Some(customer(0).cuno.as_str())
        )
        .expect("find")
        .is_none()
    );
    assert!(matches!(
        erp!(batch, call_find_order, "FRYQ1000", None),
        Err(Error::Invalid(e)) if e[0].field == "customer"
    ));

    let status = erp!(batch, call_get_order_status, &receipt.order_number).expect("status");
    assert_eq!(status.reference, "FRYQ1000");
    assert_eq!(status.status, receipt.status);
    batch
        .sim
        .advance_order(&receipt.order_number, Some("44"))
        .expect("advance");
    let status = erp!(batch, call_get_order_status, &receipt.order_number).expect("status");
    assert_eq!(status.status, "44");
    assert!(matches!(
        erp!(batch, call_get_order_status, "0000000000"),
        Err(Error::NotFound(_))
    ));

    let bulk = env(&[("order_entry", "bulk")]).await;
    let (_, trips) = create_and_check(&bulk, &logs, "FRYQ2000").await;
    assert_eq!(
        trips, 3,
        "AddBatchHead + one bulk POST of the lines + Confirm"
    );
}

#[tokio::test]
async fn bad_lines_are_reported_against_their_lines_and_nothing_is_confirmed() {
    for mode in ["batch", "bulk"] {
        let env = env(&[("order_entry", mode)]).await;
        let reference = format!("BAD-{mode}");
        let doc = order(
            &customer(0).cuno,
            vec![
                vec![t("ITNO", &sellable(0)), d("ORQT", "1")],
                vec![t("ITNO", "NOSUCHITEM"), d("ORQT", "1")],
                vec![t("ITNO", &seed::item_number(13)), d("ORQT", "1")],
            ],
        );
        let errors = invalid(erp!(env, call_create_order, &doc, &reference));
        let lines: Vec<Option<u32>> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![Some(1), Some(2)], "{mode}: {errors:?}");
        assert!(
            errors[0].message.contains("does not exist"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.contains("discontinued"),
            "{}",
            errors[1].message
        );
        assert!(
            env.sim
                .orders_by_cuor(&reference)
                .expect("orders")
                .is_empty(),
            "{mode}: no order"
        );
    }
}

#[tokio::test]
async fn over_long_fields_are_refused_before_any_m3_call() {
    let env = env(&[]).await;
    let mut doc = order(
        &customer(0).cuno,
        vec![vec![t("ITNO", &sellable(0)), d("ORQT", "1")]],
    );
    doc.fields.push(t("YREF", &"R".repeat(31)));
    doc.lines[0].fields.push(t("ITDS", &"D".repeat(31)));
    let reference = "Q".repeat(21);
    let errors = invalid(erp!(env, call_create_order, &doc, &reference));
    let mut fields: Vec<(String, Option<u32>)> =
        errors.iter().map(|e| (e.field.clone(), e.line)).collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("CUOR".to_string(), None),
            ("ITDS".to_string(), Some(0)),
            ("YREF".to_string(), None)
        ]
    );
    assert_eq!(
        env.sim.summary().expect("summary").batch_orders,
        0,
        "no M3 call was made"
    );

    let bad_qty = order(
        &customer(0).cuno,
        vec![vec![t("ITNO", &sellable(0)), d("ORQT", "0")]],
    );
    let errors = invalid(erp!(env, call_create_order, &bad_qty, "Q1"));
    assert_eq!(
        (errors[0].field.as_str(), errors[0].line),
        ("ORQT", Some(0))
    );
}

#[tokio::test]
async fn staged_entry_confirms_once_even_when_confirm_is_repeated() {
    let env = env(&[]).await;
    let head = order(&customer(0).cuno, vec![]);
    let draft = erp!(env, call_begin_order, &head, "STAGED-1").expect("begin");
    let lines = vec![
        Line {
            fields: vec![t("ITNO", &sellable(3)), d("ORQT", "2")],
        },
        Line {
            fields: vec![t("ITNO", &sellable(4)), d("ORQT", "1")],
        },
    ];
    erp!(env, call_add_order_lines, &draft, &lines).expect("add");
    let receipt = erp!(env, call_confirm_order, &draft).expect("confirm");
    assert_eq!(receipt.reference, "STAGED-1");
    assert_eq!(receipt.line_numbers, vec!["1", "2"]);
    // A retried confirm (the host lost the answer) returns the same order, not an error.
    let again = erp!(env, call_confirm_order, &draft).expect("confirm again");
    assert_eq!(again.order_number, receipt.order_number);
    assert_eq!(env.sim.orders_by_cuor("STAGED-1").expect("orders").len(), 1);

    let bad = vec![Line {
        fields: vec![t("ITNO", "NOSUCHITEM"), d("ORQT", "1")],
    }];
    let draft2 = erp!(env, call_begin_order, &head, "STAGED-2").expect("begin");
    let errors = invalid(erp!(env, call_add_order_lines, &draft2, &bad));
    assert_eq!(errors[0].line, Some(0));
}

#[tokio::test]
async fn validation_names_the_preliminary_customer_and_the_discontinued_item() {
    let env = env(&[]).await;
    let ok = order(
        &customer(0).cuno,
        vec![vec![t("ITNO", &sellable(0)), d("ORQT", "1")]],
    );
    assert!(
        erp!(env, call_validate_order, &ok)
            .expect("validate")
            .is_empty()
    );
    let bad = order(
        &customer(7).cuno,
        vec![
            vec![t("ITNO", &sellable(0)), d("ORQT", "1")],
            vec![t("ITNO", &seed::item_number(13)), d("ORQT", "1")],
            vec![t("ITNO", "NOSUCHITEM"), d("ORQT", "1")],
        ],
    );
    let errors = erp!(env, call_validate_order, &bad).expect("validate");
    let got: Vec<(String, Option<u32>)> =
        errors.iter().map(|e| (e.field.clone(), e.line)).collect();
    assert_eq!(
        got,
        vec![
            ("CUNO".to_string(), None),
            ("ITNO".to_string(), Some(1)),
            ("ITNO".to_string(), Some(2))
        ],
        "{errors:?}"
    );
    assert!(
        errors[0].message.contains("status 10"),
        "{}",
        errors[0].message
    );
    assert_eq!(
        env.sim.summary().expect("summary").batch_orders,
        0,
        "validation writes nothing"
    );
}

#[tokio::test]
async fn mi_v1_is_read_the_same_way() {
    let env = env(&[("api", "v1"), ("customer_template", "TMPLDOM")]).await;
    let c0 = customer(0);
    let doc = erp!(env, call_get_customer, &c0.cuno).expect("get");
    assert_eq!(text(&doc, "CUNM").as_deref(), Some(c0.name.as_str()));
    assert!(matches!(
        erp!(env, call_get_customer, "NOSUCH"),
        Err(Error::NotFound(_))
    ));
    let page = erp!(
        env,
        call_list_items,
        &PageRequest {
            cursor: None,
            limit: 5
        }
    )
    .expect("items");
    assert_eq!(page.documents.len(), 5);
    let receipt = erp!(
        env,
        call_create_order,
        &order(
            &c0.cuno,
            vec![vec![t("ITNO", &sellable(5)), d("ORQT", "1")]]
        ),
        "V1-ORDER"
    )
    .expect("order over v1");
    assert_eq!(
        env.sim.orders_by_cuor("V1-ORDER").expect("orders")[0].orno,
        receipt.order_number
    );
}

#[tokio::test]
async fn gateway_trouble_is_classified() {
    let env = env(&[]).await;
    let item = sellable(0);
    // An expired token: the host renews it and the plugin never notices.
    env.sim.expire_tokens().expect("expire");
    assert!(erp!(env, call_get_item, &item).is_ok());

    let fault = |kind, count| QueuedFault {
        kind,
        target: Some("MMS200MI/GetItmBasic".into()),
        count,
    };
    // One 429 or 503 is resent by the host (refused before processing) and never seen.
    env.sim.push_fault(fault(FaultKind::TooManyRequests, 1));
    assert!(erp!(env, call_get_item, &item).is_ok());
    // When it persists past the host's resend budget, the plugin classifies it.
    env.sim.push_fault(fault(FaultKind::TooManyRequests, 2));
    match erp!(env, call_get_item, &item) {
        Err(Error::RateLimited(r)) => assert_eq!(r.retry_after_ms, Some(2000)),
        other => panic!("expected rate-limited, got {other:?}"),
    }
    env.sim.push_fault(fault(FaultKind::Unavailable, 2));
    assert!(matches!(
        erp!(env, call_get_item, &item),
        Err(Error::Transient(_))
    ));
    env.sim.push_fault(fault(FaultKind::InternalError, 1));
    assert!(matches!(
        erp!(env, call_get_item, &item),
        Err(Error::Transient(_))
    ));
    // A read is safe to repeat: the connector absorbs a reset or two on Get/Lst calls...
    env.sim.push_fault(fault(FaultKind::Reset, 2));
    assert!(erp!(env, call_get_item, &item).is_ok());
    // ...and reports it as transient when it persists.
    env.sim.push_fault(fault(FaultKind::Reset, 3));
    assert!(matches!(
        erp!(env, call_get_item, &item),
        Err(Error::Transient(_))
    ));
    assert!(
        erp!(env, call_get_item, &item).is_ok(),
        "fine again afterwards"
    );
}

#[tokio::test]
async fn refused_service_account_credentials_are_unauthorized() {
    let sim = M3Sim::start(M3SimConfig::default()).await.expect("sim");
    let mut json: serde_json::Value = serde_json::from_str(&sim.ionapi_json()).expect("json");
    json["sask"] = serde_json::Value::String("wrong-secret".into());
    let env = env_with(&[], Some(json.to_string())).await;
    assert!(matches!(
        erp!(env, call_get_item, &sellable(0)),
        Err(Error::Unauthorized(_))
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn bods_from_m3_become_change_notifications() {
    let env = env(&[]).await;
    let item = sellable(0);
    env.sim
        .change_item(
            &item,
            &ItemChange {
                itds: Some("Renamed & improved".into()),
                stat: None,
                sapr: Some("12.50".parse().expect("dec")),
                stock: vec![],
            },
        )
        .expect("change item");
    env.sim
        .change_customer(
            &customer(1).cuno,
            &CustomerChange {
                cunm: None,
                stat: None,
                mail: Some("new@example.com".into()),
                phno: None,
                cua1: None,
                town: None,
            },
        )
        .expect("change customer");
    let receipt = erp!(
        env,
        call_create_order,
        &order(
            &customer(0).cuno,
            vec![vec![t("ITNO", &sellable(6)), d("ORQT", "1")]]
        ),
        "BOD-ORDER"
    )
    .expect("order");

    let mut by_entity: BTreeMap<String, Change> = BTreeMap::new();
    for bod in env.sim.bods().expect("bods") {
        let changes = erp!(env, call_parse_event, "application/xml", bod.xml.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e:?}", bod.document_name));
        for c in changes {
            by_entity.insert(format!("{:?}:{}", c.entity, c.key), c);
        }
    }
    let item_change = &by_entity[&format!("{:?}:{item}", Entity::Item)];
    assert_eq!(item_change.action, ChangeAction::Updated);
    assert!(
        item_change
            .detail
            .iter()
            .any(|f| f.name == "SAPR" && matches!(&f.value, Value::Text(v) if v == "12.50"))
    );
    assert!(by_entity.contains_key(&format!("{:?}:{}", Entity::Customer, customer(1).cuno)));
    let order_change = &by_entity[&format!("{:?}:{}", Entity::Order, receipt.order_number)];
    assert_eq!(order_change.action, ChangeAction::StatusChanged);
    assert!(
        order_change
            .detail
            .iter()
            .any(|f| f.name == "CUOR" && matches!(&f.value, Value::Text(v) if v == "BOD-ORDER"))
    );

    // Hostile XML is refused, not parsed.
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SyncItemMaster>&e;</SyncItemMaster>"#;
    assert!(matches!(
        erp!(env, call_parse_event, "application/xml", xxe),
        Err(Error::Invalid(_))
    ));
}
