//! Runs (a quote's way to an ERP order), holds and dead letters of one tenant.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::flows::quote_to_order::KIND;
use crate::services::journeys::{self, Letter};
use crate::services::run_query::detail::{self, StepView};
use crate::services::run_query::{self, RunQuery};
use ferry_store::{AuditEntry, DeadLetter, Job, JobState};

/// One run: a quote's quote-to-order job.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    /// The job's id.
    pub id: i64,
    /// The quoting system's id of the quote (the run's key; `runs/{run}` takes it).
    pub quote_id: String,
    /// The number people use (`Q1042`), once the quote was read.
    pub quote_number: Option<String>,
    /// queued, running, held, done or dead.
    pub status: String,
    /// The last completed step.
    pub step: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub hold_reason: Option<String>,
    /// The ERP order made for it, once there is one.
    pub order_number: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The flow (job kind): `quote-to-order` for every run but resolved listings'.
    pub flow: String,
    /// Set when an operator resolved it by hand (not run again).
    pub resolved_at: Option<String>,
}

impl From<&Job> for Run {
    fn from(job: &Job) -> Self {
        let order_number = job
            .checkpoint
            .get("receipt")
            .and_then(|r| r.get("order_number"))
            .and_then(|n| n.as_str())
            .map(str::to_string);
        Run {
            id: job.id,
            quote_id: job.key.clone(),
            quote_number: journeys::quote_number(job),
            status: job.state.as_str().to_string(),
            step: job.step.clone(),
            attempts: job.attempts,
            last_error: job.last_error.clone(),
            hold_reason: job.hold_reason.clone(),
            order_number,
            created_at: job.created_at.clone(),
            updated_at: job.updated_at.clone(),
            flow: job.kind.clone(),
            resolved_at: job.resolved_at.clone(),
        }
    }
}

/// One entry of a run's audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrailEntry {
    pub at: String,
    pub step: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<AuditEntry> for TrailEntry {
    fn from(e: AuditEntry) -> Self {
        TrailEntry {
            at: e.at,
            step: e.step,
            message: e.message,
            data: e.data,
        }
    }
}

/// A run with its whole story.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    pub run: Run,
    /// What the run has done so far (documents, receipts), as the flow keeps it.
    #[schema(value_type = Object)]
    pub checkpoint: serde_json::Value,
    /// Every step and every operator action, oldest first.
    pub trail: Vec<TrailEntry>,
    /// The steps that called plugins, in order: attempts, durations, the plugin that served
    /// each call and the HTTP requests it sent (secrets masked before they were stored).
    pub steps: Vec<StepView>,
}

/// A run that failed for good, with its last error.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterView {
    pub id: i64,
    pub run_id: i64,
    pub quote_id: String,
    pub at: String,
    pub error: String,
    /// Set once retried: a dead letter is retried once.
    pub replayed_at: Option<String>,
    /// The flow (job kind) that failed.
    pub flow: String,
    /// Set once resolved by hand: a resolved letter is not retried.
    pub resolved_at: Option<String>,
}

impl From<&DeadLetter> for DeadLetterView {
    fn from(d: &DeadLetter) -> Self {
        DeadLetterView {
            id: d.id,
            run_id: d.job_id,
            quote_id: d.key.clone(),
            at: d.at.clone(),
            error: d.error.clone(),
            replayed_at: d.replayed_at.clone(),
            flow: d.kind.clone(),
            resolved_at: d.resolved_at.clone(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RunFilter {
    /// Only runs in this status: queued, running, held, done, dead.
    pub status: Option<String>,
    /// Only runs this names: a quote number (`Q1042`, any case) or id, an order reference,
    /// an ERP order number, or a run's key.
    pub q: Option<String>,
    /// Only this flow: quote-to-order (the default), order-status, catalog-sync, price-sync,
    /// stock-sync, customer-sync, or `any`.
    pub flow: Option<String>,
    /// Only runs last changed at or after this time (RFC 3339; `2026-12-03T10:00` or a date
    /// is read as UTC).
    pub from: Option<String>,
    /// Only runs created at or before this time.
    pub to: Option<String>,
}

/// Which run a detail names when it is not a quote's.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RunOf {
    /// The run's flow when it is not quote-to-order (then `run` is its key).
    pub flow: Option<String>,
}

/// Optional body of a release.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReleaseRequest {
    /// Start over from the quote (the fix was made in the quoting system) instead of going on
    /// from where it stopped.
    #[serde(default)]
    pub restart: bool,
}

/// What a retry did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Retried {
    pub dead_letter: i64,
    /// The run, queued again from its last checkpoint.
    pub run: Run,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/runs", tag = "runs",
    params(("tenant" = String, Path, description = "Tenant name"), RunFilter),
    responses(
        (status = 200, description = "The tenant's runs, oldest first", body = [Run]),
        (status = 400, description = "Unknown status or flow, or a time that is none", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(filter): Query<RunFilter>,
) -> Result<Json<Vec<Run>>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            JobState::parse(s).ok_or_else(|| ApiError::Invalid(format!("unknown status {s:?}")))?,
        ),
        None => None,
    };
    let query = RunQuery {
        state: status,
        flow: run_query::flow(filter.flow.as_deref()).map_err(from_service)?,
        from: run_query::instant(filter.from.as_deref(), "from").map_err(from_service)?,
        to: run_query::instant(filter.to.as_deref(), "to").map_err(from_service)?,
        text: filter.q.filter(|q| !q.trim().is_empty()),
    };
    let jobs = run_query::find(&state.ctx, &tenant, &query)
        .await
        .map_err(from_service)?;
    Ok(Json(jobs.iter().map(Run::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/runs/{run}", tag = "runs",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("run" = String, Path, description = "The quote's id or number (another flow's run: its key)"), RunOf),
    responses(
        (status = 200, description = "The run and its trail", body = RunDetail),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or run", body = ErrorBody)))]
pub async fn detail(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, run)): Path<(String, String)>,
    Query(of): Query<RunOf>,
) -> Result<Json<RunDetail>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let journey = run_query::trace(&state.ctx, &tenant, of.flow.as_deref(), &run)
        .await
        .map_err(from_service)?;
    Ok(Json(RunDetail {
        run: Run::from(&journey.job),
        checkpoint: journey.job.checkpoint.clone(),
        steps: detail::steps(&state.ctx, &journey.trail),
        trail: journey.trail.into_iter().map(TrailEntry::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/holds", tag = "holds",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "Runs waiting for a person, with the reason", body = [Run]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn holds(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Run>>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let jobs = journeys::holds(&state.ctx, Some(&tenant))
        .await
        .map_err(from_service)?;
    Ok(Json(jobs.iter().map(Run::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/holds/{quote}/release", tag = "holds",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("quote" = String, Path, description = "The held quote's id or number")),
    request_body(content = Option<ReleaseRequest>, description = "Optional; `restart` starts over"),
    responses(
        (status = 200, description = "Queued again", body = Run),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or quote", body = ErrorBody),
        (status = 409, description = "The run is not held", body = ErrorBody)))]
pub async fn release(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, quote)): Path<(String, String)>,
    body: Option<Json<ReleaseRequest>>,
) -> Result<Json<Run>, ApiError> {
    let restart = body.is_some_and(|Json(b)| b.restart);
    let job = release_held(&state, &caller, &tenant, &quote, restart).await?;
    Ok(Json(Run::from(&job)))
}

/// Releases a held quote for `caller` (the API's and the console's release): admits the
/// tenant, queues the run again, audits it with the token's id and wakes the workers.
pub(crate) async fn release_held(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    quote: &str,
    restart: bool,
) -> Result<Job, ApiError> {
    caller.tenant(state, tenant)?;
    let job = journeys::release(&state.ctx, tenant, quote, restart)
        .await
        .map_err(from_service)?;
    let action = if restart {
        "hold.restart"
    } else {
        "hold.release"
    };
    caller
        .audit(
            state,
            tenant,
            (KIND, &job.key),
            action,
            &format!("hold {}", job.key),
        )
        .await?;
    state.wake();
    Ok(job)
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/dead-letters", tag = "dead letters",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "The tenant's dead letters, oldest first", body = [DeadLetterView]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn dead_letters(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<DeadLetterView>>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let letters = journeys::dead_letters(&state.ctx, Some(&tenant), None)
        .await
        .map_err(from_service)?;
    Ok(Json(letters.iter().map(DeadLetterView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/dead-letters/{id}/retry", tag = "dead letters",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("id" = i64, Path, description = "The dead letter's id")),
    responses(
        (status = 200, description = "The run is queued again from its last checkpoint", body = Retried),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or dead letter", body = ErrorBody),
        (status = 409, description = "Already retried", body = ErrorBody)))]
pub async fn retry(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, id)): Path<(String, i64)>,
) -> Result<Json<Retried>, ApiError> {
    let (id, job) = retry_dead(&state, &caller, &tenant, id).await?;
    Ok(Json(Retried {
        dead_letter: id,
        run: Run::from(&job),
    }))
}

/// Admits `caller` to `tenant`'s dead letter `id`. A dead letter is found by id across
/// tenants: another tenant's is as absent as none (404).
pub(crate) async fn own_letter(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    id: i64,
) -> Result<(), ApiError> {
    caller.tenant(state, tenant)?;
    let letter = journeys::dead_letter(&state.ctx, Letter::Id(id))
        .await
        .map_err(from_service)?;
    if letter.tenant != tenant {
        return Err(ApiError::NotFound(format!(
            "dead letter {id} is not tenant {tenant:?}'s"
        )));
    }
    Ok(())
}

/// Retries a dead letter for `caller` (the API's and the console's retry): another tenant's
/// letter is as absent as none; the retry is audited with the token's id and wakes the workers.
pub(crate) async fn retry_dead(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    id: i64,
) -> Result<(i64, Job), ApiError> {
    own_letter(state, caller, tenant, id).await?;
    let (id, job) = journeys::replay(&state.ctx, Letter::Id(id))
        .await
        .map_err(from_service)?;
    caller
        .audit(
            state,
            tenant,
            (&job.kind, &job.key),
            "dead-letter.retry",
            &format!("dead letter {id}"),
        )
        .await?;
    state.wake();
    Ok((id, job))
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
