//! Replay over a memory store: a dry run reports exactly the runs a new mapping changes and
//! moves nothing; a re-post re-queues only runs without an ERP order, and only through a
//! version the tenant serves.

use super::*;
use crate::config::FerryConfig;
use ferry_domain::{Field, Line, OrderReceipt, Value};
use ferry_store::{Audit, JobState, Jobs, MemoryStore, Outcome, Store};

/// The shipped mapping with ORTP A02 for customer PO numbers that have a 7 in them.
fn fixed() -> String {
    let shipped = crate::mapping::engine::default_text(KIND).expect("shipped");
    shipped.replace(
        "ORTP = \"setting.order_type ?? 'A01'\"",
        "ORTP = \"if(contains(SoldToPONumber ?? '', '7'), 'A02', 'A01')\"",
    )
}

fn quote(doc_no: &str, po: &str) -> Document {
    let text = |n: &str, v: &str| Field::new(n, Value::Text(v.into()));
    Document {
        kind: "quote".into(),
        id: None,
        fields: vec![
            text("DocNo", doc_no),
            text("SoldToCMAccountNo", "C1"),
            text("SoldToPONumber", po),
            Field::new("DocDate", Value::Date("2026-12-01".into())),
        ],
        lines: vec![Line {
            fields: vec![
                Field::new("LineType", Value::Integer(1)),
                text("ManufacturerPartNumber", "ITEM1"),
                Field::new("QtyTotal", Value::Decimal("2".into())),
                Field::new("UnitPrice", Value::Decimal("10.00".into())),
                Field::new("UnitList", Value::Decimal("10.00".into())),
            ],
        }],
    }
}

/// What the shipped mapping sent for `quote` (the recorded order).
fn sent(quote: &Document, key: &str) -> Document {
    let context = ferry_domain::Context {
        tenant: "acme".into(),
        settings: Vec::new(),
        ids: vec![
            ("quote".into(), key.into()),
            ("customer".into(), "C1".into()),
        ],
    };
    crate::mapping::default_mapping(KIND)
        .expect("shipped")
        .map(quote, &context)
        .expect("maps")
        .document
}

/// acme's runs: 1 (PO-17) and 2 (PO-2) done with their orders, 3 (PO-37) held before
/// its order was mapped, 4 queued before reading its quote. `serves`: the tenant's
/// transform setting holds the fixed mapping.
async fn fixture(serves: bool) -> (Context, Arc<MemoryStore>, tempfile::TempDir) {
    let store = Arc::new(MemoryStore::new());
    let runs = [
        ("1", "PO-17", true),
        ("2", "PO-2", true),
        ("3", "PO-37", false),
    ];
    for (key, po, ordered) in runs {
        let q = quote(&format!("T{key}"), po);
        let mut cp = Checkpoint::new(key, None);
        cp.customer = Some("C1".into());
        if ordered {
            cp.order = Some(sent(&q, key));
            cp.receipt = Some(OrderReceipt {
                order_number: format!("ORD{key}"),
                reference: format!("T{key}"),
                status: "22".into(),
                line_numbers: Vec::new(),
            });
        }
        cp.quote = Some(q);
        let checkpoint = serde_json::to_value(&cp).expect("checkpoint");
        let job = NewJob {
            tenant: "acme",
            kind: KIND,
            key,
            checkpoint,
        };
        store.enqueue(job, 0).await.expect("enqueue");
        let claim = store
            .claim("w", 1, 1_000, 0)
            .await
            .expect("claim")
            .remove(0);
        let outcome = if ordered {
            Outcome::Done
        } else {
            Outcome::Hold {
                reason: "mapping quote-to-order: unknown unit".into(),
            }
        };
        store.finish(&claim, outcome, 0).await.expect("finish");
    }
    let job = NewJob {
        tenant: "acme",
        kind: KIND,
        key: "4",
        checkpoint: serde_json::json!({"quote_id": "4"}),
    };
    store.enqueue(job, i64::MAX / 2).await.expect("enqueue");
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from("[tenants.globex]\n[tenants.acme.plugins.transform]\n");
    if serves {
        let value = toml::Value::from(fixed()).to_string();
        text.push_str(&format!(
            "settings = {{ \"{MAPPING_SETTING}\" = {value} }}\n"
        ));
    }
    let config = FerryConfig::parse(&text, dir.path()).expect("config");
    let shared: Arc<dyn Store> = store.clone();
    let ctx = Context::from_config(config, dir.path()).with_store(shared);
    (ctx, store, dir)
}

fn request(version: &str, quotes: &[&str], post: bool) -> Request {
    Request {
        query: RunQuery::default(),
        quotes: quotes.iter().map(|q| q.to_string()).collect(),
        version: Version::Mapping(version.to_string()),
        post,
    }
}

async fn state(store: &MemoryStore, key: &str) -> JobState {
    store
        .job("acme", KIND, key)
        .await
        .expect("job")
        .expect("there")
        .state
}

#[tokio::test]
async fn a_dry_run_reports_exactly_the_runs_the_new_mapping_changes_and_changes_nothing() {
    let (ctx, store, _dir) = fixture(false).await;
    let report = replay(&ctx, "acme", &request(&fixed(), &[], false))
        .await
        .expect("report");
    let outcome: Vec<(&str, &str)> = report
        .runs
        .iter()
        .map(|r| (r.run.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("1", "changed"),
            ("2", "unchanged"),
            ("3", "changed"),
            ("4", "failed")
        ]
    );
    assert_eq!(
        (
            report.selected,
            report.changed,
            report.unchanged,
            report.failed
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(
        report.runs[0].changes,
        [FieldChange {
            path: "fields.ORTP.text".into(),
            sent: Some("A01".into()),
            replayed: Some("A02".into()),
        }]
    );
    assert_eq!(report.runs[0].order_number.as_deref(), Some("ORD1"));
    assert!(
        report.runs[2]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("stopped before"))
    );
    assert!(
        report.runs[3]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("not read its quote"))
    );
    // The shipped mapping itself replays every mapped run unchanged.
    let shipped = crate::mapping::engine::default_text(KIND).expect("shipped");
    let same = replay(&ctx, "acme", &request(shipped, &["T1", "T2"], false))
        .await
        .expect("report");
    assert_eq!((same.selected, same.unchanged), (2, 2));
    // Nothing moved: the held run is still held, nothing re-queued or posted.
    assert_eq!(state(&store, "3").await, JobState::Held);
    assert_eq!((report.requeued, report.skipped), (0, 0));
    assert!(report.runs.iter().all(|r| r.posted.is_none()));
}

#[tokio::test]
async fn posting_requeues_only_runs_without_an_order_and_skips_the_ordered_ones() {
    let (ctx, store, _dir) = fixture(true).await;
    let report = replay(&ctx, "acme", &request(&fixed(), &["T1", "T2", "T3"], true))
        .await
        .expect("posted");
    let posted: Vec<(&str, Option<&str>)> = report
        .runs
        .iter()
        .map(|r| (r.run.as_str(), r.posted.as_deref()))
        .collect();
    assert_eq!(
        posted,
        [
            ("1", Some("skipped")),
            ("2", Some("skipped")),
            ("3", Some("requeued"))
        ]
    );
    assert_eq!((report.requeued, report.skipped), (1, 2));
    assert_eq!(state(&store, "1").await, JobState::Done);
    let requeued = store.job("acme", KIND, "3").await.expect("job").expect("3");
    assert_eq!(
        (requeued.state, requeued.step.as_str()),
        (JobState::Queued, "received")
    );
    let trail = store.trail("acme", "3").await.expect("trail");
    assert!(trail.iter().any(|e| e.step == "replay"), "{trail:?}");
}

#[tokio::test]
async fn a_post_through_a_version_the_tenant_does_not_serve_is_refused_before_anything_moves() {
    let (ctx, store, _dir) = fixture(false).await;
    let err = replay(&ctx, "acme", &request(&fixed(), &["T3"], true))
        .await
        .expect_err("not served");
    assert!(
        matches!(&err, ServiceError::Input(m) if m.contains(MAPPING_SETTING)),
        "{err}"
    );
    assert_eq!(state(&store, "3").await, JobState::Held);
    // Only ordered runs selected: nothing to re-post, so nothing to refuse.
    let skipped = replay(&ctx, "acme", &request(&fixed(), &["T1"], true))
        .await
        .expect("skipped");
    assert_eq!((skipped.skipped, skipped.requeued), (1, 0));
}

/// A mapping saved as a version (console or admin API) is what the tenant serves: posting
/// through it is allowed, and through the configured setting's text no longer is.
#[tokio::test]
async fn a_saved_mapping_version_counts_as_served_and_the_setting_it_replaced_does_not() {
    let (ctx, store, _dir) = fixture(false).await;
    crate::services::mappings_versions::save(store.as_ref(), "acme", KIND, &fixed(), "t")
        .await
        .expect("saved");
    let report = replay(&ctx, "acme", &request(&fixed(), &["T3"], true))
        .await
        .expect("served by the saved version");
    assert_eq!(report.requeued, 1);

    let (ctx, store, _dir) = fixture(true).await;
    crate::services::mappings_versions::save(
        store.as_ref(),
        "acme",
        KIND,
        "kind = \"quote-to-order\"\n",
        "t",
    )
    .await
    .expect("saved");
    let err = replay(&ctx, "acme", &request(&fixed(), &["T3"], true))
        .await
        .expect_err("the setting no longer serves");
    assert!(matches!(err, ServiceError::Input(_)), "{err}");
    assert_eq!(state(&store, "3").await, JobState::Held);
}

#[tokio::test]
async fn bad_selections_and_versions_are_refused_by_name() {
    let (ctx, _store, _dir) = fixture(false).await;
    let refused = |r: Result<Report, ServiceError>, what: &str| match r {
        Err(ServiceError::Input(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("{what}: {other:?}"),
    };
    refused(
        replay(&ctx, "acme", &request(&fixed(), &["T99"], false)).await,
        "'T99'",
    );
    refused(
        replay(&ctx, "acme", &request("not a mapping", &[], false)).await,
        "not a valid mapping",
    );
    let customer = crate::mapping::engine::default_text("quote-to-customer").expect("shipped");
    refused(
        replay(&ctx, "acme", &request(customer, &[], false)).await,
        "quote-to-customer",
    );
    let mut other_flow = request(&fixed(), &[], false);
    other_flow.query.flow = Some("order-status".into());
    refused(replay(&ctx, "acme", &other_flow).await, "order-status");
    let mut plugin = request("", &[], false);
    plugin.version = Version::Plugin("0123abcd".into());
    refused(
        replay(&ctx, "acme", &plugin).await,
        "no transform component 0123abcd",
    );
    assert!(matches!(
        replay(&ctx, "nope", &request(&fixed(), &[], false)).await,
        Err(ServiceError::UnknownTenant { .. })
    ));
}
