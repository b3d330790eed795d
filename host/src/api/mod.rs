//! The HTTP surface: webhook intake now; the admin API, dashboard and /metrics join it.

mod intake;
mod ion;
mod metrics;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::Notify;

use crate::store::JobStore;
use crate::tenant::TenantEnv;

/// A JSON reply: status and body.
pub(crate) type Reply = (axum::http::StatusCode, axum::Json<serde_json::Value>);

/// An error reply: `{"error": message}`.
pub(crate) fn reply(status: axum::http::StatusCode, message: impl Into<String>) -> Reply {
    (
        status,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
}

#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn JobStore>,
    pub tenants: Arc<HashMap<String, Arc<TenantEnv>>>,
    pub wake: Arc<Notify>,
}

/// Starts recording metrics for `/metrics` (idempotent).
pub fn install_metrics() {
    metrics::install();
}

pub fn router(state: ApiState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::render))
        .route(
            "/hooks/{tenant}/quotewerks",
            post(intake::quotewerks_webhook),
        )
        .route("/ion/{tenant}/events", post(ion::events))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}
