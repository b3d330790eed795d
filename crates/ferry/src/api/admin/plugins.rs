//! A tenant's plugins: what is installed per role and which is active; activating another
//! (checked against the role's grants first, like `ferry plugin activate`).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use std::sync::Arc;

use crate::runtime::{Plugin, Role};
use crate::services::plugins::{self, PluginRow};

/// One installed component of a tenant's role.
#[derive(Debug, Serialize, ToSchema)]
pub struct PluginView {
    pub role: String,
    /// sha256 of the component, hex.
    pub digest: String,
    pub name: Option<String>,
    pub version: Option<String>,
    /// The contract package it was built against (`ferry:erp@1.1.0`).
    pub contract: Option<String>,
    pub installed_at: String,
    pub active: bool,
}

impl From<PluginRow> for PluginView {
    fn from(r: PluginRow) -> Self {
        PluginView {
            role: r.role,
            digest: r.digest,
            name: r.name,
            version: r.version,
            contract: r.contract,
            installed_at: r.installed_at,
            active: r.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivateRequest {
    /// The installed component's digest, or a unique prefix of it.
    pub digest: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Activated {
    pub role: String,
    /// The full digest now serving the role.
    pub digest: String,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/plugins", tag = "plugins",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "Installed components, by role", body = [PluginView]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn list(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<PluginView>>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let rows = plugins::list(&state.ctx, Some(&tenant))
        .await
        .map_err(from_service)?;
    Ok(Json(rows.into_iter().map(PluginView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/plugins/{role}/activate", tag = "plugins",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("role" = String, Path, description = "erp, quoting or transform")),
    request_body = ActivateRequest,
    responses(
        (status = 200, description = "The component now serves the role", body = Activated),
        (status = 400, description = "Not installed, ambiguous, or needs an ungranted connection", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or role", body = ErrorBody)))]
pub async fn activate(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, role)): Path<(String, String)>,
    Json(body): Json<ActivateRequest>,
) -> Result<Json<Activated>, ApiError> {
    let (role, plugin) = activate_for(&state, &caller, &tenant, &role, &body.digest).await?;
    Ok(Json(Activated {
        role: role.as_str().to_string(),
        digest: plugin.digest.clone(),
    }))
}

/// Activates an installed component for `caller` (the API's and the console's activate): the
/// grant check first (in the service), then the audit with the token's id.
pub(crate) async fn activate_for(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    role: &str,
    digest: &str,
) -> Result<(Role, Arc<Plugin>), ApiError> {
    caller.tenant(state, tenant)?;
    let role: Role =
        Role::parse(role).ok_or_else(|| ApiError::NotFound(format!("role {role:?}")))?;
    let plugin = plugins::activate(&state.ctx, tenant, role, digest)
        .await
        .map_err(from_service)?;
    caller
        .audit(
            state,
            tenant,
            ("plugin", role.as_str()),
            "plugin.activate",
            &format!("{} plugin {}", role.as_str(), plugin.digest),
        )
        .await?;
    Ok((role, plugin))
}

/// Goes back to the role's previously active component for `caller` (grant check in the
/// service), audited with the token's id.
pub(crate) async fn rollback_for(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    role: &str,
) -> Result<(Role, Arc<Plugin>), ApiError> {
    caller.tenant(state, tenant)?;
    let role: Role =
        Role::parse(role).ok_or_else(|| ApiError::NotFound(format!("role {role:?}")))?;
    let plugin = plugins::rollback(&state.ctx, tenant, role)
        .await
        .map_err(from_service)?;
    caller
        .audit(
            state,
            tenant,
            ("plugin", role.as_str()),
            "plugin.rollback",
            &format!("{} plugin {}", role.as_str(), plugin.digest),
        )
        .await?;
    Ok((role, plugin))
}
