//! The Health screen's connection rows: name, kind, ok or failed with the reason, checked at.

use std::sync::Arc;

use axum::http::StatusCode;

use super::super::tests::{send, sign_in};
use super::super::{UiState, router};
use crate::api::admin::AdminState;
use crate::services::Context;
use crate::services::connections::{self, fixture};
use crate::services::tokens::{self, Scope};
use ferry_store::{MemoryStore, Store};

#[tokio::test]
async fn the_health_screen_shows_each_connection_ok_or_failed_with_why() {
    let dir = tempfile::tempdir().expect("tmp");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ctx = Arc::new(
        Context::from_config(fixture::config(dir.path()), dir.path()).with_store(store.clone()),
    );
    let admin = tokens::create_in(&*store, &Scope::Admin, Some("ops"))
        .await
        .expect("token")
        .secret;
    let app = router(UiState::new(AdminState {
        ctx: ctx.clone(),
        wake: Arc::new(tokio::sync::Notify::new()),
    }));
    let browser = sign_in(&app, &admin).await;

    let page = send(
        &app,
        "GET",
        "/ui/health?tenant=acme",
        Some(&browser.cookie),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("not checked yet"), "{}", page.body);

    connections::Checker::default().check_all(&ctx).await;
    let page = send(
        &app,
        "GET",
        "/ui/health?tenant=acme",
        Some(&browser.cookie),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows: Vec<&str> = page.body.split("<tr>").collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.starts_with(&format!("<td>{name}</td>")))
            .copied()
            .unwrap_or_else(|| panic!("no row for {name}: {}", page.body))
    };
    let m3 = row("m3");
    assert!(m3.contains("http (OAuth grant)"), "{m3}");
    assert!(
        m3.contains(">failed<") && m3.contains("OAuth grant failed"),
        "{m3}"
    );
    let qw = row("quotewerks");
    assert!(qw.contains("<td>sqlite</td>"), "{qw}");
    assert!(qw.contains(">ok<") && qw.contains("SELECT 1 ok"), "{qw}");
    assert!(!page.body.contains("not checked yet"), "{}", page.body);
    for secret in fixture::SECRETS {
        assert!(!page.body.contains(secret), "{secret} shown");
    }
}

#[tokio::test]
async fn the_health_screen_shows_runs_per_minute_per_flow() {
    // acme: quote 1 dead, 2 held, 3 done, all just now: two ended.
    let f = super::super::tests::fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let page = send(&f.app, "GET", "/ui/health", Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Runs/min (5 · 15 · 60 min)"),
        "{}",
        page.body
    );
    let row = page
        .body
        .split("<td>quote-to-order</td>")
        .nth(1)
        .expect("a quote-to-order row");
    assert!(
        row.starts_with(r#"<td class="rate">0.4 · 0.13 · 0.03</td>"#),
        "{row}"
    );
}
