//! ERP events: `/events/{tenant}/erp` (and ION's old path `/ion/{tenant}/events`), an
//! IMS-compatible endpoint. BODs arrive as multipart (ParameterRequest + MessagePayload) or as
//! a bare document. Authenticated by a bearer token from the tenant's `[host]` table (never a
//! plugin's grant); an unknown tenant gets the same 401 as a wrong token. The tenant's ERP
//! role parses the payload into changes; every change is stored in the inbox, deduplicated by
//! its event's id, and an order change queues the order's status push-back, all before the
//! 202. Nothing is pushed back inside the request: that is the job's work, retried like any.
//! A customer change (SyncCustomerPartyMaster) queues a job of the customer flow with the
//! ordering key `customer:<CUNO>` (`flows::customers::job`), also before the 202: the flow
//! workers carry it to the QuoteWerks customers linked to it, one customer's changes in order.
//! An item change (SyncItemMaster) queues the tenant's catalog delta (`intake::item_change`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::{ApiError, ApiState, unavailable};
use crate::flows::intake;
use ferry_store::Ingested;

pub async fn events(
    State(state): State<ApiState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(axum::http::StatusCode, axum::Json<Json>), ApiError> {
    let Some(env) = state.tenants.get(&tenant).cloned() else {
        return Err(ApiError::Unauthorized(
            "ERP event for an unknown tenant".into(),
        ));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let authorised = env.host.ion_token_matches(presented);
    if !authorised {
        return Err(ApiError::Unauthorized(format!(
            "tenant {tenant}: ION bearer token missing or wrong"
        )));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/xml")
        .to_string();
    let (payload_type, payload) = match multer::parse_boundary(&content_type) {
        Ok(boundary) => match message_payload(body, boundary).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return Err(ApiError::Invalid(
                    "multipart body has no MessagePayload part".into(),
                ));
            }
            Err(e) => return Err(ApiError::Invalid(format!("malformed multipart body: {e}"))),
        },
        Err(_) => (content_type, body.to_vec()),
    };
    let digest = hex::encode(Sha256::digest(&payload));
    let changes = env
        .roles()
        .erp
        .parse_event(&payload_type, &payload)
        .await
        .map_err(|e| ApiError::from_role(&tenant, "parse-event", e))?;
    // A customer M3 changed is queued for the QuoteWerks customers linked to it: a job of the
    // customer flow, in order behind that customer's earlier changes.
    let sync = state
        .admin
        .as_ref()
        .and_then(|a| a.config.tenants.get(&tenant))
        .map(|t| t.sync.clone());
    let mut outcomes = Vec::with_capacity(changes.len());
    let mut catalog_runs = 0;
    for c in &changes {
        let key = intake::erp_event_key(c, &digest);
        let store = state.store.as_ref();
        let outcome = match &sync {
            Some(sync) if c.entity == "customer" && !c.key.trim().is_empty() => {
                crate::flows::customers::job::queue(store, &tenant, &key, c, &sync.customers).await
            }
            Some(sync) if c.entity == "item" && !c.key.trim().is_empty() => {
                intake::item_change(store, &tenant, &key, c, &sync.catalog)
                    .await
                    .map(|(outcome, run)| {
                        catalog_runs += usize::from(run);
                        outcome
                    })
            }
            _ => intake::erp_change(store, &tenant, &key, c).await,
        }
        .map_err(|e| unavailable(&tenant, "storing an ERP event", e))?;
        outcomes.push(outcome);
    }
    let count = |want: Ingested| outcomes.iter().filter(|o| **o == want).count();
    let queued = count(Ingested::Queued) + catalog_runs;
    for _ in 0..queued {
        // One permit per queued job: a worker that is busy right now still gets it.
        state.wake.notify_one();
    }
    let duplicates = count(Ingested::Duplicate);
    // A redelivered event: every one of its changes was here before.
    let outcome = if !outcomes.is_empty() && duplicates == outcomes.len() {
        "duplicate"
    } else {
        "stored"
    };
    Ok((
        axum::http::StatusCode::ACCEPTED,
        axum::Json(json!({
            "outcome": outcome,
            "changes": outcomes.len(),
            "status_updates_queued": queued,
            "duplicates": duplicates,
        })),
    ))
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
