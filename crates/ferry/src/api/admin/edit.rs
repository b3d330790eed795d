//! Edit-and-retry over the admin API: `PUT …/runs/{run}/order` replaces a stopped quote's
//! mapped order and queues the run again at validation ([`crate::services::edit`]).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::runs::Run;
use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::edit::{self, Edited, FieldChange};

/// What an edit did.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditedRun {
    /// The run, queued again at step `mapped` (validation runs on the corrected order).
    pub run: Run,
    /// The order fields the edit changed.
    pub changed: Vec<FieldChange>,
}

#[utoipa::path(put, path = "/api/v1/tenants/{tenant}/runs/{run}/order", tag = "runs",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("run" = String, Path, description = "The quote's id or number")),
    request_body(content = Object, description = "The corrected mapped order: the run detail's `checkpoint.order` document (kind, id, fields, lines)"),
    responses(
        (status = 200, description = "Order replaced; the run is queued again from validation", body = EditedRun),
        (status = 400, description = "Not an order document; nothing stored", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or run", body = ErrorBody),
        (status = 409, description = "Not editable: not held or dead, or an M3 write was begun", body = ErrorBody)))]
pub async fn edit_order(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, run)): Path<(String, String)>,
    Json(order): Json<Value>,
) -> Result<Json<EditedRun>, ApiError> {
    let edited = edit_for(&state, &caller, &tenant, &run, &order).await?;
    Ok(Json(EditedRun {
        run: Run::from(&edited.job),
        changed: edited.changed,
    }))
}

/// Edits a run's order for `caller` (the API's and the console's): admits the tenant, edits,
/// audits it with the token's id and wakes the workers.
pub(crate) async fn edit_for(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    run: &str,
    order: &Value,
) -> Result<Edited, ApiError> {
    caller.tenant(state, tenant)?;
    let edited = edit::edit_order(&state.ctx, tenant, run, order, &caller.token.id)
        .await
        .map_err(from_service)?;
    let fields: Vec<&str> = edited.changed.iter().map(|c| c.field.as_str()).collect();
    let target = format!("order of {} ({})", edited.job.key, fields.join(", "));
    caller
        .audit(
            state,
            tenant,
            (&edited.job.kind, &edited.job.key),
            "run.edit",
            &target,
        )
        .await?;
    state.wake();
    Ok(edited)
}
