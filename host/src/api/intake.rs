//! Webhook intake: the tenant's quoting connector verifies the shared secret (constant time,
//! through the host's `secrets` import) and parses the body; the event is stored durably and
//! deduplicated, and only then is 202 answered. Forged, malformed or oversized requests store
//! nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{ApiState, Reply, reply};
use crate::flows::quote_to_order::{Checkpoint, KIND};
use crate::flows::{describe, now_ms};
use crate::runtime::Role;
use crate::runtime::bindings::quoting::InboundWebhook;
use crate::runtime::bindings::types::Error as PluginError;
use crate::store::{Ingested, NewJob};

pub async fn quotewerks_webhook(
    State(state): State<ApiState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let Some(env) = state.tenants.get(&tenant).cloned() else {
        return reply(StatusCode::NOT_FOUND, format!("no tenant '{tenant}'"));
    };
    let plugin = match env.plugin(Role::Quoting) {
        Ok(p) => p,
        Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let webhook = InboundWebhook {
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let parsed = async {
        let mut call = env
            .runtime()
            .quoting(&plugin, env.grants(Role::Quoting))
            .await?;
        let (q, s) = call.parts();
        let r = q
            .ferry_plugin_quoting()
            .call_parse_webhook(s, &webhook)
            .await;
        call.finish(r)
    }
    .await;
    let event = match parsed {
        Ok(Ok(event)) => event,
        Ok(Err(PluginError::Unauthorized(m))) => {
            tracing::warn!(%tenant, "webhook refused: {m}");
            return reply(StatusCode::UNAUTHORIZED, "webhook authentication failed");
        }
        Ok(Err(e @ PluginError::Invalid(_))) => {
            return reply(StatusCode::BAD_REQUEST, describe(&e));
        }
        Ok(Err(e)) => return reply(StatusCode::SERVICE_UNAVAILABLE, describe(&e)),
        Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let ready = match (&env.policy.ready_status, &event.status) {
        (Some(want), Some(got)) => want.eq_ignore_ascii_case(got.trim()),
        _ => true,
    };
    let payload = json!({
        "event_id": event.event_id, "quote_id": event.quote_id, "event": event.event,
        "status": event.status, "occurred_at": event.occurred_at,
    });
    let checkpoint =
        match serde_json::to_value(Checkpoint::new(&event.quote_id, Some(payload.clone()))) {
            Ok(c) => c,
            Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
    let job = ready.then_some(NewJob {
        tenant: &tenant,
        kind: KIND,
        key: &event.quote_id,
        checkpoint,
    });
    match state.store.ingest(
        &tenant,
        "quotewerks",
        &event.event_id,
        &payload,
        job,
        now_ms(),
    ) {
        Ok(outcome) => {
            if outcome == Ingested::Queued {
                // One permit per queued job: a worker that is busy right now still gets it.
                state.wake.notify_one();
            }
            (
                StatusCode::ACCEPTED,
                Json(json!({ "outcome": outcome, "quote_id": event.quote_id })),
            )
        }
        Err(e) => {
            tracing::error!(%tenant, "storing a webhook failed: {e}");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "could not store the event; retry",
            )
        }
    }
}
