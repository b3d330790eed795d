//! "Edit and retry" on the run page over a memory store: a held run shows the form with its
//! mapped order's JSON and the session's CSRF token, a run that began an M3 write doesn't;
//! posting the corrected order stores it, queues the run at validation and lands on the run,
//! audited with the console's token; without the CSRF token 403, another tenant's 404, a
//! textarea that isn't JSON 400 with nothing stored.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;

use super::pages::query;
use super::tests::{send, sign_in};
use super::{UiState, router};
use crate::api::admin::AdminState;
use crate::api::held_runs_tests::{HeldRuns, held_runs, order};
use crate::flows::quote_to_order::KIND;
use ferry_store::{Audit, JobState, Jobs};

struct Console {
    app: Router,
    runs: HeldRuns,
}

impl std::ops::Deref for Console {
    type Target = HeldRuns;
    fn deref(&self) -> &HeldRuns {
        &self.runs
    }
}

/// The console over `held_runs` (Q5 held after mapping, Q6 dead after its head write began).
async fn console() -> Console {
    let runs = held_runs().await;
    let app = router(UiState::new(AdminState {
        ctx: Arc::new(runs.ctx.clone()),
        wake: Arc::new(tokio::sync::Notify::new()),
    }));
    Console { app, runs }
}

const RUN: &str = "/ui/tenants/acme/runs/Q5";
const POST: &str = "/ui/tenants/acme/runs/Q5/order";

#[tokio::test]
async fn a_held_run_shows_the_form_and_a_run_that_began_a_write_does_not() {
    let c = console().await;
    let b = sign_in(&c.app, &c.acme).await;
    let page = send(&c.app, "GET", RUN, Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = &page.body;
    assert!(html.contains("Edit and retry"), "{html}");
    assert!(
        html.contains(r#"action="/ui/tenants/acme/runs/5/order""#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"name="csrf" value="{}""#, b.csrf)));
    let area = html.find(r#"<textarea name="order""#).expect("textarea");
    assert!(html[area..].contains("XX9"), "the mapped order is in it");
    let other = send(
        &c.app,
        "GET",
        "/ui/tenants/acme/runs/Q6",
        Some(&b.cookie),
        None,
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    assert!(!other.body.contains("Edit and retry"), "{}", other.body);
}

#[tokio::test]
async fn posting_the_corrected_order_queues_the_run_and_audits_the_console_token() {
    let c = console().await;
    let b = sign_in(&c.app, &c.acme).await;
    let form = query(&[("csrf", &b.csrf), ("order", &order("A01").to_string())]);
    let done = send(&c.app, "POST", POST, Some(&b.cookie), Some(&form)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location().contains("done=edited"),
        "{}",
        done.location()
    );
    let job = c
        .store
        .job("acme", KIND, "5")
        .await
        .expect("job")
        .expect("there");
    assert_eq!((job.state, job.step.as_str()), (JobState::Queued, "mapped"));
    assert_eq!(job.checkpoint["order"], order("A01"));
    let trail = c.store.trail("acme", "5").await.expect("trail");
    assert!(
        trail
            .iter()
            .any(|e| e.step == "console" && e.data["action"] == "run.edit"),
        "{trail:?}"
    );
    let page = send(&c.app, "GET", done.location(), Some(&b.cookie), None).await;
    assert!(
        page.body.contains("Edited: the corrected order"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Edit and retry"), "queued: no form");
}

#[tokio::test]
async fn no_csrf_is_403_another_tenant_404_and_not_json_400_storing_nothing() {
    let c = console().await;
    let b = sign_in(&c.app, &c.acme).await;
    let good = order("A01").to_string();
    let forged = query(&[("csrf", "nope"), ("order", &good)]);
    let refused = send(&c.app, "POST", POST, Some(&b.cookie), Some(&forged)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let other = sign_in(&c.app, &c.globex).await;
    let form = query(&[("csrf", &other.csrf), ("order", &good)]);
    let hidden = send(&c.app, "POST", POST, Some(&other.cookie), Some(&form)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let bad = query(&[("csrf", &b.csrf), ("order", "{\"kind\": \"order\",")]);
    let invalid = send(&c.app, "POST", POST, Some(&b.cookie), Some(&bad)).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.body);
    let job = c
        .store
        .job("acme", KIND, "5")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(
        (job.state, job.checkpoint["order"].clone()),
        (JobState::Held, order("XX9"))
    );
}
