//! The safety net for missed webhooks: each tenant's quoting system is asked for ready quotes
//! on an interval, and a job is queued for any quote that has none.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use ferry_domain::PageRequest;

use super::quote_to_order::{Checkpoint, KIND};
use super::{Tenant, now_ms};
use ferry_store::{NewJob, Store};

const PAGE: u32 = 100;
const MAX_PAGES: usize = 100;

/// Polls forever at the tenant's interval (does nothing when the interval is 0).
pub async fn poll_ready_quotes(env: Arc<Tenant>, store: Arc<dyn Store>, wake: Arc<Notify>) {
    let interval = env.policy.poll_interval_secs;
    if interval == 0 {
        return;
    }
    loop {
        match poll_once(&env, store.as_ref()).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(tenant = %env.name, "poll queued {n} ready quotes");
                for _ in 0..n {
                    wake.notify_one();
                }
            }
            Err(e) => tracing::warn!(tenant = %env.name, "polling ready quotes failed: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(interval)).await;
    }
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
