//! A tenant's mappings over the admin API ([`crate::services::mappings`]): the mapping of a kind
//! with both sides' fields and its rules, a preview on the last real document, suggestions
//! with scores, and versions: save (a new version, active at once), activate, roll back. A
//! bad mapping is 400 naming line and column and stores nothing; every change is audited.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::mappings::{self, MappingView, Preview, SuggestionView};
use crate::services::mappings_versions::VersionMeta;

/// A mapping's TOML text.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MappingText {
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ActivateVersion {
    /// The saved version to serve; 0: the configured mapping.
    pub version: u32,
}

/// Which version serves a kind now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActiveMapping {
    pub kind: String,
    /// 0: the configured mapping.
    pub active_version: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SuggestQuery {
    /// Candidates per field (1..10, default 3).
    pub top: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/mappings/{kind}", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("kind" = String, Path, description = "quote-to-order, quote-to-customer, customer-to-erp, customer-to-quoting or item-to-product")),
    responses(
        (status = 200, description = "The serving mapping, both sides' fields, its rules and versions", body = MappingView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, or no such kind", body = ErrorBody)))]
pub async fn get_mapping(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, kind)): Path<(String, String)>,
) -> Result<Json<MappingView>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let view = mappings::view(&state.ctx, &tenant, &kind)
        .await
        .map_err(from_service)?;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/mappings/{kind}/preview", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("kind" = String, Path, description = "The mapping's kind")),
    request_body = MappingText,
    responses(
        (status = 200, description = "The text mapped over the last real document of the kind (nothing stored or sent), or why there is none", body = Preview),
        (status = 400, description = "Not a mapping of this kind: the reason starts with its line and column", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, or no such kind", body = ErrorBody)))]
pub async fn preview(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, kind)): Path<(String, String)>,
    Json(body): Json<MappingText>,
) -> Result<Json<Preview>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let preview = mappings::preview(&state.ctx, &tenant, &kind, &body.text)
        .await
        .map_err(from_service)?;
    Ok(Json(preview))
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/mappings/{kind}/suggestions", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("kind" = String, Path, description = "The mapping's kind"), SuggestQuery),
    responses(
        (status = 200, description = "For each target field the serving mapping leaves unfilled, rules with scores (0..1), best first", body = [SuggestionView]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, or no such kind", body = ErrorBody)))]
pub async fn suggestions(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, kind)): Path<(String, String)>,
    Query(q): Query<SuggestQuery>,
) -> Result<Json<Vec<SuggestionView>>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let found = mappings::suggestions(&state.ctx, &tenant, &kind, None, q.top.unwrap_or(3))
        .await
        .map_err(from_service)?;
    Ok(Json(found))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/mappings/{kind}/versions", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("kind" = String, Path, description = "The mapping's kind")),
    request_body = MappingText,
    responses(
        (status = 201, description = "Saved as the next version, which now serves the tenant's documents of this kind", body = VersionMeta),
        (status = 400, description = "Not a mapping of this kind (line and column in the reason): nothing stored", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, or no such kind", body = ErrorBody)))]
pub async fn save(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, kind)): Path<(String, String)>,
    Json(body): Json<MappingText>,
) -> Result<(StatusCode, Json<VersionMeta>), ApiError> {
    let meta = save_for(&state, &caller, &tenant, &kind, &body.text).await?;
    Ok((StatusCode::CREATED, Json(meta)))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/mappings/{kind}/activate", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("kind" = String, Path, description = "The mapping's kind")),
    request_body = ActivateVersion,
    responses(
        (status = 200, description = "The version now serves", body = ActiveMapping),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, kind or version", body = ErrorBody)))]
pub async fn activate(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, kind)): Path<(String, String)>,
    Json(body): Json<ActivateVersion>,
) -> Result<Json<ActiveMapping>, ApiError> {
    Ok(Json(
        activate_for(&state, &caller, &tenant, &kind, Some(body.version)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/mappings/{kind}/rollback", tag = "mappings",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("kind" = String, Path, description = "The mapping's kind")),
    responses(
        (status = 200, description = "The version active before serves again", body = ActiveMapping),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token, or no such kind", body = ErrorBody),
        (status = 409, description = "No earlier version to roll back to", body = ErrorBody)))]
pub async fn rollback(
    State(state): State<AdminState>,
    caller: Caller,
    Path((tenant, kind)): Path<(String, String)>,
) -> Result<Json<ActiveMapping>, ApiError> {
    Ok(Json(
        activate_for(&state, &caller, &tenant, &kind, None).await?,
    ))
}

/// Saves a new version for `caller` (the API's and the console's save), audited.
pub(crate) async fn save_for(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    kind: &str,
    text: &str,
) -> Result<VersionMeta, ApiError> {
    caller.tenant(state, tenant)?;
    let meta = mappings::save(&state.ctx, tenant, kind, text, &caller.token.id)
        .await
        .map_err(from_service)?;
    caller
        .audit(
            state,
            tenant,
            ("mapping", kind),
            "mapping.save",
            &format!("{kind} mapping version {} ({})", meta.version, meta.sha256),
        )
        .await?;
    Ok(meta)
}

/// Activates `version` (None: rolls back) for `caller`, audited.
pub(crate) async fn activate_for(
    state: &AdminState,
    caller: &Caller,
    tenant: &str,
    kind: &str,
    version: Option<u32>,
) -> Result<ActiveMapping, ApiError> {
    caller.tenant(state, tenant)?;
    let (index, action) = match version {
        Some(v) => (
            mappings::activate(&state.ctx, tenant, kind, v).await,
            "mapping.activate",
        ),
        None => (
            mappings::rollback(&state.ctx, tenant, kind).await,
            "mapping.rollback",
        ),
    };
    let index = index.map_err(from_service)?;
    caller
        .audit(
            state,
            tenant,
            ("mapping", kind),
            action,
            &format!("{kind} mapping version {}", index.active),
        )
        .await?;
    Ok(ActiveMapping {
        kind: kind.to_string(),
        active_version: index.active,
    })
}
