//! A tenant's health per flow over the last hour and its connections' last checks, and its
//! runs and audit as JSON lines.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::connections::{self, ConnectionStatus};
use crate::services::export;
use crate::services::health::{self, FlowHealth, RunsPerMinute};

/// One flow's figures (the last hour, and now).
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowHealthView {
    /// The job kind: quote-to-order, catalog-sync, order-status.
    pub flow: String,
    /// Jobs that ended (done or dead) in the last hour.
    pub finished: i64,
    pub succeeded: i64,
    /// Percent of `finished` that succeeded; null when nothing finished.
    pub success_rate: Option<f64>,
    /// Held for a person now.
    pub holds: i64,
    /// Dead now (not retried, not resolved).
    pub dead_letters: i64,
    pub queued: i64,
    /// Seconds the longest-waiting due job has waited (0: none waits).
    pub lag_secs: i64,
    /// Set while the flow is paused: its jobs wait unclaimed until resumed.
    pub paused_at: Option<String>,
    /// The token that paused it.
    pub paused_by: Option<String>,
    /// Jobs that ended (done or dead) per minute over the last 5, 15 and 60 minutes.
    pub runs_per_minute: RunsPerMinute,
}

impl From<FlowHealth> for FlowHealthView {
    fn from(h: FlowHealth) -> Self {
        FlowHealthView {
            flow: h.flow,
            finished: h.finished,
            succeeded: h.succeeded,
            success_rate: h.success_rate,
            holds: h.holds,
            dead_letters: h.dead_letters,
            queued: h.queued,
            lag_secs: h.lag_secs,
            paused_at: h.paused_at,
            paused_by: h.paused_by,
            runs_per_minute: h.runs_per_minute,
        }
    }
}

/// One connection's last check by this node (an OAuth grant for M3, `SELECT 1` for SQL).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    /// Its name in the tenant's config.
    pub name: String,
    /// `http (OAuth grant)`, `http` (no credentials to try), `sqlite` or `sqlserver`.
    pub kind: String,
    /// Whether the last check succeeded; null: not checked yet.
    pub ok: Option<bool>,
    /// What the last check found, or why it failed (never a secret).
    pub detail: Option<String>,
    /// What to do about a failure.
    pub fix: Option<String>,
    /// When it was last checked (RFC 3339).
    pub checked_at: Option<String>,
}

impl From<ConnectionStatus> for ConnectionView {
    fn from(c: ConnectionStatus) -> Self {
        ConnectionView {
            name: c.name,
            kind: c.kind,
            ok: c.ok,
            detail: c.detail,
            fix: c.fix,
            checked_at: c.checked_at,
        }
    }
}

/// A tenant's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantHealth {
    pub tenant: String,
    /// How far back `finished` and `success_rate` reach, in seconds.
    pub window_secs: i64,
    pub flows: Vec<FlowHealthView>,
    /// Each configured connection, by name, with its last check.
    pub connections: Vec<ConnectionView>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/health", tag = "health",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "Per flow: runs finished and success rate over the last hour, holds, dead letters, queue and lag now; per connection: its last check", body = TenantHealth),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn health(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<TenantHealth>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let flows = health::tenant_health(&state.ctx, &tenant)
        .await
        .map_err(from_service)?;
    let conns = connections::tenant_status(&state.ctx, &tenant).map_err(from_service)?;
    Ok(Json(TenantHealth {
        tenant,
        window_secs: health::WINDOW_SECS,
        flows: flows.into_iter().map(FlowHealthView::from).collect(),
        connections: conns.into_iter().map(ConnectionView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// Only what changed (runs) or happened (audit) at or after this time (RFC 3339).
    pub since: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/export/runs", tag = "export",
    params(("tenant" = String, Path, description = "Tenant name"), ExportQuery),
    responses(
        (status = 200, description = "One JSON object per line per run (every flow), in id order", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "`since` is not RFC 3339", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn export_runs(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.tenant(&state, &tenant)?;
    let since = export::since(q.since.as_deref()).map_err(from_service)?;
    let lines = export::runs(&state.ctx, &tenant, since.as_deref())
        .await
        .map_err(from_service)?;
    Ok(ndjson(lines))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/export/audit", tag = "export",
    params(("tenant" = String, Path, description = "Tenant name"), ExportQuery),
    responses(
        (status = 200, description = "One JSON object per line per audit entry of the tenant's runs, oldest first", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "`since` is not RFC 3339", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn export_audit(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.tenant(&state, &tenant)?;
    let since = export::since(q.since.as_deref()).map_err(from_service)?;
    let lines = export::audit(&state.ctx, &tenant, since.as_deref())
        .await
        .map_err(from_service)?;
    Ok(ndjson(lines))
}

fn ndjson(lines: Vec<serde_json::Value>) -> Response {
    let mut body = String::new();
    for line in lines {
        body.push_str(&line.to_string());
        body.push('\n');
    }
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
