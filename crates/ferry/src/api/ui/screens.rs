//! The console's screens and actions. Reads go through [`crate::services`] like the admin
//! API's; every action is the admin API's own (its tenant check, audit with the token's id,
//! wake-up), after this session's CSRF token was checked, then redirects to what changed.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{CsrfOnly, Operator};
use super::{UiError, UiState, pages};
use crate::api::ApiError;
use crate::api::admin::from_service;
use crate::api::admin::plugins::{activate_for, rollback_for};
use crate::api::admin::runs::{Run, release_held, retry_dead};
use crate::runtime::Role;
use crate::services::journeys;
use crate::services::plugins::{self, PluginRow};
use crate::services::run_query::{self, RunQuery};
use ferry_store::JobState;

/// At most this many runs on one page (newest first).
const MAX_ROWS: usize = 500;

/// The screens' query: which tenant ("" = every one the token may see), status, search, and
/// the code of the action just done (shown as a fixed notice).
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub done: String,
    /// A flow ("" = quote-to-order, `any`), and a time range (`from`, `to`).
    #[serde(default)]
    pub flow: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The configured tenants this operator's token may see.
pub(super) fn visible(state: &UiState, op: &Operator) -> Vec<String> {
    state
        .admin
        .ctx
        .config
        .tenants
        .keys()
        .filter(|t| op.caller.scope.allows(t))
        .cloned()
        .collect()
}

/// The tenants a screen shows: the chosen one (404 when the token may not see it), else all
/// visible ones.
pub(super) fn chosen(state: &UiState, op: &Operator, tenant: &str) -> Result<Vec<String>, UiError> {
    if tenant.is_empty() {
        return Ok(visible(state, op));
    }
    op.caller.tenant(&state.admin, tenant)?;
    Ok(vec![tenant.to_string()])
}

/// `GET /ui/runs`: runs, newest first, filtered by tenant and status, searched by quote
/// number, quote id, order reference or ERP order number.
pub async fn runs(
    State(state): State<UiState>,
    op: Operator,
    Query(f): Query<Filter>,
) -> Result<Response, UiError> {
    let tenants = chosen(&state, &op, &f.tenant)?;
    let status = match f.status.as_str() {
        "" => None,
        s => Some(
            JobState::parse(s).ok_or_else(|| ApiError::Invalid(format!("unknown status {s:?}")))?,
        ),
    };
    let query = RunQuery {
        state: status,
        flow: run_query::flow(Some(&f.flow)).map_err(from_service)?,
        from: run_query::instant(Some(&f.from), "from").map_err(from_service)?,
        to: run_query::instant(Some(&f.to), "to").map_err(from_service)?,
        text: Some(f.q.trim().to_string()).filter(|q| !q.is_empty()),
    };
    let mut rows = Vec::new();
    for t in &tenants {
        let jobs = run_query::find(&state.admin.ctx, t, &query)
            .await
            .map_err(from_service)?;
        rows.extend(jobs.iter().map(|j| (t.clone(), Run::from(j))));
    }
    rows.sort_by(|a, b| b.1.updated_at.cmp(&a.1.updated_at));
    let cut = rows.len() > MAX_ROWS;
    rows.truncate(MAX_ROWS);
    Ok(pages::runs(&op, &visible(&state, &op), &f, &rows, cut))
}

/// `GET /ui/tenants/{tenant}/runs/{run}`: one run (by quote id or number) with its timeline.
pub async fn run(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, run)): Path<(String, String)>,
    Query(f): Query<Filter>,
) -> Result<Response, UiError> {
    op.caller.tenant(&state.admin, &tenant)?;
    let ctx = &state.admin.ctx;
    let journey = run_query::trace(ctx, &tenant, Some(&f.flow), &run)
        .await
        .map_err(from_service)?;
    let letters = journeys::dead_letters(ctx, Some(&tenant), Some(&journey.quote_id))
        .await
        .map_err(from_service)?;
    let steps = run_query::detail::steps(ctx, &journey.trail);
    Ok(pages::run(
        &op, &tenant, &journey, &letters, &steps, &f.done,
    ))
}

/// One tenant's installed components and, per role, the one a rollback goes back to.
pub struct TenantPlugins {
    pub tenant: String,
    pub rows: Vec<PluginRow>,
    /// (role, digest) of each role's previously active component.
    pub previous: Vec<(String, String)>,
}

/// `GET /ui/plugins`: each tenant's components per role, active and previous.
pub async fn plugins(
    State(state): State<UiState>,
    op: Operator,
    Query(f): Query<Filter>,
) -> Result<Response, UiError> {
    let ctx = &state.admin.ctx;
    let mut sections = Vec::new();
    for tenant in chosen(&state, &op, &f.tenant)? {
        let rows = plugins::list(ctx, Some(&tenant))
            .await
            .map_err(from_service)?;
        let mut previous = Vec::new();
        for role in Role::ALL {
            if let Some(a) = plugins::previous(ctx, &tenant, role)
                .await
                .map_err(from_service)?
            {
                previous.push((a.role, a.digest));
            }
        }
        sections.push(TenantPlugins {
            tenant,
            rows,
            previous,
        });
    }
    Ok(pages::plugins(&op, &visible(&state, &op), &f, &sections))
}

#[derive(Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    csrf: String,
    /// Present: start over from the quote.
    restart: Option<String>,
}

/// `POST /ui/tenants/{tenant}/holds/{quote}/release`.
pub async fn release(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, quote)): Path<(String, String)>,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    let restart = form.restart.is_some();
    let job = release_held(&state.admin, &op.caller, &tenant, &quote, restart).await?;
    let done = if restart { "restarted" } else { "released" };
    Ok(back_to_run(&tenant, &job.key, done))
}

/// `POST /ui/tenants/{tenant}/dead-letters/{id}/retry`.
pub async fn retry(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, id)): Path<(String, i64)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    let (_, job) = retry_dead(&state.admin, &op.caller, &tenant, id).await?;
    Ok(back_to_run(&tenant, &job.key, "retried"))
}

#[derive(Deserialize)]
pub struct ActivateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    digest: String,
}

/// `POST /ui/tenants/{tenant}/plugins/{role}/activate`.
pub async fn activate(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, role)): Path<(String, String)>,
    Form(form): Form<ActivateForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    activate_for(&state.admin, &op.caller, &tenant, &role, &form.digest).await?;
    Ok(back_to_plugins(&tenant, "activated"))
}

/// `POST /ui/tenants/{tenant}/plugins/{role}/rollback`.
pub async fn rollback(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, role)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    rollback_for(&state.admin, &op.caller, &tenant, &role).await?;
    Ok(back_to_plugins(&tenant, "rolled-back"))
}

fn back_to_run(tenant: &str, key: &str, done: &str) -> Response {
    let url = format!(
        "{}?{}",
        pages::run_url(tenant, key),
        pages::query(&[("done", done)])
    );
    Redirect::to(&url).into_response()
}

fn back_to_plugins(tenant: &str, done: &str) -> Response {
    let url = format!(
        "/ui/plugins?{}",
        pages::query(&[("tenant", tenant), ("done", done)])
    );
    Redirect::to(&url).into_response()
}
