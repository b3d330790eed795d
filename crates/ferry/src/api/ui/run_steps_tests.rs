//! The run page's Steps: attempts, time, the plugin of each call and the M3 requests, with no
//! secret anywhere in the HTML.

use axum::http::StatusCode;

use super::super::tests::{fixture, send, sign_in};
use crate::services::run_query::detail::seed;

#[tokio::test]
async fn the_run_page_shows_each_steps_attempts_plugin_and_m3_requests_without_secrets() {
    let f = fixture().await;
    let secret = "hunter2-s3cr3t";
    seed::step(
        &*f.store,
        ("acme", "3"),
        "head",
        (1, true),
        "AddBatchHead",
        secret,
    )
    .await;
    seed::step(
        &*f.store,
        ("acme", "3"),
        "head",
        (2, false),
        "AddBatchHead",
        secret,
    )
    .await;
    let b = sign_in(&f.app, &f.acme).await;
    let page = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/Q3",
        Some(&b.cookie),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains(secret),
        "a secret leaked: {}",
        page.body
    );
    let steps = page
        .body
        .split("<h2>Steps</h2>")
        .nth(1)
        .expect("a Steps section");
    assert!(steps.contains("<strong>head</strong>"), "{steps}");
    assert!(steps.contains("2 (1 failed)"), "{steps}");
    assert!(steps.contains("30 ms"), "{steps}");
    assert!(steps.contains("0123456789ab") && steps.contains("contract 1.3.0"));
    assert!(steps.contains("GET m3api-rest/v2/execute/OIS100MI/AddBatchHead?CUNO=C1"));
    assert!(steps.contains("X-Api-Key: ***"), "{steps}");
    // A run without recorded calls says so.
    let bare = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/Q2",
        Some(&b.cookie),
        None,
    )
    .await;
    assert!(bare.body.contains("No plugin calls recorded for this run."));
}
