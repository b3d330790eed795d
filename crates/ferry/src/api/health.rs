//! `/readyz`: whether this node can take work, which needs a store that can write; a full or
//! locked disk makes it answer 503 with why. `/healthz`: whether the process answers and still
//! holds its database (a ping that writes nothing), cheap enough to poll every few seconds.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use ferry_store::Health;

use super::ApiState;

/// How long `/healthz` waits for the store's ping.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

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

/// `/healthz`: 200 `ok` while the store answers a ping within [`PING_TIMEOUT`]; 503 with the
/// reason when it doesn't (PostgreSQL unreachable, the connection gone). No probe can pile up:
/// SQLite's ping never waits for the connection, PostgreSQL's is async and dropped on timeout.
pub async fn healthz(State(state): State<ApiState>) -> Response {
    alive(state.store.as_ref(), PING_TIMEOUT).await
}

async fn alive(store: &dyn Health, timeout: Duration) -> Response {
    let reason = match tokio::time::timeout(timeout, store.ping()).await {
        Ok(Ok(())) => return (StatusCode::OK, "ok").into_response(),
        Ok(Err(e)) => format!("the store does not answer: {e}"),
        Err(_) => format!(
            "the store did not answer a ping within {} ms",
            timeout.as_millis()
        ),
    };
    tracing::warn!("unhealthy: {reason}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "status": "unhealthy", "error": reason })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use ferry_store::StoreError;

    /// A store whose ping fails, or never answers.
    struct Lost {
        hang: bool,
    }

    #[async_trait]
    impl Health for Lost {
        async fn can_write(&self, _wait: Duration) -> Result<(), StoreError> {
            Ok(())
        }

        async fn ping(&self) -> Result<(), StoreError> {
            if self.hang {
                std::future::pending::<()>().await;
            }
            Err(StoreError::Backend("no database connection: closed".into()))
        }
    }

    async fn answer(store: &dyn Health) -> (StatusCode, String) {
        let response = alive(store, Duration::from_millis(50)).await;
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn healthz_says_ok_while_the_store_answers_and_503_with_why_when_not() {
        let held = ferry_store::MemoryStore::new();
        assert_eq!(answer(&held).await, (StatusCode::OK, "ok".to_string()));

        let (status, body) = answer(&Lost { hang: false }).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("no database connection: closed"), "{body}");

        let (status, body) = answer(&Lost { hang: true }).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("did not answer a ping within 50 ms"),
            "{body}"
        );
    }
}
