//! Closing errors without running them again (resolve), the resolved ones, and retrying every
//! open dead letter a filter matches in one call.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::runs::Run;
use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::journeys::{self, Letter, LetterFilter};
use ferry_store::Job;

/// The flows a filter may name (the console's choices too).
pub use crate::services::controls::FLOWS;

/// The longest error text a filter may search for.
const MAX_TEXT: usize = 200;

/// What resolving a dead letter did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedLetter {
    pub dead_letter: i64,
    /// The run, now done by hand (`resolved_at` set), not run again.
    pub run: Run,
}

/// Which open dead letters to retry; every one of the tenant's when both are absent.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RetryFilter {
    /// Only this flow: quote-to-order, catalog-sync, order-status, price-sync, stock-sync or
    /// customer-sync.
    pub flow: Option<String>,
    /// Only letters whose error contains this text (any case; at most 200 characters).
    pub error_contains: Option<String>,
}

impl RetryFilter {
    /// The service's filter, or 400 for a flow that doesn't exist or an overlong text.
    pub fn checked(self) -> Result<LetterFilter, ApiError> {
        let flow = self.flow.filter(|f| !f.trim().is_empty());
        if let Some(f) = &flow
            && !FLOWS.contains(&f.as_str())
        {
            return Err(ApiError::Invalid(format!(
                "unknown flow {f:?}: one of {}",
                FLOWS.join(", ")
            )));
        }
        let text = self.error_contains.filter(|t| !t.trim().is_empty());
        if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
            return Err(ApiError::Invalid(format!(
                "error_contains is longer than {MAX_TEXT} characters"
            )));
        }
        Ok(LetterFilter {
            kind: flow,
            error_contains: text,
        })
    }
}

/// What a bulk retry did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetriedAll {
    /// How many dead letters were retried.
    pub retried: usize,
    /// Their ids, oldest first.
    pub dead_letters: Vec<i64>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/holds/{quote}/resolve", tag = "holds",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("quote" = String, Path, description = "The held quote's id or number")),
    responses(
        (status = 200, description = "Resolved by hand: done, not run again", body = Run),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or quote", body = ErrorBody),
        (status = 409, description = "The run is not held", body = ErrorBody)))]
pub async fn resolve_hold(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, quote)): Path<(String, String)>,
) -> Result<Json<Run>, ApiError> {
    let job = resolve_held(&state, &caller, &tenant, &quote).await?;
    Ok(Json(Run::from(&job)))
}

/// Resolves a held quote for `caller` (the API's and the console's), audited with its token.
pub(crate) async fn resolve_held(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    quote: &str,
) -> Result<Job, ApiError> {
    caller.tenant(state, tenant)?;
    let job = journeys::resolve_hold(&state.ctx, tenant, quote)
        .await
        .map_err(from_service)?;
    let target = format!("hold {}", job.key);
    caller
        .audit(
            state,
            tenant,
            (&job.kind, &job.key),
            "hold.resolve",
            &target,
        )
        .await?;
    Ok(job)
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/dead-letters/{id}/resolve", tag = "dead letters",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("id" = i64, Path, description = "The dead letter's id")),
    responses(
        (status = 200, description = "Resolved by hand: not retried", body = ResolvedLetter),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or dead letter", body = ErrorBody),
        (status = 409, description = "Already retried or resolved", body = ErrorBody)))]
pub async fn resolve_letter(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<ResolvedLetter>, ApiError> {
    let id = letter_id(&id)?;
    let (id, job) = resolve_dead(&state, &caller, &tenant, id).await?;
    Ok(Json(ResolvedLetter {
        dead_letter: id,
        run: Run::from(&job),
    }))
}

/// A dead letter's id from the path: 400 when it is not one.
pub(crate) fn letter_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::Invalid(format!("dead letter id {id:?} is not a number")))
}

/// Resolves a dead letter for `caller`: another tenant's is as absent as none; audited.
pub(crate) async fn resolve_dead(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    id: i64,
) -> Result<(i64, Job), ApiError> {
    super::runs::own_letter(state, caller, tenant, id).await?;
    let (id, job) = journeys::resolve_letter(&state.ctx, Letter::Id(id))
        .await
        .map_err(from_service)?;
    let target = format!("dead letter {id}");
    caller
        .audit(
            state,
            tenant,
            (&job.kind, &job.key),
            "dead-letter.resolve",
            &target,
        )
        .await?;
    Ok((id, job))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/resolved", tag = "holds",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "Held and dead runs resolved by hand, oldest resolution first", body = [Run]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn resolved(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Run>>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let jobs = journeys::resolved(&state.ctx, &tenant)
        .await
        .map_err(from_service)?;
    Ok(Json(jobs.iter().map(Run::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/dead-letters/retry", tag = "dead letters",
    params(("tenant" = String, Path, description = "Tenant name")),
    request_body(content = RetryFilter, description = "Which open dead letters; `{}`: all of them"),
    responses(
        (status = 200, description = "How many were queued again", body = RetriedAll),
        (status = 400, description = "Unknown flow or overlong text", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn retry_all(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
    body: Option<Json<RetryFilter>>,
) -> Result<Json<RetriedAll>, ApiError> {
    let filter = body.map(|Json(b)| b).unwrap_or_default().checked()?;
    let ids = retry_matching(&state, &caller, &tenant, &filter).await?;
    Ok(Json(RetriedAll {
        retried: ids.len(),
        dead_letters: ids,
    }))
}

/// Retries every open dead letter of `tenant` the filter matches for `caller`: each retry is
/// audited with the token's id; the workers are woken once.
pub(crate) async fn retry_matching(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    filter: &LetterFilter,
) -> Result<Vec<i64>, ApiError> {
    caller.tenant(state, tenant)?;
    let done = journeys::replay_matching(&state.ctx, tenant, filter)
        .await
        .map_err(from_service)?;
    for (id, job) in &done {
        let target = format!("dead letter {id}");
        caller
            .audit(
                state,
                tenant,
                (&job.kind, &job.key),
                "dead-letter.retry",
                &target,
            )
            .await?;
    }
    if !done.is_empty() {
        state.wake();
    }
    Ok(done.into_iter().map(|(id, _)| id).collect())
}
