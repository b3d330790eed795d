//! The HTTP surface: webhook intake now; the admin API, dashboard and /metrics join it.

mod conn;
mod health;
mod intake;
mod ion;
mod limits;
mod metrics;

pub use conn::{ConnLimits, serve};
pub use health::Readiness;
pub use limits::RequestLimits;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tokio::sync::Notify;

use crate::store::JobStore;
use crate::tenant::TenantEnv;

/// A JSON reply: status, body, and for a 503 when to retry.
pub(crate) struct Reply {
    status: axum::http::StatusCode,
    body: serde_json::Value,
    retry_after_secs: Option<u64>,
}

impl Reply {
    /// A success reply with this body.
    pub(crate) fn ok(status: axum::http::StatusCode, body: serde_json::Value) -> Self {
        Self {
            status,
            body,
            retry_after_secs: None,
        }
    }

    /// A 400 for the sender's own input, with a short reason it can act on (never internals:
    /// callers pass what was wrong with the request, cut to 200 characters here).
    pub(crate) fn invalid(reason: &str) -> Self {
        let reason: String = reason.chars().take(200).collect();
        let mut r = reply(axum::http::StatusCode::BAD_REQUEST, &reason);
        r.body["reason"] = serde_json::Value::String(reason);
        r
    }
}

impl axum::response::IntoResponse for Reply {
    fn into_response(self) -> axum::response::Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// An error reply. The caller gets only the status's generic text and a `correlation_id`;
/// `detail` (which may hold plugin output, panics, paths) goes to the log under the same id.
pub(crate) fn reply(status: axum::http::StatusCode, detail: impl std::fmt::Display) -> Reply {
    use axum::http::StatusCode;
    use rand::RngExt;
    let correlation_id = hex::encode(rand::rng().random::<[u8; 16]>());
    // Debug formatting escapes newlines: a plugin's text cannot forge log lines.
    let detail = detail.to_string();
    if status.is_server_error() {
        tracing::error!(%correlation_id, status = status.as_u16(), detail = ?detail, "request failed");
    } else {
        tracing::warn!(%correlation_id, status = status.as_u16(), detail = ?detail, "request refused");
    }
    let error = match status {
        StatusCode::BAD_REQUEST => "invalid request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::SERVICE_UNAVAILABLE => "temporarily unavailable; retry later",
        s if s.is_server_error() => "internal error",
        s => s.canonical_reason().unwrap_or("refused"),
    };
    Reply {
        status,
        body: serde_json::json!({ "error": error, "correlation_id": correlation_id }),
        retry_after_secs: (status == StatusCode::SERVICE_UNAVAILABLE).then_some(1),
    }
}

/// A plugin call that ended without the plugin's own answer: a tenant at its concurrency
/// limit is a 503 to retry; a deadline stop, a trap or a lost task is a 500.
pub(crate) fn call_failed(tenant: &str, what: &str, e: crate::runtime::CallError) -> Reply {
    let status = match e {
        crate::runtime::CallError::Busy { .. } => axum::http::StatusCode::SERVICE_UNAVAILABLE,
        _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
    };
    reply(status, format_args!("tenant {tenant}: {what}: {e}"))
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

/// The routes with their request bounds: per-tenant rate limit first (before a body byte is
/// read), then the body's size and deadline (`limits.rs`).
pub fn router(state: ApiState, bounds: RequestLimits, readiness: Readiness) -> Router {
    let rates = Arc::new(limits::TenantRates::new(state.tenants.keys(), &bounds));
    let max_body_bytes = bounds.max_body_bytes;
    let ready = Router::new()
        .route("/readyz", get(health::readyz))
        .with_state(Arc::new(readiness));
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
        .merge(ready)
        .layer(from_fn_with_state(Arc::new(bounds), limits::bound_body))
        .layer(from_fn_with_state(rates, limits::rate_limit))
}
