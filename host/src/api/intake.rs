//! Webhook intake: the host checks the tenant's shared secret (constant time) before any plugin
//! code runs and removes its header; the tenant's quoting connector then parses the body; the
//! event is stored durably and deduplicated, and only then is 202 answered. Forged, malformed
//! or oversized requests store nothing. An unknown tenant gets the same 401 as a wrong secret.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{ApiState, Reply, call_failed, reply};
use crate::flows::quote_to_order::{Checkpoint, KIND};
use crate::flows::{describe, now_ms};
use crate::runtime::Role;
use crate::runtime::bindings::quoting::InboundWebhook;
use crate::runtime::bindings::types::Error as PluginError;
use crate::store::{Ingested, NewJob};
use crate::tenant::TenantEnv;

pub async fn quotewerks_webhook(
    State(state): State<ApiState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let Some(env) = state.tenants.get(&tenant).cloned() else {
        return reply(StatusCode::UNAUTHORIZED, "webhook for an unknown tenant");
    };
    if !secret_matches(&env, &headers) {
        return reply(
            StatusCode::UNAUTHORIZED,
            format_args!("tenant {tenant}: webhook secret missing or wrong"),
        );
    }
    let plugin = match env.plugin(Role::Quoting) {
        Ok(p) => p,
        Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let webhook = InboundWebhook {
        // The secret stays with the host: the plugin gets every header but that one.
        headers: headers
            .iter()
            .filter(|(k, _)| **k != env.webhook_header)
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let guest_env = env.clone();
    let parsed = env
        .runtime()
        .run_guest(async move {
            let env = guest_env;
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
        })
        .await;
    let event = match parsed {
        Ok(Ok(event)) => event,
        Ok(Err(PluginError::Unauthorized(m))) => {
            return reply(
                StatusCode::UNAUTHORIZED,
                format_args!("tenant {tenant}: the connector refused the webhook: {m}"),
            );
        }
        Ok(Err(e @ PluginError::Invalid(_))) => return Reply::invalid(&describe(&e)),
        Ok(Err(e)) => {
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                format_args!("tenant {tenant}: parse-webhook: {}", describe(&e)),
            );
        }
        Err(e) => return call_failed(&tenant, "parse-webhook", e),
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
            Err(e) => return reply(StatusCode::INTERNAL_SERVER_ERROR, e),
        };
    // SQLite is synchronous (and may wait on a lock): keep it off the async threads.
    let store = state.store.clone();
    let (t, quote_id, event_id) = (tenant.clone(), event.quote_id.clone(), event.event_id);
    let stored = tokio::task::spawn_blocking(move || {
        let job = ready.then_some(NewJob {
            tenant: &t,
            kind: KIND,
            key: &quote_id,
            checkpoint,
        });
        store.ingest(&t, "quotewerks", &event_id, &payload, job, now_ms())
    })
    .await;
    match stored {
        Ok(Ok(outcome)) => {
            if outcome == Ingested::Queued {
                // One permit per queued job: a worker that is busy right now still gets it.
                state.wake.notify_one();
            }
            Reply::ok(
                StatusCode::ACCEPTED,
                json!({ "outcome": outcome, "quote_id": event.quote_id }),
            )
        }
        Ok(Err(e)) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            format_args!("tenant {tenant}: storing a webhook failed: {e}"),
        ),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            format_args!("tenant {tenant}: storing a webhook: {e}"),
        ),
    }
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
