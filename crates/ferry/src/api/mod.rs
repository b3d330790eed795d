//! The HTTP surface. Routes are named by role: `/hooks/{tenant}/quoting` (quoting webhooks)
//! and `/events/{tenant}/erp` (ERP events); today's vendor paths stay as aliases. Every
//! handler answers errors through [`ApiError`]. The admin API (`/api/v1/`, [`admin`]) is served
//! beside them when the state carries a services context, and with it the operations console
//! (`/ui`, [`ui`]) over the same operations.

pub mod admin;
mod availability;
mod conn;
mod error;
mod health;
#[cfg(test)]
mod held_runs_tests;
mod intake;
mod ion;
mod limits;
mod metrics;
pub mod ui;

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

use crate::tenant::TenantEnv;
use ferry_store::Store;

/// The answer for a store failure while storing an event: a 503 the sender retries (the
/// store keeps blocking work off the async threads itself).
pub(crate) fn unavailable(tenant: &str, what: &str, e: ferry_store::StoreError) -> ApiError {
    ApiError::Unavailable(format!("tenant {tenant}: {what} failed: {e}"))
}

#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub tenants: Arc<HashMap<String, Arc<TenantEnv>>>,
    pub wake: Arc<Notify>,
    /// The services context the admin API works against (a server's config, store and
    /// registry); None: no admin API.
    pub admin: Option<Arc<crate::services::Context>>,
}

/// Starts recording metrics for `/metrics` (idempotent).
pub fn install_metrics() {
    metrics::install();
}

pub use metrics::sample_store as sample_store_metrics;

/// The routes with their request bounds: per-tenant rate limit first (before a body byte is
/// read), then the body's size and deadline (`limits.rs`).
pub fn router(state: ApiState, bounds: RequestLimits, readiness: Readiness) -> Router {
    let rates = Arc::new(limits::TenantRates::new(state.tenants.keys(), &bounds));
    let max_body_bytes = bounds.max_body_bytes;
    let ready = Router::new()
        .route("/readyz", get(health::readyz))
        .with_state(Arc::new(readiness));
    let admin = match &state.admin {
        Some(ctx) => {
            let admin = admin::AdminState {
                ctx: ctx.clone(),
                wake: state.wake.clone(),
            };
            let stock = availability::AvailabilityState::for_tenants(admin.clone(), &state.tenants);
            admin::router(admin.clone())
                .merge(availability::router(stock))
                .merge(ui::router(ui::UiState::new(admin)))
        }
        None => Router::new(),
    };
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::render))
        .route("/hooks/{tenant}/quoting", post(intake::quoting_webhook))
        .route("/events/{tenant}/erp", post(ion::events))
        // Aliases: the paths QuoteWerks and ION are configured with today.
        .route("/hooks/{tenant}/quotewerks", post(intake::quoting_webhook))
        .route("/ion/{tenant}/events", post(ion::events))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
        .merge(ready)
        .merge(admin)
        .layer(from_fn_with_state(Arc::new(bounds), limits::bound_body))
        .layer(from_fn_with_state(rates, limits::rate_limit))
        // Outermost: counts what every intake request was answered, refusals included.
        .layer(axum::middleware::from_fn(metrics::track_intake))
}
