//! The safety net for missed webhooks: each tenant's quoting system is asked for ready quotes
//! on an interval, and a job is queued for any quote that has none.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use ferry_domain::PageRequest;

use super::quote_to_order::{Checkpoint, KIND};
use super::{Tenant, now_ms};
use ferry_store::{NewJob, Store, StoreError};

const PAGE: u32 = 100;
const MAX_PAGES: usize = 100;

/// The poll's name in the store's slot leases.
pub const SCHEDULE: &str = "poll-ready-quotes";

/// Polls forever at the tenant's interval (does nothing when the interval is 0): at each
/// interval slot, from the current one on, on whichever node takes the slot, so N nodes
/// sharing a store ask the quoting system once per interval, not N times.
pub async fn poll_ready_quotes(
    env: Arc<Tenant>,
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
    node: String,
) {
    let interval = env.policy.poll_interval_secs;
    if interval == 0 {
        return;
    }
    let name = env.name.clone();
    let every = Duration::from_secs(interval);
    super::slots::every_slot_from_now(&name, SCHEDULE, every, store, &node, |store, slot| {
        let (env, wake, node) = (env.clone(), wake.clone(), node.clone());
        async move {
            match poll_slot(&env, store.as_ref(), slot, &node).await {
                Ok(Some(n)) => {
                    if n > 0 {
                        tracing::info!(tenant = %env.name, "poll queued {n} ready quotes");
                    }
                    for _ in 0..n {
                        wake.notify_one();
                    }
                    Ok(true)
                }
                Ok(None) => Ok(false),
                Err(PollError::Store(e)) => Err(e),
                Err(PollError::Other(e)) => {
                    tracing::warn!(tenant = %env.name, "polling ready quotes failed: {e:#}");
                    Ok(true)
                }
            }
        }
    })
    .await;
}

/// Why one slot's poll failed: the slot lease (the store) or the poll itself.
#[derive(Debug)]
pub enum PollError {
    Store(StoreError),
    Other(anyhow::Error),
}

/// One slot of the poll on one node: `None` when another node took the slot (nothing asked),
/// else how many jobs the poll queued.
pub async fn poll_slot(
    env: &Tenant,
    store: &dyn Store,
    slot: i64,
    node: &str,
) -> Result<Option<usize>, PollError> {
    if !store
        .take_slot(&env.name, SCHEDULE, slot, node)
        .await
        .map_err(PollError::Store)?
    {
        return Ok(None);
    }
    poll_once(env, store)
        .await
        .map(Some)
        .map_err(PollError::Other)
}

/// One pass: returns how many jobs were queued.
pub async fn poll_once(env: &Tenant, store: &dyn Store) -> anyhow::Result<usize> {
    let mut cursor = None;
    let mut queued = 0;
    for _ in 0..MAX_PAGES {
        let request = PageRequest {
            cursor: cursor.clone(),
            limit: PAGE,
        };
        let page = env.roles.quoting.list_ready_quotes(&request).await?;
        for quote in &page.quotes {
            let checkpoint = serde_json::to_value(Checkpoint::new(&quote.id, None))?;
            let job = NewJob {
                tenant: &env.name,
                kind: KIND,
                key: &quote.id,
                checkpoint,
            };
            if store.enqueue(job, now_ms()).await? {
                queued += 1;
            }
        }
        match page.next {
            Some(next) if !page.quotes.is_empty() => cursor = Some(next),
            _ => break,
        }
    }
    Ok(queued)
}
