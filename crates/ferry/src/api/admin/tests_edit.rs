//! `PUT …/runs/{run}/order` (edit-and-retry) over a memory store: a held run's corrected
//! order is stored and the run queued again at validation, audited with the token and the
//! changed fields; the refusals: 401 without a token, 404 for another tenant's token or an
//! unknown run, 400 for a body that is no order (nothing stored), 409 for a run that is done
//! or began an M3 write.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use super::tests::call;
use super::{AdminState, router};
use crate::api::held_runs_tests::{HeldRuns, held_runs, order};
use crate::flows::quote_to_order::KIND;
use ferry_store::{Audit, Jobs};

struct Api {
    app: axum::Router,
    runs: HeldRuns,
}

impl std::ops::Deref for Api {
    type Target = HeldRuns;
    fn deref(&self) -> &HeldRuns {
        &self.runs
    }
}

/// The admin API over `held_runs`.
async fn api() -> Api {
    let runs = held_runs().await;
    let app = router(AdminState {
        ctx: Arc::new(runs.ctx.clone()),
        wake: Arc::new(tokio::sync::Notify::new()),
    });
    Api { app, runs }
}

const Q5: &str = "/api/v1/tenants/acme/runs/Q5/order";

#[tokio::test]
async fn a_held_runs_corrected_order_is_stored_queued_at_validation_and_audited() {
    let a = api().await;
    let body = order("A01").to_string();
    let (status, answer) = call(&a.app, "PUT", Q5, Some(&a.acme), Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["run"]["status"], "queued");
    assert_eq!(answer["run"]["step"], "mapped");
    assert_eq!(answer["run"]["hold_reason"], Value::Null);
    let changed = answer["changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 1, "{answer}");
    assert_eq!(changed[0]["field"], "fields.FACI.text");
    assert_eq!(changed[0]["was"], "XX9");
    assert_eq!(changed[0]["now"], "A01");
    let job = a
        .store
        .job("acme", KIND, "5")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(job.checkpoint["order"], order("A01"));
    assert_eq!(
        job.checkpoint["quote_id"], "5",
        "the rest of the checkpoint is kept"
    );
    let trail = a.store.trail("acme", "5").await.expect("trail");
    let edited = trail
        .iter()
        .find(|e| e.step == "edited")
        .expect("edited entry");
    assert_eq!(edited.data["changed"][0]["field"], "fields.FACI.text");
    let who = trail
        .iter()
        .find(|e| e.data["action"] == "run.edit" && e.step == "admin-api");
    let who = who.expect("audited with the token");
    assert!(who.data["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(edited.data["token"], who.data["token"]);
    // Queued now, not held: a second edit is a conflict.
    let (status, _) = call(&a.app, "PUT", Q5, Some(&a.acme), Some(&body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn refusals_401_404_400_and_409() {
    let a = api().await;
    let body = order("A01").to_string();
    let (status, _) = call(&a.app, "PUT", Q5, None, Some(&body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token");
    let (status, _) = call(&a.app, "PUT", Q5, Some("ferry_0000"), Some(&body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "wrong token");
    let (status, _) = call(&a.app, "PUT", Q5, Some(&a.globex), Some(&body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's token");
    let unknown = "/api/v1/tenants/acme/runs/Q404/order";
    let (status, _) = call(&a.app, "PUT", unknown, Some(&a.acme), Some(&body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown run");
    for bad in [r#"{"kind":"order"}"#, r#"{"fields":"FACI=A01"}"#, "[1,2]"] {
        let (status, answer) = call(&a.app, "PUT", Q5, Some(&a.acme), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    let held = a
        .store
        .job("acme", KIND, "5")
        .await
        .expect("read")
        .expect("job");
    assert_eq!(held.checkpoint["order"], order("XX9"), "nothing stored");
    assert_eq!(held.state.as_str(), "held");
    for (run, why) in [("Q6", "began an M3 write"), ("Q7", "done")] {
        let path = format!("/api/v1/tenants/acme/runs/{run}/order");
        let (status, answer) = call(&a.app, "PUT", &path, Some(&a.acme), Some(&body)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{run}: {answer}");
        assert!(
            answer["reason"].as_str().is_some_and(|r| r.contains(why)),
            "{answer}"
        );
    }
}
