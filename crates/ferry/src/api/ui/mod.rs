//! The operations console, `/ui`: server-rendered HTML (maud) made livelier by htmx, over the
//! same operations as the admin API ([`crate::api::admin`]: its tenant check, its actions and
//! their audit), signed in with an admin-API token ([`session`]). Screens: runs (filter by
//! tenant and status, search by quote or order number), a run's detail, errors (holds and dead
//! letters: Open / Resolved, release, retry, resolve, retry all matching), health per tenant and flow, plugins per tenant (activate, roll back), mappings per tenant and kind (fields, rules, live
//! preview, suggestions, save, versions), alerts per tenant (each rule FIRING or clear, and what each
//! channel was last sent).
//!
//! No Node step: htmx (2.0.11, 0BSD, from the npm package `htmx.org`) and the style sheet are
//! files in `crates/ferry/assets/ui/`, compiled into the binary. Every answer forbids framing
//! and any script or style not served from here (CSP), and pages are never cached.

mod alerts;
mod edit;
mod errors;
mod fixes;
mod health;
mod mappings;
mod pages;
mod screens;
mod session;
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
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::ApiError;
use super::admin::AdminState;

pub use session::Sessions;

const HTMX: &[u8] = include_bytes!("../../../assets/ui/htmx.min.js");
const CSS: &[u8] = include_bytes!("../../../assets/ui/console.css");

/// What the console's handlers work against: the admin API's state and this node's sessions.
#[derive(Clone)]
pub struct UiState {
    pub admin: AdminState,
    pub sessions: Arc<Sessions>,
}

impl UiState {
    pub fn new(admin: AdminState) -> Self {
        Self {
            admin,
            sessions: Arc::new(Sessions::default()),
        }
    }
}

/// The `/ui` routes.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/ui", get(session::home))
        .route("/ui/", get(session::home))
        .route(
            "/ui/sign-in",
            get(session::sign_in_form).post(session::sign_in),
        )
        .route("/ui/sign-out", post(session::sign_out))
        .route("/ui/runs", get(screens::runs))
        .route("/ui/tenants/{tenant}/runs/{run}", get(screens::run))
        .route(
            "/ui/tenants/{tenant}/runs/{run}/order",
            post(edit::edit_order),
        )
        .route("/ui/health", get(health::health))
        .route(
            "/ui/tenants/{tenant}/flows/{flow}/pause",
            post(health::pause),
        )
        .route(
            "/ui/tenants/{tenant}/flows/{flow}/resume",
            post(health::resume),
        )
        .route(
            "/ui/tenants/{tenant}/flows/{flow}/run",
            post(health::run_now),
        )
        .route("/ui/errors", get(errors::errors))
        .route(
            "/ui/tenants/{tenant}/holds/{quote}/resolve",
            post(errors::resolve_hold),
        )
        .route(
            "/ui/tenants/{tenant}/dead-letters/{id}/resolve",
            post(errors::resolve_letter),
        )
        .route(
            "/ui/tenants/{tenant}/dead-letters/retry",
            post(errors::retry_all),
        )
        .route(
            "/ui/tenants/{tenant}/holds/{quote}/release",
            post(screens::release),
        )
        .route(
            "/ui/tenants/{tenant}/dead-letters/{id}/retry",
            post(screens::retry),
        )
        .route("/ui/plugins", get(screens::plugins))
        .route(
            "/ui/tenants/{tenant}/plugins/{role}/activate",
            post(screens::activate),
        )
        .route(
            "/ui/tenants/{tenant}/plugins/{role}/rollback",
            post(screens::rollback),
        )
        .route("/ui/assets/htmx.min.js", get(htmx))
        .route("/ui/assets/console.css", get(css))
        .with_state(state.clone())
        .merge(fixes::router(state.clone()))
        .merge(mappings::router(state.clone()))
        .merge(alerts::router(state))
        .layer(map_response(secure_headers))
}

async fn htmx() -> Response {
    asset("text/javascript; charset=utf-8", HTMX)
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response()
}

/// Only this server's scripts and styles, no framing, no referrer beyond the origin; pages
/// (not the assets) are never cached, so a signed-out browser's back button shows nothing.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// How a console request fails, each as a page.
#[derive(Debug)]
pub enum UiError {
    /// No session, an expired one, or its token was revoked: 401 with the sign-in form.
    SignIn,
    /// A state-changing form without this session's CSRF token: 403.
    Forbidden,
    /// The node holds as many sessions as it may: 503.
    Busy,
    /// What the admin API would answer (404 for another tenant's data, 409, 400, 503, 500).
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError::Api(e)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn => (
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Sign in to continue.")),
            )
                .into_response(),
            UiError::Forbidden => {
                tracing::warn!("console: a form without the session's CSRF token was refused");
                pages::problem(
                    StatusCode::FORBIDDEN,
                    "Refused",
                    "This form did not carry this session's security token. Reload the page and try again.",
                )
            }
            UiError::Busy => pages::problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "Too many sessions are open on this node; try again later.",
            ),
            UiError::Api(e) => {
                let status = e.status();
                use rand::RngExt;
                let correlation_id = hex::encode(rand::rng().random::<[u8; 8]>());
                let detail = e.to_string();
                if status.is_server_error() {
                    tracing::error!(%correlation_id, status = status.as_u16(), detail = ?detail, "console request failed");
                } else {
                    tracing::warn!(%correlation_id, status = status.as_u16(), detail = ?detail, "console request refused");
                }
                // Like the API: the reason only for the caller's own input, never a store's
                // or plugin's detail.
                let text = match &e {
                    ApiError::NotFound(_) => {
                        "There is nothing here, or nothing you may see.".to_string()
                    }
                    ApiError::Invalid(r) | ApiError::Conflict(r) => r.chars().take(300).collect(),
                    _ => format!(
                        "Something went wrong; the server's log says what under {correlation_id}."
                    ),
                };
                let title = status.canonical_reason().unwrap_or("Error");
                pages::problem(status, title, &text)
            }
        }
    }
}
