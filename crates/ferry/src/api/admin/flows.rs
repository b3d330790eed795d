//! Pause, resume and run-now per tenant and flow (every one of `services::controls::FLOWS`).
//! Each is audited with the caller's token.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::controls;

/// A flow's pause state after a pause or resume.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowState {
    pub flow: String,
    /// Whether its jobs wait unclaimed now.
    pub paused: bool,
    /// Since when (set while paused).
    pub paused_at: Option<String>,
    /// The token that paused it.
    pub paused_by: Option<String>,
    /// A resume of a flow that was not paused changes nothing (false).
    pub changed: bool,
}

/// What a run-now did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RanNow {
    pub flow: String,
    /// Jobs it queued (new ready quotes, moved orders; 1 for a catalog delta, 0 when one is
    /// queued or running already).
    pub queued: usize,
    /// The flow is paused: what was queued waits for a resume.
    pub paused: bool,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/flows/{flow}/pause", tag = "flows",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("flow" = String, Path, description = "quote-to-order, order-status, catalog-sync, price-sync, stock-sync or customer-sync")),
    responses(
        (status = 200, description = "Paused: no node claims its jobs until resumed; intake still stores them", body = FlowState),
        (status = 400, description = "Unknown flow", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn pause(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, flow)): Path<(String, String)>,
) -> Result<Json<FlowState>, ApiError> {
    Ok(Json(pause_flow(&state, &caller, &tenant, &flow).await?))
}

/// Pauses for `caller` (the API's and the console's), audited.
pub(crate) async fn pause_flow(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    flow: &str,
) -> Result<FlowState, ApiError> {
    caller.tenant(state, tenant)?;
    let before = controls::pauses(&state.ctx, tenant)
        .await
        .map_err(from_service)?;
    let pause = controls::pause(&state.ctx, tenant, flow, Some(&caller.token.id))
        .await
        .map_err(from_service)?;
    let changed = !before.iter().any(|p| p.flow == flow);
    if changed {
        caller
            .audit(
                state,
                tenant,
                (flow, flow),
                "flow.pause",
                &format!("flow {flow}"),
            )
            .await?;
    }
    Ok(FlowState {
        flow: pause.flow,
        paused: true,
        paused_at: Some(pause.paused_at),
        paused_by: pause.paused_by,
        changed,
    })
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/flows/{flow}/resume", tag = "flows",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("flow" = String, Path, description = "quote-to-order, order-status, catalog-sync, price-sync, stock-sync or customer-sync")),
    responses(
        (status = 200, description = "Resumed: its waiting jobs are claimed again", body = FlowState),
        (status = 400, description = "Unknown flow", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn resume(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, flow)): Path<(String, String)>,
) -> Result<Json<FlowState>, ApiError> {
    Ok(Json(resume_flow(&state, &caller, &tenant, &flow).await?))
}

/// Resumes for `caller`, audited; wakes the workers.
pub(crate) async fn resume_flow(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    flow: &str,
) -> Result<FlowState, ApiError> {
    caller.tenant(state, tenant)?;
    let changed = controls::resume(&state.ctx, tenant, flow)
        .await
        .map_err(from_service)?;
    if changed {
        caller
            .audit(
                state,
                tenant,
                (flow, flow),
                "flow.resume",
                &format!("flow {flow}"),
            )
            .await?;
        state.wake();
    }
    Ok(FlowState {
        flow: flow.to_string(),
        paused: false,
        paused_at: None,
        paused_by: None,
        changed,
    })
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/flows/{flow}/run", tag = "flows",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("flow" = String, Path, description = "quote-to-order, order-status, catalog-sync, price-sync, stock-sync or customer-sync")),
    responses(
        (status = 200, description = "Polled (quotes, order statuses) or queued a catalog delta now", body = RanNow),
        (status = 400, description = "Unknown flow, or the poll failed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn run_now(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, flow)): Path<(String, String)>,
) -> Result<Json<RanNow>, ApiError> {
    Ok(Json(run_flow(&state, &caller, &tenant, &flow).await?))
}

/// Runs the flow now for `caller`, audited; wakes the workers.
pub(crate) async fn run_flow(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    flow: &str,
) -> Result<RanNow, ApiError> {
    caller.tenant(state, tenant)?;
    let ran = controls::run_now(&state.ctx, tenant, flow)
        .await
        .map_err(from_service)?;
    caller
        .audit(
            state,
            tenant,
            (flow, flow),
            "flow.run-now",
            &format!("flow {flow}"),
        )
        .await?;
    for _ in 0..ran.queued.max(1) {
        state.wake();
    }
    Ok(RanNow {
        flow: ran.flow,
        queued: ran.queued,
        paused: ran.paused,
    })
}
