//! `/readyz`: whether this node can take work, which needs a store that can write. `/healthz`
//! only says the process answers; a full or locked disk makes `/readyz` answer 503 with why.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use ferry_store::Health;

pub struct Readiness {
    store: Arc<dyn Health>,
    timeout: Duration,
    /// One probe at a time: a probe stuck on a hung disk holds it, so polling `/readyz` can't
    /// pile up blocked threads.
    gate: Arc<Semaphore>,
}

impl Readiness {
    pub fn new(store: Arc<dyn Health>, timeout: Duration) -> Self {
        Self {
            store,
            timeout,
            gate: Arc::new(Semaphore::new(1)),
        }
    }
}

fn not_ready(reason: String) -> Response {
    tracing::warn!("not ready: {reason}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "status": "not ready", "error": reason })),
    )
        .into_response()
}

pub async fn readyz(State(ready): State<Arc<Readiness>>) -> Response {
    let Ok(permit) = ready.gate.clone().try_acquire_owned() else {
        return not_ready(
            "the previous readiness probe has not finished: the store is stuck".into(),
        );
    };
    let store = ready.store.clone();
    // A lock held elsewhere is waited for half the budget, so the answer says "locked" rather
    // than "timed out" when that is the cause.
    let wait = ready.timeout / 2;
    // A task of its own, holding the permit until the store answers: a timed-out probe keeps
    // the gate shut while the store's blocking thread is still stuck.
    let probe = tokio::spawn(async move {
        let written = store.can_write(wait).await;
        drop(permit);
        written
    });
    match tokio::time::timeout(ready.timeout, probe).await {
        Ok(Ok(Ok(()))) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ready" })),
        )
            .into_response(),
        Ok(Ok(Err(e))) => not_ready(format!("the store can't write: {e}")),
        Ok(Err(e)) => not_ready(format!("the readiness probe failed: {e}")),
        Err(_) => not_ready(format!(
            "the store did not answer within {} ms",
            ready.timeout.as_millis()
        )),
    }
}
