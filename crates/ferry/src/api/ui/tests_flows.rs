//! The Health screen's pause, resume and run-now (the fixture of `tests.rs`).

use axum::http::StatusCode;

use super::tests::{fixture, send, sign_in};
use ferry_store::Controls;

#[tokio::test]
async fn health_pauses_and_resumes_a_flow_and_runs_one_now_with_the_sessions_token() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let page = send(&f.app, "GET", "/ui/health", Some(&b.cookie), None).await;
    assert!(
        page.body
            .contains("/ui/tenants/acme/flows/quote-to-order/pause"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("/ui/tenants/acme/flows/catalog-sync/run")
    );

    // Every flow the health screen shows can be picked on the runs screen too.
    let runs = send(&f.app, "GET", "/ui/runs", Some(&b.cookie), None).await;
    for flow in ["price-sync", "stock-sync", "customer-sync", "any"] {
        assert!(
            runs.body.contains(&format!(r#"option value="{flow}""#)),
            "{flow}: {}",
            runs.body
        );
    }

    let csrf = format!("csrf={}", b.csrf);
    // Without the CSRF token: refused, nothing paused.
    let refused = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/flows/quote-to-order/pause",
        Some(&b.cookie),
        Some("csrf=wrong"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(f.store.pauses(None).await.expect("pauses").is_empty());

    let done = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/flows/quote-to-order/pause",
        Some(&b.cookie),
        Some(&csrf),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.location().contains("done=paused"));
    let pauses = f.store.pauses(Some("acme")).await.expect("pauses");
    assert_eq!(pauses[0].paused_by.as_deref(), Some(f.acme_id.as_str()));
    let page = send(
        &f.app,
        "GET",
        "/ui/health?tenant=acme",
        Some(&b.cookie),
        None,
    )
    .await;
    assert!(page.body.contains(">paused<"), "{}", page.body);
    assert!(
        page.body
            .contains("/ui/tenants/acme/flows/quote-to-order/resume")
    );

    // Another tenant's flow: 404, nothing paused there.
    let foreign = send(
        &f.app,
        "POST",
        "/ui/tenants/globex/flows/quote-to-order/pause",
        Some(&b.cookie),
        Some(&csrf),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(
        f.store
            .pauses(Some("globex"))
            .await
            .expect("pauses")
            .is_empty()
    );

    let resumed = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/flows/quote-to-order/resume",
        Some(&b.cookie),
        Some(&csrf),
    )
    .await;
    assert!(resumed.location().contains("done=resumed"));
    assert!(f.store.pauses(None).await.expect("pauses").is_empty());

    let ran = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/flows/catalog-sync/run",
        Some(&b.cookie),
        Some(&csrf),
    )
    .await;
    assert!(
        ran.location().contains("done=ran-now"),
        "{}",
        ran.location()
    );

    // Signed out: the sign-in page (401), never the action.
    let anonymous = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/flows/quote-to-order/pause",
        None,
        Some(&csrf),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
