//! The Errors screen's tabs and its resolve / retry-all actions, and the Health screen, with
//! the fixture of `tests.rs` (acme: quote 1 dead, 2 held, 3 done; globex: quote 9 dead).

use axum::http::StatusCode;

use super::tests::{fixture, send, sign_in};
use crate::flows::quote_to_order::KIND;
use ferry_store::{Audit, JobState, Jobs};

#[tokio::test]
async fn resolving_moves_a_hold_and_a_dead_letter_from_open_to_resolved() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let open = send(&f.app, "GET", "/ui/errors", Some(&b.cookie), None).await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(
        open.body.contains("/holds/2/resolve") && open.body.contains("/dead-letters/1/resolve")
    );
    assert!(open.body.contains("Retry all of acme") && open.body.contains(r#"name="confirm""#));
    let csrf = format!("csrf={}", b.csrf);
    for path in [
        "/ui/tenants/acme/holds/2/resolve",
        "/ui/tenants/acme/dead-letters/1/resolve",
    ] {
        let done = send(&f.app, "POST", path, Some(&b.cookie), Some(&csrf)).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{path}: {}", done.body);
        assert!(
            done.location().contains("done=resolved"),
            "{}",
            done.location()
        );
    }
    for key in ["1", "2"] {
        let job = f
            .store
            .job("acme", KIND, key)
            .await
            .expect("job")
            .expect("there");
        assert_eq!(job.state, JobState::Done, "{key}");
        assert!(job.resolved_at.is_some());
        let trail = f.store.trail("acme", key).await.expect("trail");
        assert!(
            trail
                .iter()
                .any(|e| e.step == "console" && e.message.contains("resolve"))
        );
    }
    // The run pages say so and offer neither release nor retry any more.
    let run = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/Q2",
        Some(&b.cookie),
        None,
    )
    .await;
    assert!(
        run.body.contains("Closed by hand at") && run.body.contains("Was held"),
        "{}",
        run.body
    );
    assert!(!run.body.contains("/holds/2/release") && !run.body.contains("/holds/2/resolve"));
    let run = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/Q1",
        Some(&b.cookie),
        None,
    )
    .await;
    assert!(!run.body.contains("/dead-letters/1/retry"), "{}", run.body);
    let open = send(&f.app, "GET", "/ui/errors", Some(&b.cookie), None).await;
    assert!(
        open.body.contains("Held (0)") && open.body.contains("Dead letters (0)"),
        "{}",
        open.body
    );
    let resolved = send(
        &f.app,
        "GET",
        "/ui/errors?tab=resolved",
        Some(&b.cookie),
        None,
    )
    .await;
    assert_eq!(resolved.status, StatusCode::OK);
    for shown in [
        "Resolved runs (2)",
        "Resolved dead letters (1)",
        "WIT0103",
        "unknown customer",
    ] {
        assert!(
            resolved.body.contains(shown),
            "{shown} missing: {}",
            resolved.body
        );
    }
    assert!(!resolved.body.contains("globex"));
}

#[tokio::test]
async fn retry_all_needs_the_confirmation_and_retries_only_what_matches() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let path = "/ui/tenants/acme/dead-letters/retry";
    let csrf = format!("csrf={}", b.csrf);
    let unconfirmed = send(&f.app, "POST", path, Some(&b.cookie), Some(&csrf)).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    let bad = format!("{csrf}&confirm=yes&flow=nope");
    assert_eq!(
        send(&f.app, "POST", path, Some(&b.cookie), Some(&bad))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let none = format!("{csrf}&confirm=yes&error_contains=timeout");
    let answer = send(&f.app, "POST", path, Some(&b.cookie), Some(&none)).await;
    assert!(
        answer.location().contains("retried-none"),
        "{}",
        answer.location()
    );
    let job = f
        .store
        .job("acme", KIND, "1")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(job.state, JobState::Dead);
    let all = format!("{csrf}&confirm=yes&flow=quote-to-order&error_contains=wit0103");
    let answer = send(&f.app, "POST", path, Some(&b.cookie), Some(&all)).await;
    assert!(
        answer.location().contains("retried-all"),
        "{}",
        answer.location()
    );
    let job = f
        .store
        .job("acme", KIND, "1")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(job.state, JobState::Queued);
    // Another tenant's: the 404 page, and globex's letter stays dead.
    let foreign = send(
        &f.app,
        "POST",
        "/ui/tenants/globex/dead-letters/retry",
        Some(&b.cookie),
        Some(&format!("{csrf}&confirm=yes")),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let globex = f
        .store
        .job("globex", KIND, "9")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(globex.state, JobState::Dead);
}

#[tokio::test]
async fn the_health_screen_shows_each_flow_of_the_tokens_tenants() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let page = send(&f.app, "GET", "/ui/health", Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "<h2>acme</h2>",
        "quote-to-order",
        "catalog-sync",
        "50 %",
        "Finished (1 h)",
        r#"href="/ui/health""#,
    ] {
        assert!(page.body.contains(shown), "{shown} missing: {}", page.body);
    }
    assert!(!page.body.contains("globex"));
    let foreign = send(
        &f.app,
        "GET",
        "/ui/health?tenant=globex",
        Some(&b.cookie),
        None,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let admin = sign_in(&f.app, &f.admin).await;
    let all = send(&f.app, "GET", "/ui/health", Some(&admin.cookie), None).await;
    assert!(all.body.contains("<h2>globex</h2>"));
}
