//! A tenant's alert rules (`[tenants.T.alerts]`), each evaluated now, with what each channel
//! was last sent.

use axum::Json;
use axum::extract::{Path, State};

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::alerts::{self, TenantAlertsStatus};

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/alerts", tag = "alerts",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "Each configured alert rule with its settings, evaluated now (holding or clear, summary, examples), and per channel whether it was last sent FIRING", body = TenantAlertsStatus),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn alerts(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<TenantAlertsStatus>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let status = alerts::tenant_alerts(&state.ctx, &tenant)
        .await
        .map_err(from_service)?;
    Ok(Json(status))
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
