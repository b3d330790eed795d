//! The alerts answer: each configured rule evaluated against the store now (a dead letter
//! makes the dead-letters rule hold, a fresh hold leaves the hold-age rule clear), what each
//! channel was last sent read from the server's sent-state (in the store), a tenant without rules said
//! so, and the tenant check every route has.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::tests::call;
use super::super::{AdminState, router};
use crate::services::Context;
use crate::services::alerts::fixture;
use crate::services::tokens::{self, Scope};

struct Fixture {
    app: Router,
    // Kept for the test's length: the config and data dir live in it.
    _dir: tempfile::TempDir,
    store: Arc<dyn ferry_store::Store>,
    admin: String,
    acme: String,
}

/// The fixture's tenants and store; an admin token and one for acme.
async fn setup() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let store = fixture::store().await;
    let ctx =
        Context::from_config(fixture::config(dir.path()), dir.path()).with_store(store.clone());
    let admin = tokens::create_in(&*store, &Scope::Admin, None)
        .await
        .expect("admin")
        .secret;
    let acme = tokens::create_in(&*store, &Scope::Tenant("acme".into()), None)
        .await
        .expect("acme")
        .secret;
    let app = router(AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    });
    Fixture {
        app,
        _dir: dir,
        store,
        admin,
        acme,
    }
}

fn rule<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no rule {name}: {answer}"))
}

#[tokio::test]
async fn each_rule_reads_holding_or_clear_with_what_each_channel_was_last_sent() {
    let f = setup().await;
    let (status, before) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/alerts",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(before["configured"], true);
    assert_eq!(before["every_secs"], 60);
    assert_eq!(
        before["channels"],
        json!([
            {"id": "webhook", "target": "URL from { env = \"ACME_ALERT_WEBHOOK\" }"},
            {"id": "email", "target": "ops@acme.example via 127.0.0.1:2525"},
        ])
    );
    let dead = rule(&before, "dead");
    assert_eq!(dead["kind"], "dead-letters");
    assert_eq!(dead["settings"], "above = 0");
    assert_eq!(dead["holds"], true);
    assert_eq!(dead["summary"], "1 dead letter open (fires above 0)");
    assert_eq!(
        dead["examples"],
        json!(["quote-to-order 17: M3 refused the order"])
    );
    let hold = rule(&before, "hold-age");
    assert_eq!(hold["settings"], "older_than = 2h");
    assert_eq!(hold["holds"], false);
    assert_eq!(hold["summary"], "no job held longer than 2h (1 held)");
    assert_eq!(hold["examples"], json!([]));
    // No sent-state yet: nothing was sent on any channel.
    let unsent = json!([
        {"channel": "webhook", "firing": false},
        {"channel": "email", "firing": false},
    ]);
    assert_eq!(dead["channels"], unsent);
    assert_eq!(hold["channels"], unsent);

    // The server sent the webhook (not yet the e-mail) the dead-letters alert.
    fixture::sent(&*f.store, &json!({"dead": {"webhook": true}})).await;
    let (status, after) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/alerts",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(
        rule(&after, "dead")["channels"],
        json!([
            {"channel": "webhook", "firing": true},
            {"channel": "email", "firing": false},
        ])
    );
    assert_eq!(rule(&after, "hold-age")["channels"], unsent);
}

#[tokio::test]
async fn a_tenant_without_rules_is_said_not_configured() {
    let f = setup().await;
    let (status, globex) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/globex/alerts",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{globex}");
    assert_eq!(globex["configured"], false);
    assert_eq!(globex["rules"], json!([]));
    assert_eq!(globex["channels"], json!([]));
}

#[tokio::test]
async fn alerts_are_401_without_a_token_and_404_for_another_tenants_token() {
    let f = setup().await;
    for token in [None, Some("ferry_0000")] {
        let (status, answer) =
            call(&f.app, "GET", "/api/v1/tenants/acme/alerts", token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {answer}");
        assert!(answer.get("rules").is_none(), "{answer}");
    }
    let (status, answer) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/globex/alerts",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/nope/alerts",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
