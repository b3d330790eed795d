//! The operator's error routes (resolve, resolved, retry all matching), with the fixture of
//! `tests.rs`: acme's quote 1 dead, quote 2 held, quote 3 done; globex's quote 9 dead.

use axum::http::StatusCode;

use super::tests::{call, fixture};
use crate::flows::quote_to_order::KIND;
use ferry_store::{Audit, JobState, Jobs};

#[tokio::test]
async fn a_resolved_hold_and_dead_letter_end_done_without_running_and_are_listed_resolved() {
    let f = fixture().await;
    let (status, run) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/holds/Q2/resolve",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(run["status"], "done");
    assert!(run["resolved_at"].is_string());
    let job = f
        .store
        .job("acme", KIND, "2")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.hold_reason.as_deref(), Some("unknown customer"));

    let letter = f.store.dead_letters(Some("acme")).await.expect("letters")[0].id;
    let path = format!("/api/v1/tenants/acme/dead-letters/{letter}/resolve");
    let (status, answer) = call(&f.app, "POST", &path, Some(&f.acme), None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["dead_letter"], letter);
    let stored = f
        .store
        .dead_letter(letter)
        .await
        .expect("read")
        .expect("there");
    assert!(stored.resolved_at.is_some());
    assert_eq!(stored.replayed_at, None);
    // Resolved: neither resolved again nor retried.
    assert_eq!(
        call(&f.app, "POST", &path, Some(&f.acme), None).await.0,
        StatusCode::CONFLICT
    );
    let retry = format!("/api/v1/tenants/acme/dead-letters/{letter}/retry");
    assert_eq!(
        call(&f.app, "POST", &retry, Some(&f.acme), None).await.0,
        StatusCode::CONFLICT
    );
    // A run that is not held: 409; a letter id that is no number: 400.
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/holds/Q3/resolve",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/dead-letters/x1/resolve",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, resolved) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/resolved",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&str> = resolved
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["quote_id"].as_str())
        .collect();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["1", "2"], "{resolved}");
    // Each resolution is audited with the token's id.
    for key in ["1", "2"] {
        let trail = f.store.trail("acme", key).await.expect("trail");
        assert!(
            trail
                .iter()
                .any(|e| e.message.contains("resolve") && e.message.contains("by token tok_")),
            "{key}: {trail:?}"
        );
    }
}

#[tokio::test]
async fn retry_all_retries_the_open_dead_letters_a_filter_matches_and_says_how_many() {
    let f = fixture().await;
    let path = "/api/v1/tenants/acme/dead-letters/retry";
    // A filter that matches nothing retries nothing.
    let (status, answer) = call(
        &f.app,
        "POST",
        path,
        Some(&f.acme),
        Some(r#"{"error_contains":"timeout"}"#),
    )
    .await;
    assert_eq!(
        (status, answer["retried"].as_u64()),
        (StatusCode::OK, Some(0)),
        "{answer}"
    );
    // Bad input: 400.
    for body in [
        r#"{"flow":"nope"}"#,
        &format!(r#"{{"error_contains":"{}"}}"#, "x".repeat(201)),
    ] {
        let (status, answer) = call(&f.app, "POST", path, Some(&f.acme), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    let body = r#"{"flow":"quote-to-order","error_contains":"NO SUCH ITEM"}"#;
    let (status, answer) = call(&f.app, "POST", path, Some(&f.acme), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["retried"], 1);
    let job = f
        .store
        .job("acme", KIND, "1")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(job.state, JobState::Queued);
    assert!(
        f.store.dead_letters(Some("acme")).await.expect("letters")[0]
            .replayed_at
            .is_some()
    );
    // globex's dead letter is untouched, even by the admin token's acme call.
    let (_, again) = call(&f.app, "POST", path, Some(&f.admin), Some("{}")).await;
    assert_eq!(again["retried"], 0, "{again}");
    assert!(
        f.store.dead_letters(Some("globex")).await.expect("letters")[0]
            .replayed_at
            .is_none()
    );
    let trail = f.store.trail("acme", "1").await.expect("trail");
    assert!(
        trail
            .iter()
            .any(|e| e.message.starts_with("dead-letter.retry")),
        "{trail:?}"
    );
}

#[tokio::test]
async fn health_counts_per_flow_what_finished_in_the_hour_and_what_waits_now() {
    let f = fixture().await;
    let (status, health) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/health",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["window_secs"], 3600);
    let flows = health["flows"].as_array().expect("flows");
    let names: Vec<&str> = flows.iter().filter_map(|f| f["flow"].as_str()).collect();
    assert_eq!(
        names,
        [
            "catalog-sync",
            "customer-sync",
            "order-status",
            "price-sync",
            "quote-to-order",
            "stock-sync"
        ]
    );
    let q = &flows[4];
    // acme: 1 dead, 1 held, 1 done, all just now.
    assert_eq!(
        (q["finished"].as_i64(), q["succeeded"].as_i64()),
        (Some(2), Some(1)),
        "{q}"
    );
    assert_eq!(q["success_rate"], 50.0);
    assert_eq!(
        (
            q["holds"].as_i64(),
            q["dead_letters"].as_i64(),
            q["queued"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert!(flows[0]["success_rate"].is_null());
    // A queued job shows as queued; its lag is 0 s just after it was queued.
    f.store
        .enqueue(
            ferry_store::NewJob {
                tenant: "acme",
                kind: KIND,
                key: "4",
                checkpoint: serde_json::json!({}),
            },
            crate::flows::now_ms(),
        )
        .await
        .expect("enqueue");
    let (_, health) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/health",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(health["flows"][4]["queued"], 1);
    assert!(
        health["flows"][4]["lag_secs"]
            .as_i64()
            .is_some_and(|l| l >= 0)
    );
}

/// GET with a token, the raw answer (the exports aren't one JSON document).
async fn raw(app: &axum::Router, path: &str, token: &str) -> (StatusCode, String, String) {
    use tower::ServiceExt;
    let request = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, kind, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn runs_and_audit_export_as_json_lines_of_the_tenant_only() {
    let f = fixture().await;
    // An operator action, so the audit has a token's entry.
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/holds/Q2/resolve",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, kind, body) = raw(&f.app, "/api/v1/tenants/acme/export/runs", &f.acme).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "application/x-ndjson")
    );
    let runs: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let keys: Vec<&str> = runs.iter().filter_map(|r| r["key"].as_str()).collect();
    assert_eq!(keys, ["1", "2", "3"]);
    assert!(runs.iter().all(|r| r["tenant"] == "acme"));
    let (status, _, body) = raw(&f.app, "/api/v1/tenants/acme/export/audit", &f.acme).await;
    assert_eq!(status, StatusCode::OK);
    let audit: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(audit.iter().all(|e| e["tenant"] == "acme"));
    assert!(
        audit
            .iter()
            .any(|e| e["data"]["action"] == "hold.resolve" && e["key"] == "2"),
        "{body}"
    );
    // since: in the future, nothing; not RFC 3339, 400.
    let (status, _, body) = raw(
        &f.app,
        "/api/v1/tenants/acme/export/audit?since=2999-01-01T00:00:00%2B02:00",
        &f.acme,
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, _, body) = raw(
        &f.app,
        "/api/v1/tenants/acme/export/runs?since=2999-01-01T00:00:00Z",
        &f.acme,
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, _, _) = raw(
        &f.app,
        "/api/v1/tenants/acme/export/runs?since=yesterday",
        &f.acme,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
