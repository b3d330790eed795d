//! The health answer's connections: each configured one, unchecked until the server's
//! checker has tried it, then ok or failed with the reason, and never a secret.

use std::sync::Arc;

use axum::http::StatusCode;

use super::super::tests::call;
use super::super::{AdminState, router};
use crate::services::Context;
use crate::services::connections::{self, fixture};
use crate::services::tokens::{self, Scope};
use ferry_store::{MemoryStore, Store};

#[tokio::test]
async fn health_says_which_connection_answers_and_which_does_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ctx = Arc::new(
        Context::from_config(fixture::config(dir.path()), dir.path()).with_store(store.clone()),
    );
    let acme = tokens::create_in(&*store, &Scope::Tenant("acme".into()), None)
        .await
        .expect("token")
        .secret;
    let app = router(AdminState {
        ctx: ctx.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    });

    let (status, before) = call(
        &app,
        "GET",
        "/api/v1/tenants/acme/health",
        Some(&acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let names: Vec<_> = before["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| (c["name"].as_str().unwrap_or(""), c["ok"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("m3", serde_json::Value::Null),
            ("quotewerks", serde_json::Value::Null)
        ],
        "listed, not checked yet"
    );

    connections::Checker::default().check_all(&ctx).await;
    let (status, after) = call(
        &app,
        "GET",
        "/api/v1/tenants/acme/health",
        Some(&acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let conns = after["connections"].as_array().expect("connections");
    let m3 = &conns[0];
    assert_eq!(m3["name"], "m3");
    assert_eq!(m3["kind"], "http (OAuth grant)");
    assert_eq!(m3["ok"], false, "{m3}");
    assert!(
        m3["detail"]
            .as_str()
            .unwrap_or("")
            .contains("OAuth grant failed"),
        "{m3}"
    );
    assert!(m3["checked_at"].is_string());
    let qw = &conns[1];
    assert_eq!(qw["name"], "quotewerks");
    assert_eq!(qw["kind"], "sqlite");
    assert_eq!(qw["ok"], true, "{qw}");
    assert_eq!(qw["detail"], "SELECT 1 ok");
    assert!(qw["checked_at"].is_string());
    let text = after.to_string();
    for secret in fixture::SECRETS {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
}

#[tokio::test]
async fn health_gives_runs_per_minute_per_flow_over_5_15_and_60_minutes() {
    // acme: quote 1 dead, 2 held, 3 done, all just now; nothing else ran.
    let f = super::super::tests::fixture().await;
    let (status, health) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/health",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let rate = |flow: &str| {
        health["flows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["flow"] == flow)
            .map(|h| h["runs_per_minute"].clone())
            .unwrap_or_default()
    };
    // Two ended (the held one has not): 2/5, 2/15, 2/60 a minute.
    assert_eq!(
        rate("quote-to-order"),
        serde_json::json!({"last_5m": 0.4, "last_15m": 0.13, "last_60m": 0.03})
    );
    assert_eq!(
        rate("catalog-sync"),
        serde_json::json!({"last_5m": 0.0, "last_15m": 0.0, "last_60m": 0.0})
    );
}
