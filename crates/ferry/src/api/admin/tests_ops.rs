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
