//! Pause, resume and run-now over the admin API (the fixture of `tests.rs`; the 401 and
//! cross-tenant 404 cases are in its route list).

use axum::http::StatusCode;
use serde_json::json;

use super::tests::{call, fixture};
use crate::flows::now_ms;
use ferry_store::{Audit, Jobs, NewJob};

#[tokio::test]
async fn a_paused_flow_waits_shows_on_health_and_resumes_and_each_change_is_audited() {
    let f = fixture().await;
    let job = NewJob {
        tenant: "acme",
        kind: "quote-to-order",
        key: "4",
        checkpoint: json!({"quote_id": "4"}),
    };
    f.store.enqueue(job, 0).await.expect("enqueue");
    let pause = "/api/v1/tenants/acme/flows/quote-to-order/pause";
    let (status, state) = call(&f.app, "POST", pause, Some(&f.acme), None).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(
        (state["paused"].as_bool(), state["changed"].as_bool()),
        (Some(true), Some(true))
    );
    // Paused: no worker takes the queued run.
    assert!(
        f.store
            .claim("w", 5, 1_000, now_ms())
            .await
            .expect("claim")
            .is_empty()
    );
    let (_, again) = call(&f.app, "POST", pause, Some(&f.acme), None).await;
    assert_eq!(again["changed"], json!(false));
    assert_eq!(again["paused_at"], state["paused_at"]);

    let (_, health) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/health",
        Some(&f.acme),
        None,
    )
    .await;
    let flow = |name: &str| {
        health["flows"]
            .as_array()
            .and_then(|fs| fs.iter().find(|x| x["flow"] == name).cloned())
            .expect("flow listed")
    };
    assert!(flow("quote-to-order")["paused_at"].is_string(), "{health}");
    assert!(flow("catalog-sync")["paused_at"].is_null());

    let (status, resumed) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/flows/quote-to-order/resume",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (resumed["paused"].as_bool(), resumed["changed"].as_bool()),
        (Some(false), Some(true))
    );
    let claims = f.store.claim("w", 5, 1_000, now_ms()).await.expect("claim");
    assert_eq!(claims[0].job.key, "4");

    let trail = f
        .store
        .trail("acme", "quote-to-order")
        .await
        .expect("trail");
    let actions: Vec<&str> = trail
        .iter()
        .filter_map(|e| e.data["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["flow.pause", "flow.resume"],
        "one entry per change"
    );
}

#[tokio::test]
async fn run_now_queues_a_catalog_sync_at_once_and_an_unknown_flow_is_400() {
    let f = fixture().await;
    let (status, ran) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/flows/catalog-sync/run",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ran}");
    assert_eq!(
        (ran["queued"].as_u64(), ran["paused"].as_bool()),
        (Some(1), Some(false))
    );
    let job = f
        .store
        .job("acme", "catalog-sync", "catalog")
        .await
        .expect("job")
        .expect("queued");
    assert_eq!(job.state, ferry_store::JobState::Queued);
    // Queued already: a second run-now adds nothing.
    let (_, twice) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/flows/catalog-sync/run",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(twice["queued"].as_u64(), Some(0));
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/flows/nope/pause",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
