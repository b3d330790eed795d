//! Suggested fixes over a memory store and a fake ERP: the closest item or customer is
//! proposed for what a held quote is waiting on; accepting records the cross-reference the
//! flow reads, audits who chose it and queues the run again, once.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;

use super::*;
use crate::config::FerryConfig;
use ferry_domain::{Field, Line};
use ferry_store::{Audit, Jobs, Links, MemoryStore, NewJob, Outcome};

/// An ERP selling three items that knows two customers; it refuses every order line whose
/// ITNO it does not sell.
pub(crate) struct FakeErp;

fn items() -> Vec<CatalogItem> {
    [
        ("BRG10012", "Deep groove ball bearing 6204"),
        ("BRG10013", "Tapered roller bearing 30205"),
        ("HYD10014", "Hydraulic hose 1/2in"),
    ]
    .into_iter()
    .map(|(itno, d)| CatalogItem {
        itno: itno.into(),
        description: d.into(),
    })
    .collect()
}

#[async_trait]
impl Lookup for FakeErp {
    async fn refused(&self, order: &Document) -> Result<Vec<FieldError>, FixError> {
        let known: Vec<String> = items().into_iter().map(|i| i.itno).collect();
        Ok(order
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let itno = ferry_domain::document::get(&l.fields, "ITNO")?.as_text()?;
                (!known.iter().any(|k| k == itno)).then(|| FieldError {
                    field: "ITNO".into(),
                    line: Some(i as u32),
                    message: format!("item {itno} does not exist in M3"),
                })
            })
            .collect())
    }

    async fn catalog(&self) -> Result<Vec<CatalogItem>, FixError> {
        Ok(items())
    }

    async fn quoted_customer(&self, _: &str, quote: &Document) -> Result<Party, FixError> {
        Ok(Party {
            id: "QW-7".into(),
            name: text(&quote.fields, "SoldToCompany").unwrap_or_default(),
            email: text(&quote.fields, "SoldToEmail"),
            ..Party::default()
        })
    }

    async fn customers(&self, _: &Party) -> Result<Vec<Party>, FixError> {
        Ok(vec![
            Party {
                id: "1000001".into(),
                name: "Riverside Industrial Supply Inc".into(),
                email: Some("orders@riverside.example".into()),
                ..Party::default()
            },
            Party {
                id: "1000002".into(),
                name: "Oakmont Fabrication".into(),
                ..Party::default()
            },
        ])
    }
}

pub(crate) struct Fake;

#[async_trait]
impl Lookups for Fake {
    async fn open(&self, _: &Context, _: &str) -> Result<Box<dyn Lookup>, FixError> {
        Ok(Box::new(FakeErp))
    }
}

fn text_field(name: &str, value: &str) -> Field {
    Field::new(name, Value::Text(value.into()))
}

/// acme's quote 7 (Q7), held after `step` with `checkpoint`.
pub(crate) async fn held(step: &str, checkpoint: serde_json::Value) -> (Context, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    store
        .enqueue(
            NewJob {
                tenant: "acme",
                kind: KIND,
                key: "7",
                checkpoint: checkpoint.clone(),
            },
            0,
        )
        .await
        .expect("enqueue");
    let claim = store
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .remove(0);
    store
        .commit_step(&claim, step, &checkpoint, step, None)
        .await
        .expect("step");
    let reason = "the ERP would refuse this order".to_string();
    store
        .finish(&claim, Outcome::Hold { reason }, 0)
        .await
        .expect("hold");
    let dir = tempfile::tempdir().expect("tmp").keep();
    let config = FerryConfig::parse("[tenants.acme]\n[tenants.globex]\n", &dir).expect("config");
    let shared: Arc<dyn Store> = store.clone();
    (Context::from_config(config, &dir).with_store(shared), store)
}

/// Held at `mapped`: its order's line 2 has part number BRG1OO12 (O for 0).
pub(crate) async fn item_hold() -> (Context, Arc<MemoryStore>) {
    let line = |itno: &str| Line {
        fields: vec![text_field("ITNO", itno), text_field("ORQT", "2")],
    };
    let order = Document {
        kind: "order".into(),
        id: Some("Q7".into()),
        fields: vec![],
        lines: vec![line("HYD10014"), line("BRG1OO12")],
    };
    let quote = Document {
        kind: "quote".into(),
        id: Some("7".into()),
        fields: vec![text_field("DocNo", "Q7")],
        lines: vec![Line {
            fields: vec![
                text_field("ItemNumber", "BRG1OO12"),
                text_field("Description", "ball bearing 6204"),
            ],
        }],
    };
    held(
        "mapped",
        json!({"quote_id": "7", "quote": quote, "order": order, "reference": "Q7"}),
    )
    .await
}

fn accept_item(to: &str) -> Accept {
    Accept {
        kind: ITEM.into(),
        from: "BRG1OO12".into(),
        to: to.into(),
    }
}

#[tokio::test]
async fn an_unknown_part_number_gets_the_closest_item_first_with_why() {
    let (ctx, _) = item_hold().await;
    let fixes = suggest(&ctx, &Fake, "acme", "Q7").await.expect("fixes");
    assert_eq!(fixes.quote_id, "7");
    assert_eq!(fixes.problems.len(), 1, "{fixes:?}");
    let p = &fixes.problems[0];
    assert_eq!((p.kind.as_str(), p.from.as_str()), (ITEM, "BRG1OO12"));
    assert_eq!(p.line, Some(1));
    assert_eq!(p.description.as_deref(), Some("ball bearing 6204"));
    assert_eq!(p.suggestions[0].id, "BRG10012", "{:?}", p.suggestions);
    assert!(
        p.suggestions[0]
            .why
            .iter()
            .any(|w| w.contains("look-alike"))
    );
}

#[tokio::test]
async fn accepting_an_item_records_the_substitute_audits_and_releases_once() {
    let (ctx, store) = item_hold().await;
    let by = Actor {
        token: "t1",
        via: "admin API",
        step: "admin-api",
    };
    let done = accept(&ctx, &Fake, "acme", "Q7", &accept_item("BRG10012"), by)
        .await
        .expect("accept");
    assert!(done.released);
    assert_eq!(done.status, "queued");
    assert_eq!(done.cross_reference_id, "ITNO=BRG1OO12");
    let link = store
        .link("acme", SUBSTITUTE_KIND, "ITNO=BRG1OO12")
        .await
        .expect("link")
        .expect("recorded");
    assert_eq!(link.remote_id, "BRG10012");
    let fixes_audited = || async {
        store
            .trail("acme", "7")
            .await
            .expect("trail")
            .into_iter()
            .filter(|e| e.data["action"] == "hold.fix")
            .collect::<Vec<_>>()
    };
    let audited = fixes_audited().await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].data["token"], "t1");
    assert_eq!(audited[0].step, "admin-api");
    // The same accept again (a double click): answered, nothing changed, not audited twice.
    let again = accept(&ctx, &Fake, "acme", "7", &accept_item("BRG10012"), by)
        .await
        .expect("again");
    assert!(!again.released);
    assert_eq!(fixes_audited().await.len(), 1);
    // Another choice once the run went on is a conflict.
    let other = accept(&ctx, &Fake, "acme", "7", &accept_item("BRG10013"), by).await;
    assert!(
        matches!(
            other,
            Err(FixError::Service(ServiceError::QuoteNotHeld { .. }))
        ),
        "{other:?}"
    );
}

#[tokio::test]
async fn a_choice_that_is_not_a_suggestion_for_this_hold_is_refused_and_nothing_recorded() {
    let (ctx, store) = item_hold().await;
    let by = Actor {
        token: "t1",
        via: "admin API",
        step: "admin-api",
    };
    let not_suggested = accept(&ctx, &Fake, "acme", "7", &accept_item("NOPE1"), by).await;
    assert!(matches!(not_suggested, Err(FixError::NotForThisHold(_))));
    let mut other_value = accept_item("BRG10012");
    other_value.from = "HYD10014".into();
    let not_refused = accept(&ctx, &Fake, "acme", "7", &other_value, by).await;
    assert!(matches!(not_refused, Err(FixError::NotForThisHold(_))));
    let link = store.link("acme", SUBSTITUTE_KIND, "ITNO=BRG1OO12").await;
    assert!(link.expect("read").is_none());
    let job = store
        .job("acme", KIND, "7")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(job.state, JobState::Held);
}

#[tokio::test]
async fn an_unmatched_customer_gets_candidates_and_accepting_links_the_customer_key() {
    let quote = Document {
        kind: "quote".into(),
        id: Some("7".into()),
        fields: vec![
            text_field("DocNo", "Q7"),
            text_field("SoldToCompany", "Riverside Industrial Supply, Inc."),
            text_field("SoldToEmail", "jane@riverside.example"),
        ],
        lines: vec![],
    };
    let (ctx, store) = held("fetched", json!({"quote_id": "7", "quote": quote})).await;
    let fixes = suggest(&ctx, &Fake, "acme", "Q7").await.expect("fixes");
    let p = &fixes.problems[0];
    assert_eq!((p.kind.as_str(), p.from.as_str()), (CUSTOMER, "QW-7"));
    assert_eq!(p.suggestions[0].id, "1000001", "{:?}", p.suggestions);
    assert!(p.suggestions[0].why.iter().any(|w| w.contains("domain")));
    let chosen = Accept {
        kind: CUSTOMER.into(),
        from: "QW-7".into(),
        to: "1000001".into(),
    };
    let done = accept(
        &ctx,
        &Fake,
        "acme",
        "Q7",
        &chosen,
        Actor {
            token: "t2",
            via: "console",
            step: "console",
        },
    )
    .await
    .expect("accept");
    assert!(done.released);
    let link = store.link("acme", "customer", "QW-7").await.expect("link");
    assert_eq!(link.map(|l| l.remote_id).as_deref(), Some("1000001"));
}

#[tokio::test]
async fn another_tenants_quote_is_not_found() {
    let (ctx, _) = item_hold().await;
    let found = suggest(&ctx, &Fake, "globex", "Q7").await;
    assert!(
        matches!(found, Err(FixError::Service(ServiceError::NoQuote { .. }))),
        "{found:?}"
    );
}
