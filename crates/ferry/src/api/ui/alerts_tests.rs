//! The Alerts screen: each rule FIRING or clear with its settings, summary and examples, what
//! each channel was last sent, a tenant without alerts told how to configure them, the screen
//! in every page's navigation, and only the tenants the session's token may see.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use serde_json::json;

use super::super::tests::{send, sign_in};
use super::super::{UiState, router};
use crate::api::admin::AdminState;
use crate::services::Context;
use crate::services::alerts::fixture;
use crate::services::tokens::{self, Scope};

struct Setup {
    app: Router,
    // Kept for the test's length: the config and data dir live in it.
    _dir: tempfile::TempDir,
    store: Arc<dyn ferry_store::Store>,
    admin: String,
    acme: String,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let store = fixture::store().await;
    let ctx =
        Context::from_config(fixture::config(dir.path()), dir.path()).with_store(store.clone());
    let admin = tokens::create_in(&*store, &Scope::Admin, Some("ops"))
        .await
        .expect("admin")
        .secret;
    let acme = tokens::create_in(&*store, &Scope::Tenant("acme".into()), None)
        .await
        .expect("acme")
        .secret;
    let app = router(UiState::new(AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    }));
    Setup {
        app,
        _dir: dir,
        store,
        admin,
        acme,
    }
}

/// The table row of rule `name` (its cells up to the row's end).
fn row<'a>(body: &'a str, name: &str) -> &'a str {
    body.split("<tr>")
        .find(|r| r.starts_with(&format!("<td>{name}")))
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row for {name}: {body}"))
}

#[tokio::test]
async fn the_alerts_screen_shows_each_rule_firing_or_clear_and_what_each_channel_was_sent() {
    let s = setup().await;
    fixture::sent(&*s.store, &json!({"dead": {"webhook": true}})).await;
    let b = sign_in(&s.app, &s.admin).await;
    let page = send(&s.app, "GET", "/ui/alerts", Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("<h1>Alerts</h1>"), "{body}");
    assert!(body.contains("Last sent: webhook") && body.contains("Last sent: email"));

    let dead = row(body, "dead");
    assert!(
        dead.contains(r#"<span class="status status-dead">FIRING</span>"#),
        "{dead}"
    );
    assert!(dead.contains("dead-letters"), "{dead}");
    assert!(dead.contains("<code>above = 0</code>"), "{dead}");
    assert!(
        dead.contains("1 dead letter open (fires above 0)"),
        "{dead}"
    );
    assert!(
        dead.contains("<li>quote-to-order 17: M3 refused the order</li>"),
        "{dead}"
    );
    // The webhook was sent it FIRING, the e-mail not yet.
    let channels: Vec<&str> = dead.split("<td>").skip(5).collect();
    assert_eq!(channels.len(), 2, "{dead}");
    assert!(channels[0].contains(">FIRING<"), "{}", channels[0]);
    assert!(channels[1].contains(">not firing<"), "{}", channels[1]);

    let hold = row(body, "hold-age");
    assert!(
        hold.contains(r#"<span class="status status-done">clear</span>"#),
        "{hold}"
    );
    assert!(hold.contains("<code>older_than = 2h</code>"), "{hold}");
    assert!(
        hold.contains("no job held longer than 2h (1 held)"),
        "{hold}"
    );
    assert!(!hold.contains("FIRING"), "{hold}");

    // globex has no rules: the page says where they go.
    let globex = body
        .split("<h2>globex</h2>")
        .nth(1)
        .expect("globex's section");
    assert!(globex.contains("Alerts not configured"), "{globex}");
    assert!(
        globex.contains("<code>[tenants.globex.alerts]</code>"),
        "{globex}"
    );
}

#[tokio::test]
async fn the_alerts_screen_is_in_the_navigation_and_shows_only_the_tokens_tenants() {
    let s = setup().await;
    let b = sign_in(&s.app, &s.acme).await;
    for screen in ["/ui/runs", "/ui/health", "/ui/alerts"] {
        let page = send(&s.app, "GET", screen, Some(&b.cookie), None).await;
        assert_eq!(page.status, StatusCode::OK, "{screen}: {}", page.body);
        assert!(
            page.body.contains(r#"href="/ui/alerts""#),
            "{screen}: {}",
            page.body
        );
    }
    let page = send(&s.app, "GET", "/ui/alerts", Some(&b.cookie), None).await;
    assert!(
        page.body
            .contains(r#"<a href="/ui/alerts" class="here">Alerts</a>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("<h2>acme</h2>"), "{}", page.body);
    assert!(!page.body.contains("<h2>globex</h2>"), "{}", page.body);

    let foreign = send(
        &s.app,
        "GET",
        "/ui/alerts?tenant=globex",
        Some(&b.cookie),
        None,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    let signed_out = send(&s.app, "GET", "/ui/alerts", None, None).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED);
    assert!(!signed_out.body.contains("dead letter open"));
}
