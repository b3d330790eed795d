//! An IMS-compatible endpoint for ION: BODs arrive as multipart (ParameterRequest +
//! MessagePayload) or as a bare document. The tenant's ERP connector parses the payload into
//! change notifications; order changes refresh the quote's status. Authenticated by a bearer
//! token from the tenant's `[host]` table (never a plugin's grant); an unknown tenant gets the
//! same 401 as a wrong token.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::{ApiState, Reply, call_failed, reply};
use crate::flows::{describe, status};
use crate::runtime::Role;
use crate::runtime::bindings::types::{ChangeAction, Entity};

pub async fn events(
    State(state): State<ApiState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let Some(env) = state.tenants.get(&tenant).cloned() else {
        return reply(StatusCode::UNAUTHORIZED, "ION event for an unknown tenant");
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let authorised = env.host.ion_token_matches(presented);
    if !authorised {
        return reply(
            StatusCode::UNAUTHORIZED,
            format_args!("tenant {tenant}: ION bearer token missing or wrong"),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/xml")
        .to_string();
    let (payload_type, payload) = match multer::parse_boundary(&content_type) {
        Ok(boundary) => match message_payload(body, boundary).await {
            Ok(Some(p)) => p,
            Ok(None) => return Reply::invalid("multipart body has no MessagePayload part"),
            Err(e) => return Reply::invalid(&format!("malformed multipart body: {e}")),
        },
        Err(_) => (content_type, body.to_vec()),
    };
    let plugin = match env.plugin(Role::Erp) {
        Ok(p) => p,
        Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let guest_env = env.clone();
    let parsed = env
        .runtime()
        .run_guest(async move {
            let env = guest_env;
            let mut call = env.runtime().erp(&plugin, env.grants(Role::Erp)).await?;
            let (e, s) = call.parts();
            let r = e
                .ferry_plugin_erp()
                .call_parse_event(s, &payload_type, &payload)
                .await;
            call.finish(r)
        })
        .await;
    let changes = match parsed {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Reply::invalid(&describe(&e)),
        Err(e) => return call_failed(&tenant, "parse-event", e),
    };
    let mut updated = 0;
    for change in changes.iter().filter(|c| c.entity == Entity::Order) {
        if !matches!(
            change.action,
            ChangeAction::StatusChanged | ChangeAction::Updated
        ) {
            continue;
        }
        // SQLite is synchronous (and may wait on a lock): keep it off the async threads.
        let (store, t, key) = (state.store.clone(), tenant.clone(), change.key.clone());
        let found = tokio::task::spawn_blocking(move || store.order_by_number(&t, &key)).await;
        let order = match found {
            Ok(Ok(Some(o))) => o,
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => {
                return reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format_args!("tenant {tenant}: reading order {}: {e}", change.key),
                );
            }
            Err(e) => {
                return reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format_args!("tenant {tenant}: reading order {}: {e}", change.key),
                );
            }
        };
        match status::refresh(&env, state.store.as_ref(), &order).await {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(%tenant, order = %change.key, "status push-back failed: {e}"),
        }
    }
    Reply::ok(
        StatusCode::ACCEPTED,
        json!({ "changes": changes.len(), "quotes_updated": updated }),
    )
}

/// The MessagePayload part of an IMS multipart message, with its content type.
async fn message_payload(
    body: Bytes,
    boundary: String,
) -> Result<Option<(String, Vec<u8>)>, multer::Error> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Some(field) = multipart.next_field().await? {
        if field.name() == Some("MessagePayload") {
            let ct = field
                .content_type()
                .map(|m| m.to_string())
                .unwrap_or_else(|| "application/xml".into());
            return Ok(Some((ct, field.bytes().await?.to_vec())));
        }
    }
    Ok(None)
}
