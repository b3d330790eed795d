//! Quoting webhooks: `/hooks/{tenant}/quoting` (and the old `/hooks/{tenant}/quotewerks`). The
//! host checks the tenant's shared secret (constant time) before any plugin code runs and
//! removes its header; the tenant's quoting role then parses the body; the event is stored
//! durably and deduplicated by its event id, its job queued by the flow, and only then is 202
//! answered. Forged, malformed or oversized requests store nothing. An unknown tenant gets the
//! same 401 as a wrong secret.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use ferry_domain::InboundWebhook;
use serde_json::{Value as Json, json};

use super::{ApiError, ApiState, unavailable};
use crate::flows::intake;
use crate::tenant::TenantEnv;
use ferry_store::Ingested;

pub async fn quoting_webhook(
    State(state): State<ApiState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Json>), ApiError> {
    let Some(env) = state.tenants.get(&tenant).cloned() else {
        return Err(ApiError::Unauthorized(
            "webhook for an unknown tenant".into(),
        ));
    };
    if !secret_matches(&env, &headers) {
        return Err(ApiError::Unauthorized(format!(
            "tenant {tenant}: webhook secret missing or wrong"
        )));
    }
    let webhook = InboundWebhook {
        // The secret stays with the host: the plugin gets every header but that one.
        headers: headers
            .iter()
            .filter(|(k, _)| **k != env.webhook_header)
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let event = env
        .roles()
        .quoting
        .parse_webhook(&webhook)
        .await
        .map_err(|e| ApiError::from_role(&tenant, "parse-webhook", e))?;
    let ready = env.policy.ready_status.as_deref();
    let outcome = intake::quote_event(state.store.as_ref(), &tenant, ready, &event)
        .await
        .map_err(|e| unavailable(&tenant, "storing a webhook", e))?;
    if outcome == Ingested::Queued {
        // One permit per queued job: a worker that is busy right now still gets it.
        state.wake.notify_one();
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "outcome": outcome, "quote_id": event.quote_id })),
    ))
}

/// Whether the request carries the tenant's webhook secret (compared in constant time). A
/// tenant without that secret configured accepts nothing.
fn secret_matches(env: &TenantEnv, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(&env.webhook_header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    env.host.webhook_matches(presented)
}
