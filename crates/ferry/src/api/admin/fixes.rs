//! A held quote's suggested fixes (`services::fixes`): list them, accept one. Routed with
//! their own state (the admin state and where the ERP is asked), so tests give a fake ERP.

use std::sync::Arc;

use axum::extract::{FromRef, Path, State};
use axum::routing::get;
use axum::{Json, Router};

use super::{AdminState, Caller, ErrorBody, Via, from_service};
use crate::api::ApiError;
use crate::services::fixes::{self, Accept, Accepted, FixError, HoldFixes, Lookups, PluginLookups};

/// The admin state and the ERP the suggestions ask.
#[derive(Clone)]
pub struct FixesState {
    pub admin: AdminState,
    pub lookups: Arc<dyn Lookups>,
}

impl FromRef<FixesState> for AdminState {
    fn from_ref(state: &FixesState) -> AdminState {
        state.admin.clone()
    }
}

/// The fixes routes over the tenants' plugins.
pub fn router(admin: AdminState) -> Router {
    router_with(admin, Arc::new(PluginLookups))
}

/// The fixes routes asking `lookups` (tests: a fake ERP).
pub(crate) fn router_with(admin: AdminState, lookups: Arc<dyn Lookups>) -> Router {
    Router::new()
        .route(
            "/api/v1/tenants/{tenant}/holds/{quote}/fixes",
            get(list).post(accept),
        )
        .with_state(FixesState { admin, lookups })
}

/// A fix's failure as the API answers it.
pub(crate) fn from_fix(e: FixError) -> ApiError {
    match e {
        FixError::Service(e) => from_service(e),
        FixError::Erp(why) => ApiError::Unavailable(why),
        FixError::NotForThisHold(why) => ApiError::Invalid(why),
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/holds/{quote}/fixes", tag = "holds",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("quote" = String, Path, description = "The held quote's id or number")),
    responses(
        (status = 200, description = "What the hold waits on, each with suggestions (score 0..1, why), best first", body = HoldFixes),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or quote", body = ErrorBody),
        (status = 409, description = "The run is not held", body = ErrorBody),
        (status = 503, description = "The ERP could not be asked", body = ErrorBody)))]
pub async fn list(
    State(state): State<FixesState>,
    caller: Caller,
    Path((tenant, quote)): Path<(String, String)>,
) -> Result<Json<HoldFixes>, ApiError> {
    caller.tenant(&state.admin, &tenant)?;
    let found = fixes::suggest(&state.admin.ctx, &*state.lookups, &tenant, &quote)
        .await
        .map_err(from_fix)?;
    Ok(Json(found))
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/holds/{quote}/fixes", tag = "holds",
    params(("tenant" = String, Path, description = "Tenant name"),
        ("quote" = String, Path, description = "The held quote's id or number")),
    request_body(content = Accept, description = "The suggestion accepted: the problem's kind and from, the suggestion's id as to"),
    responses(
        (status = 200, description = "Recorded (a substitute or customer cross-reference) and the hold released; the same accept again answers released false", body = Accepted),
        (status = 400, description = "Not a suggestion for this hold", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant or quote", body = ErrorBody),
        (status = 409, description = "The run is not held (and this was not accepted before)", body = ErrorBody),
        (status = 503, description = "The ERP could not be asked", body = ErrorBody)))]
pub async fn accept(
    State(state): State<FixesState>,
    caller: Caller,
    Path((tenant, quote)): Path<(String, String)>,
    Json(body): Json<Accept>,
) -> Result<Json<Accepted>, ApiError> {
    accept_fix(&state, &caller, &tenant, &quote, &body)
        .await
        .map(Json)
}

/// Accepts a fix for `caller` (the API's and the console's): admits the tenant, records and
/// audits it with the token's id, and wakes the workers when the hold was released.
pub(crate) async fn accept_fix(
    state: &FixesState,
    caller: &Caller,
    tenant: &str,
    quote: &str,
    body: &Accept,
) -> Result<Accepted, ApiError> {
    caller.tenant(&state.admin, tenant)?;
    let (label, step) = match caller.via {
        Via::AdminApi => ("admin API", "admin-api"),
        Via::Console => ("console", "console"),
    };
    let done = fixes::accept(
        &state.admin.ctx,
        &*state.lookups,
        tenant,
        quote,
        body,
        fixes::Actor {
            token: &caller.token.id,
            via: label,
            step,
        },
    )
    .await
    .map_err(from_fix)?;
    if done.released {
        state.admin.wake();
    }
    Ok(done)
}
