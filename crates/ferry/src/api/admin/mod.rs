//! The admin API, `/api/v1/`: a tenant's runs (a quote's journey), holds, dead letters and
//! plugins over [`crate::services`], the same operations the CLI runs. Every route but the
//! OpenAPI document needs a bearer token (`ferry tokens create`); a token scoped to one tenant
//! that names another gets the same 404 as a tenant that does not exist, so nothing tells it
//! which tenants there are. Every change is written to the audit trail with the token's id.
//!
//! The OpenAPI 3.1 document is generated from these handlers and types ([`ApiDoc`], utoipa)
//! and served at `/api/v1/openapi.json`; `crates/ferry/openapi.json` is its committed copy
//! (a test keeps them equal; `FERRY_UPDATE_OPENAPI=1` rewrites the copy).

mod alerts;
mod auth;
pub(crate) mod edit;
pub(crate) mod errors;
pub(crate) mod fixes;
pub(crate) mod flows;
mod health;
pub(crate) mod mappings;
pub(crate) mod plugins;
mod replay;
pub(crate) mod runs;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_edit;
#[cfg(test)]
mod tests_fixes;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_mappings;
#[cfg(test)]
mod tests_ops;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::ApiError;
use crate::services::{Context, ServiceError};
use ferry_store::StoreError;

pub use auth::{Caller, Via};

/// What the admin routes work against: a server's services context (its config, store and
/// registry).
#[derive(Clone)]
pub struct AdminState {
    pub ctx: Arc<Context>,
    /// Wakes the workers so a retried or released run starts now, not at the next poll.
    pub wake: Arc<tokio::sync::Notify>,
}

impl AdminState {
    fn wake(&self) {
        self.wake.notify_one();
    }
}

/// The `/api/v1` routes.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/tenants/{tenant}/runs", get(runs::list))
        .route("/api/v1/tenants/{tenant}/runs/{run}", get(runs::detail))
        .route(
            "/api/v1/tenants/{tenant}/runs/{run}/order",
            put(edit::edit_order),
        )
        .route("/api/v1/tenants/{tenant}/holds", get(runs::holds))
        .route(
            "/api/v1/tenants/{tenant}/holds/{quote}/release",
            post(runs::release),
        )
        .route(
            "/api/v1/tenants/{tenant}/dead-letters",
            get(runs::dead_letters),
        )
        .route(
            "/api/v1/tenants/{tenant}/dead-letters/{id}/retry",
            post(runs::retry),
        )
        .route(
            "/api/v1/tenants/{tenant}/holds/{quote}/resolve",
            post(errors::resolve_hold),
        )
        .route(
            "/api/v1/tenants/{tenant}/dead-letters/{id}/resolve",
            post(errors::resolve_letter),
        )
        .route(
            "/api/v1/tenants/{tenant}/dead-letters/retry",
            post(errors::retry_all),
        )
        .route("/api/v1/tenants/{tenant}/resolved", get(errors::resolved))
        .route("/api/v1/tenants/{tenant}/health", get(health::health))
        .route("/api/v1/tenants/{tenant}/alerts", get(alerts::alerts))
        .route(
            "/api/v1/tenants/{tenant}/flows/{flow}/pause",
            post(flows::pause),
        )
        .route(
            "/api/v1/tenants/{tenant}/flows/{flow}/resume",
            post(flows::resume),
        )
        .route(
            "/api/v1/tenants/{tenant}/flows/{flow}/run",
            post(flows::run_now),
        )
        .route(
            "/api/v1/tenants/{tenant}/export/runs",
            get(health::export_runs),
        )
        .route(
            "/api/v1/tenants/{tenant}/export/audit",
            get(health::export_audit),
        )
        .route("/api/v1/tenants/{tenant}/plugins", get(plugins::list))
        .route(
            "/api/v1/tenants/{tenant}/plugins/{role}/activate",
            post(plugins::activate),
        )
        .route("/api/v1/tenants/{tenant}/replays", post(replay::replay))
        .route(
            "/api/v1/tenants/{tenant}/mappings/{kind}",
            get(mappings::get_mapping),
        )
        .route(
            "/api/v1/tenants/{tenant}/mappings/{kind}/preview",
            post(mappings::preview),
        )
        .route(
            "/api/v1/tenants/{tenant}/mappings/{kind}/suggestions",
            get(mappings::suggestions),
        )
        .route(
            "/api/v1/tenants/{tenant}/mappings/{kind}/versions",
            post(mappings::save),
        )
        .route(
            "/api/v1/tenants/{tenant}/mappings/{kind}/activate",
            post(mappings::activate),
        )
        .route(
            "/api/v1/tenants/{tenant}/mappings/{kind}/rollback",
            post(mappings::rollback),
        )
        .with_state(state.clone())
        .merge(fixes::router(state))
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ferry admin API",
        description = "A tenant's runs, holds, dead letters, plugins and item availability. Bearer token from `ferry tokens create`; a token scoped to one tenant gets 404 for any other."
    ),
    paths(
        runs::list,
        runs::detail,
        edit::edit_order,
        runs::holds,
        runs::release,
        fixes::list,
        fixes::accept,
        runs::dead_letters,
        runs::retry,
        errors::resolve_hold,
        errors::resolve_letter,
        errors::resolved,
        errors::retry_all,
        health::health,
        alerts::alerts,
        flows::pause,
        flows::resume,
        flows::run_now,
        health::export_runs,
        health::export_audit,
        plugins::list,
        plugins::activate,
        replay::replay,
        mappings::get_mapping,
        mappings::preview,
        mappings::suggestions,
        mappings::save,
        mappings::activate,
        mappings::rollback,
        crate::api::availability::availability
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as served, pretty-printed (the committed copy is byte-for-byte this).
pub fn openapi_document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

async fn openapi_json() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_document(),
    )
}

/// Every error answer's body.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The status's generic text.
    pub error: String,
    /// Find the detail in the server's log under this id.
    pub correlation_id: String,
    /// What was wrong with the request (400, 409 only).
    pub reason: Option<String>,
}

/// A service's failure as the admin API answers it: anything missing is 404 (like a tenant the
/// token may not see), a refused change 400 or 409, a store that can't answer now 503.
pub(crate) fn from_service(e: ServiceError) -> ApiError {
    match e {
        ServiceError::UnknownTenant { .. }
        | ServiceError::NoQuote { .. }
        | ServiceError::NoDeadLetter(_)
        | ServiceError::Store(StoreError::NotFound(_)) => ApiError::NotFound(e.to_string()),
        ServiceError::AmbiguousQuote { .. }
        | ServiceError::Input(_)
        | ServiceError::Config(_)
        | ServiceError::Registry(_)
        | ServiceError::Load(_) => ApiError::Invalid(e.to_string()),
        ServiceError::QuoteNotDead { .. }
        | ServiceError::QuoteNotHeld { .. }
        | ServiceError::AlreadyRetried(_)
        | ServiceError::NotEditable(_)
        | ServiceError::Store(StoreError::Conflict(_)) => ApiError::Conflict(e.to_string()),
        ServiceError::Store(StoreError::Backend(_)) => ApiError::Unavailable(e.to_string()),
        _ => ApiError::Internal(e.to_string()),
    }
}
