//! Who is calling: the bearer token on the request, checked against the store's tokens. A
//! missing, malformed, unknown or revoked token is 401; a tenant outside the token's scope is
//! 404 ([`Caller::tenant`]), exactly like a tenant that is not configured.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde_json::json;

use super::{AdminState, from_service};
use crate::api::ApiError;
use crate::services::tokens::{self, Scope};
use ferry_store::ApiToken;

/// The token a request was made with.
pub struct Caller {
    pub token: ApiToken,
    pub scope: Scope,
    /// Which surface the request came through, for the audit trail.
    pub via: Via,
}

/// Where a change was made: its audit entry's step says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    AdminApi,
    Console,
}

impl Via {
    fn step(self) -> &'static str {
        match self {
            Via::AdminApi => "admin-api",
            Via::Console => "console",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Via::AdminApi => "admin API",
            Via::Console => "console",
        }
    }
}

/// Any router whose state holds the admin state (the availability lookup's) admits callers
/// the same way.
impl<S> FromRequestParts<S> for Caller
where
    AdminState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = &AdminState::from_ref(state);
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::Unauthorized("admin API: no bearer token".into()))?;
        let store = state.ctx.open_store().await.map_err(from_service)?;
        let token = tokens::authenticate(&*store, secret)
            .await
            .map_err(from_service)?
            .ok_or_else(|| ApiError::Unauthorized("admin API: unknown or revoked token".into()))?;
        Ok(Caller {
            scope: Scope::of(&token),
            token,
            via: Via::AdminApi,
        })
    }
}

impl Caller {
    /// Admits the caller to `tenant`: 404 when the token may not see it or it is not
    /// configured, the same answer either way.
    pub fn tenant(&self, state: &AdminState, tenant: &str) -> Result<(), ApiError> {
        if self.scope.allows(tenant) && state.ctx.tenant(tenant).is_ok() {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!(
                "token {} asked for tenant {tenant:?}",
                self.token.id
            )))
        }
    }

    /// Records a change this caller made: which token, what, on what (the store adds when).
    pub async fn audit(
        &self,
        state: &AdminState,
        tenant: &str,
        (kind, key): (&str, &str),
        action: &str,
        target: &str,
    ) -> Result<(), ApiError> {
        let store = state.ctx.open_store().await.map_err(from_service)?;
        let message = format!(
            "{action} {target} by token {} ({})",
            self.token.id,
            self.via.label()
        );
        let data = json!({ "token": self.token.id, "action": action, "target": target });
        store
            .audit(tenant, kind, key, self.via.step(), &message, &data)
            .await
            .map_err(|e| from_service(e.into()))
    }
}
