//! Events into the durable inbox, and the jobs they start. The API verifies and parses (by the
//! role) and calls these before it answers 202; which job an event starts, and with what
//! checkpoint, is the flows' business, not the API's.
//!
//! Inbox sources are role names (`quoting`, `erp`); each event is deduplicated by its own id
//! (the quoting system's event id, an ERP event's id such as a BOD id).

use ferry_domain::{Change, QuoteEvent};
use serde_json::json;

use super::{catalog, now_ms, quote_to_order, status};
use ferry_store::{Ingested, NewEvent, NewJob, Store, StoreError};

pub const QUOTING: &str = "quoting";
pub const ERP: &str = "erp";

/// Stores a quoting event and, when the quote is in the tenant's ready status (or none is
/// configured), queues its quote-to-order job; one transaction, deduplicated by event id.
pub async fn quote_event(
    store: &dyn Store,
    tenant: &str,
    ready_status: Option<&str>,
    event: &QuoteEvent,
) -> Result<Ingested, StoreError> {
    let ready = match (ready_status, &event.status) {
        (Some(want), Some(got)) => want.eq_ignore_ascii_case(got.trim()),
        _ => true,
    };
    let payload = json!({
        "event_id": event.event_id, "quote_id": event.quote_id, "event": event.event,
        "status": event.status, "occurred_at": event.occurred_at,
    });
    let checkpoint = serde_json::to_value(quote_to_order::Checkpoint::new(
        &event.quote_id,
        Some(payload.clone()),
    ))
    .map_err(|e| StoreError::Corrupt(format!("quote {} checkpoint: {e}", event.quote_id)))?;
    let job = ready.then_some(NewJob {
        tenant,
        kind: quote_to_order::KIND,
        key: &event.quote_id,
        checkpoint,
    });
    store
        .ingest(tenant, QUOTING, &event.event_id, &payload, job, now_ms())
        .await
}

/// Stores one change an ERP event carried, deduplicated by `event_key` (see [`erp_event_key`]),
/// and for a change to an order Ferry made from a quote queues its status push-back. Any
/// other change (an order Ferry didn't make; items: [`item_change`]; customers: the customer
/// flow's job) is stored and starts nothing.
pub async fn erp_change(
    store: &dyn Store,
    tenant: &str,
    event_key: &str,
    change: &Change,
) -> Result<Ingested, StoreError> {
    let payload = serde_json::to_value(change)
        .map_err(|e| StoreError::Corrupt(format!("change {}: {e}", change.key)))?;
    let event = NewEvent {
        source: ERP,
        dedup_key: event_key,
        payload: &payload,
    };
    let is_order =
        change.entity == "order" && matches!(change.action.as_str(), "status-changed" | "updated");
    if is_order
        && !store
            .links_by_remote(tenant, status::ORDER_LINK, &change.key)
            .await?
            .is_empty()
    {
        return status::queue(store, tenant, &change.key, Some(event)).await;
    }
    store
        .ingest(tenant, ERP, event_key, &payload, None, now_ms())
        .await
}

/// An item the ERP changed (a SyncItemMaster BOD): for a tenant that keeps a catalog (a
/// schedule, or a sync that finished before), queues the catalog's delta, which reads this
/// item with any other change since its cursor and writes its product (marked inactive when
/// discontinued). So the BOD, the schedule and `ferry sync` meet in the one catalog job per
/// tenant: a run already queued stands, a running one runs once more after it ends, and
/// whichever runs last read M3 last. The run is queued before the event is stored: a crash
/// between loses nothing (a redelivered BOD queues one more delta, which writes nothing new).
/// Returns the event's outcome, and whether a run was queued.
pub async fn item_change(
    store: &dyn Store,
    tenant: &str,
    event_key: &str,
    change: &Change,
    policy: &catalog::CatalogPolicy,
) -> Result<(Ingested, bool), StoreError> {
    let scheduled = matches!(policy.interval(), Ok(Some(_)));
    let keeps_catalog = scheduled || store.cursor(tenant, catalog::CURSOR).await?.is_some();
    let run = if keeps_catalog {
        catalog::queue(store, tenant, catalog::Mode::Delta, policy).await? == Ingested::Queued
    } else {
        false
    };
    Ok((erp_change(store, tenant, event_key, change).await?, run))
}

/// The detail field a change carries its event's id in when its contract has no `event-id`
/// of its own (0.1: the M3 connector puts the BOD id there).
pub const EVENT_ID_DETAIL: &str = "event-id";

/// The inbox key of one change of an ERP event: the event's own id (a BOD id) when the change
/// carries one, else a digest of the payload the event came in (the same bytes redelivered
/// dedupe; there is nothing better to go by). A key per change, since one event may carry
/// several.
pub fn erp_event_key(change: &Change, payload_digest: &str) -> String {
    let detail = ferry_domain::document::get(&change.detail, EVENT_ID_DETAIL)
        .and_then(ferry_domain::Value::as_text);
    let id = change
        .event_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .or(detail)
        .map(str::to_string)
        .unwrap_or_else(|| format!("sha256:{payload_digest}"));
    format!("{id}/{}/{}", change.entity, change.key)
}

#[cfg(test)]
#[path = "intake_tests.rs"]
mod tests;
