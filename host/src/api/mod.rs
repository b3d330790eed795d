//! The HTTP surface. Routes are named by role: `/hooks/{tenant}/quoting` (quoting webhooks)
//! and `/events/{tenant}/erp` (ERP events); today's vendor paths stay as aliases. Every
//! handler answers errors through [`ApiError`]. The admin API and dashboard join it later.

mod conn;
mod error;
mod health;
mod intake;
mod ion;
mod limits;
mod metrics;

pub use conn::{ConnLimits, serve};
pub use error::ApiError;
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

/// Runs the store work `f` off the async threads (SQLite is synchronous and may wait on a
/// lock). A store that can't write is a 503 the sender retries; a lost task a 500.
pub(crate) async fn blocking<T: Send + 'static>(
    tenant: &str,
    what: &str,
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::Unavailable(format!(
            "tenant {tenant}: {what} failed: {e}"
        ))),
        Err(e) => Err(ApiError::Internal(format!("tenant {tenant}: {what}: {e}"))),
    }
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
        .route("/hooks/{tenant}/quoting", post(intake::quoting_webhook))
        .route("/events/{tenant}/erp", post(ion::events))
        // Aliases: the paths QuoteWerks and ION are configured with today.
        .route("/hooks/{tenant}/quotewerks", post(intake::quoting_webhook))
        .route("/ion/{tenant}/events", post(ion::events))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
        .merge(ready)
        .layer(from_fn_with_state(Arc::new(bounds), limits::bound_body))
        .layer(from_fn_with_state(rates, limits::rate_limit))
}
