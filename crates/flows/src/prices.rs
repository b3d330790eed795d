//! The price and stock syncs, ERP → the quoting system's products, as durable jobs (kinds
//! `price-sync` and `stock-sync`, one per tenant each, so a schedule never runs twice at once).
//!
//! A run pages through the ERP's items (for a price delta, those changed since the last run)
//! and asks for their values a batch at a time through
//! the batched calls (`get-item-prices`, `get-stocks`: one round trip per batch on a
//! `ferry:erp` 1.3 plugin, answered per item by the host for an older one). Prices are written
//! as the products' price fields (`upsert-products` with only those fields), stock as
//! `set-availability`. Only items whose values changed since Ferry last wrote them are written
//! (a content hash per item and target in the store). Each page ends in a checkpoint: a run
//! that crashed resumes at the page it was on. Reading and writing a page's values is
//! [`crate::values`]'s; stock's own part lives in [`crate::stock`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{StepError, Tenant, now_ms, outcome_for};
use crate::calls::StepCalls;
use crate::paging::{LookAhead, ms, queue_run, rfc3339, run_id};
use crate::slots::{every_slot, interval};
use crate::stock::StockPolicy;
use crate::values::{apply, list_keys, next_listing, read_page};
use ferry_store::{Claim, Ingested, NewJob, Outcome, Store, StoreError};

/// The job kinds.
pub const PRICES_KIND: &str = "price-sync";
pub const STOCK_KIND: &str = "stock-sync";
/// The store's cursor stream for the price delta (the start of the last finished run).
pub const PRICES_CURSOR: &str = "prices.items-changed";
/// The same for the stock delta.
pub const STOCK_CURSOR: &str = "stock.balances-changed";

/// What a tenant decides about the price sync (`[tenants.T.sync.prices]`). Field names are
/// the quoting system's (the defaults are QuoteWerks' product columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricesPolicy {
    /// Run this often (`"1h"`); none: only when asked.
    pub every: Option<String>,
    /// Items per page read from the ERP.
    pub page_size: u32,
    /// Items per batched price call.
    pub batch_size: usize,
    /// A reference customer whose price is written too (none: list prices only).
    pub customer: Option<String>,
    /// The product field the list price goes to, and the one the customer's price goes to.
    pub list_field: String,
    pub customer_field: String,
}

impl Default for PricesPolicy {
    fn default() -> Self {
        Self {
            every: None,
            page_size: 500,
            batch_size: 500,
            customer: None,
            list_field: "List".into(),
            customer_field: "Price".into(),
        }
    }
}

/// Which values a run syncs, with that sync's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", content = "policy", rename_all = "kebab-case")]
pub enum Policy {
    Prices(PricesPolicy),
    Stock(StockPolicy),
}

impl Policy {
    pub fn kind(&self) -> &'static str {
        match self {
            Policy::Prices(_) => PRICES_KIND,
            Policy::Stock(_) => STOCK_KIND,
        }
    }

    /// The job key (a dry run has its own, so it never merges with a real run).
    pub fn key(&self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Policy::Prices(_), false) => "prices",
            (Policy::Prices(_), true) => "prices-dry-run",
            (Policy::Stock(_), false) => "stock",
            (Policy::Stock(_), true) => "stock-dry-run",
        }
    }

    /// The store's content-hash kind: what was last written per item.
    pub(crate) fn hash_kind(&self) -> &'static str {
        match self {
            Policy::Prices(_) => "price",
            Policy::Stock(_) => "stock",
        }
    }

    fn every(&self) -> Option<&str> {
        match self {
            Policy::Prices(p) => p.every.as_deref(),
            Policy::Stock(s) => s.every.as_deref(),
        }
    }

    /// The schedule's interval (none: only when asked); `Err` says what is wrong with it.
    pub fn interval(&self) -> Result<Option<Duration>, String> {
        interval(self.every())
    }

    /// The cursor stream a run of this sync reads its delta from, when it can run as one:
    /// prices without a reference customer. M3 lists items by change date
    /// (MMS200MI/LstItmByChgDate), and an item's list price is on its item record (GetItmPrice
    /// answers the item's own fields and change date), so a changed list price lists the item.
    /// A customer's price (price lists, OIS320MI) is a record of its own that no listing finds
    /// by change date: those runs read every item. Stock runs as a delta when the ERP lists
    /// balances changed since a time (`list-stocks-changed`, erp 1.4); else every item.
    pub fn delta_cursor(&self) -> Option<&'static str> {
        match self {
            Policy::Prices(p) if p.customer.as_deref().is_none_or(|c| c.trim().is_empty()) => {
                Some(PRICES_CURSOR)
            }
            Policy::Prices(_) => None,
            Policy::Stock(_) => Some(STOCK_CURSOR),
        }
    }

    /// What the written values depend on besides the ERP's data: the price field, the
    /// warehouses and the quantity counted. A delta is only valid from a run under the same:
    /// after a change every item must be read again (a delta would leave the unchanged ones as
    /// the old policy wrote them).
    fn fingerprint(&self) -> String {
        let what = match self {
            Policy::Prices(p) => serde_json::json!(["prices", p.list_field.trim()]),
            Policy::Stock(s) => {
                let mut whs: Vec<&str> = s.warehouses.iter().map(|w| w.trim()).collect();
                whs.sort_unstable();
                whs.dedup();
                serde_json::json!(["stock", whs, s.quantity])
            }
        };
        hex::encode(&Sha256::digest(what.to_string().as_bytes())[..6])
    }

    /// The delta cursor's value for a run that started at `started`: the time and the policy.
    fn cursor_value(&self, started: &str) -> String {
        format!("{started} {}", self.fingerprint())
    }

    /// A stored delta cursor's time, when it was written under this policy (a cursor of an
    /// older Ferry carries no policy: read every item once).
    fn since_in(&self, cursor: &str) -> Option<String> {
        let (at, fingerprint) = cursor.split_once(' ')?;
        (fingerprint == self.fingerprint()).then(|| at.to_string())
    }

    fn sizes(&self) -> (u32, usize) {
        let (page, batch) = match self {
            Policy::Prices(p) => (p.page_size, p.batch_size),
            Policy::Stock(s) => (s.page_size, s.batch_size),
        };
        (page.clamp(1, 10_000), batch.clamp(1, 10_000))
    }
}

/// What a run did, item by item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValuesReport {
    /// A delta: items changed since this time (RFC 3339) were read; none: every item.
    pub since: Option<String>,
    pub pages: u64,
    pub read: u64,
    /// Batched calls made to the ERP.
    pub batches: u64,
    /// Items whose values were written.
    pub written: u64,
    /// Items whose values were as last written (not sent).
    pub unchanged: u64,
    /// Items the ERP has no value for (no list price, no customer price): nothing written.
    pub missing: u64,
    /// A dry run: items whose values changed since Ferry last wrote them, and their first keys.
    pub would_write: u64,
    pub would_write_keys: Vec<String>,
    /// The first [`WRITTEN_KEYS`](crate::catalog::WRITTEN_KEYS) items written, in the order
    /// written.
    pub written_keys: Vec<String>,
}

/// How a run is asked for (`ferry sync prices --dry-run`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Write nothing (no product, no availability, no content hash): report what would change.
    pub dry_run: bool,
    /// Read every item, not only those changed since the last run (a price or stock delta; a
    /// reference customer's prices are read in full anyway).
    pub full: bool,
}

/// The job's checkpoint: the run's policy, where it is, and what it did so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub policy: Policy,
    #[serde(default)]
    pub options: RunOptions,
    /// The next page to read (none: the first, or done when `finished`).
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub finished: bool,
    #[serde(default)]
    pub report: ValuesReport,
    /// This run's name in its trail entries (when it began).
    #[serde(default)]
    pub run: Option<String>,
    /// The `run_at` of the claim that committed the last page (as the catalog's).
    #[serde(default)]
    pub claim_run_at: Option<i64>,
    /// When this run started (RFC 3339): the next delta's lower bound, once it finishes.
    #[serde(default)]
    pub started_at: Option<String>,
}

/// Queues a run (or queues it again when the last one ended; a running one runs once more
/// after it ends). A queued one stands (`Duplicate`) unless this is a full and it a delta:
/// then this one takes its place.
pub async fn queue(
    store: &dyn Store,
    tenant: &str,
    policy: &Policy,
    options: RunOptions,
) -> Result<Ingested, StoreError> {
    let (kind, key) = (policy.kind(), policy.key(options.dry_run));
    // A full reads more than a delta: it takes a queued delta's place. Anything else stands.
    let full = options.full;
    let reads_more = |queued: &serde_json::Value| {
        let queued = serde_json::from_value::<Checkpoint>(queued.clone()).ok();
        full && queued.is_none_or(|q| !q.options.full)
    };
    let checkpoint = Checkpoint {
        policy: policy.clone(),
        options,
        cursor: None,
        finished: false,
        report: ValuesReport::default(),
        run: None,
        claim_run_at: None,
        started_at: None,
    };
    let checkpoint = serde_json::to_value(checkpoint)
        .map_err(|e| StoreError::Corrupt(format!("{kind} checkpoint: {e}")))?;
    let job = NewJob {
        tenant,
        kind,
        key,
        checkpoint,
    };
    queue_run(store, job, reads_more).await
}

/// Queues a run at the policy's interval, forever (nothing when it has none), at most once per
/// slot across the nodes sharing the store: the catalog's schedule loop, with its own lease
/// name per kind.
pub async fn schedule(tenant: String, policy: Policy, store: Arc<dyn Store>, node: String) {
    let Ok(Some(every)) = policy.interval() else {
        return;
    };
    every_slot(
        &tenant,
        policy.kind(),
        every,
        store,
        &node,
        |store, slot| {
            let (tenant, policy, node) = (tenant.clone(), policy.clone(), node.clone());
            async move {
                if !store.take_slot(&tenant, policy.kind(), slot, &node).await? {
                    return Ok(false);
                }
                queue(store.as_ref(), &tenant, &policy, RunOptions::default()).await?;
                Ok(true)
            }
        },
    )
    .await
}

/// Runs one claimed price or stock job.
pub async fn run(env: &Tenant, store: &dyn Store, claim: &Claim) -> Outcome {
    match sync(env, store, claim).await {
        Ok(_) => Outcome::Done,
        Err(e) => {
            let attempt = u32::try_from(claim.job.attempts).unwrap_or(u32::MAX);
            outcome_for(&e, attempt, &env.retry, now_ms())
        }
    }
}

/// The run, from the claim's checkpoint to the last page; returns its report. Its plugin
/// calls go to the trail for the first page of each attempt, the last page and a failure.
pub async fn sync(
    env: &Tenant,
    store: &dyn Store,
    claim: &Claim,
) -> Result<ValuesReport, StepError> {
    let mut calls = StepCalls::new();
    let result = calls
        .journal()
        .scope(pages(env, store, claim, &mut calls))
        .await;
    calls.ended(store, claim, result).await
}

async fn pages(
    env: &Tenant,
    store: &dyn Store,
    claim: &Claim,
    calls: &mut StepCalls,
) -> Result<ValuesReport, StepError> {
    let mut cp: Checkpoint = serde_json::from_value(claim.job.checkpoint.clone())
        .map_err(|e| StepError::Fatal(format!("not a price or stock checkpoint: {e}")))?;
    if cp.finished && cp.claim_run_at == Some(claim.job.run_at_ms) {
        // Its node died between the last page and `done`: not run again (see the catalog's).
        return Ok(cp.report);
    }
    if cp.finished {
        // Queued again after it ended: the same run, afresh.
        cp.cursor = None;
        cp.finished = false;
        cp.report = ValuesReport::default();
        cp.run = None;
        cp.started_at = None;
    }
    let delta = cp.policy.delta_cursor();
    // A run begun by an older Ferry (a page cursor, no start) goes on reading every item and
    // leaves the delta's cursor where it is: its start is unknown.
    if cp.started_at.is_none() && cp.cursor.is_none() {
        cp.started_at = Some(rfc3339(now_ms()));
        cp.report.since = match delta {
            Some(stream) if !cp.options.full => store
                .cursor(&env.name, stream)
                .await?
                .and_then(|c| cp.policy.since_in(&c)),
            _ => None,
        };
    }
    let run = cp.run.get_or_insert_with(|| run_id(now_ms()));
    calls.in_run(run);
    let (page_size, batch_size) = cp.policy.sizes();
    // The run's policy, apart from its checkpoint (which each page updates).
    let policy = cp.policy.clone();
    let read = |listing| read_page(env, &policy, listing, batch_size);
    let mut look_ahead = LookAhead::new();
    loop {
        let started = Instant::now();
        let first = next_listing(env, &mut cp, page_size);
        let (page, next) = look_ahead.next_or(first, read).await?;
        // Waited for this page (nothing when it was listed and read ahead).
        let listed = started.elapsed();
        let reading = page.reading;
        let before = cp.report.clone();
        let count = page.items;
        cp.report.read += count as u64;
        cp.report.missing += page.missing;
        cp.report.batches += page.calls;
        // While this page's values are written, the next page's are listed and read, and the
        // page after it listed.
        let since = cp.report.since.clone();
        let since = since.as_deref();
        let list =
            |cursor: String| async move { list_keys(env, since, Some(&cursor), page_size).await };
        let (dry, report) = (cp.options.dry_run, &mut cp.report);
        let work = async {
            let write = Instant::now();
            for batch in page.batches {
                apply(env, store, &policy, batch, report, dry).await?;
            }
            Ok::<Duration, StepError>(write.elapsed())
        };
        let writing = look_ahead.alongside(work, next.clone(), list, read).await?;
        cp.report.pages += 1;
        cp.cursor = next;
        cp.finished = cp.cursor.is_none();
        let audit = format!(
            "page {}: {} items, {} written, {} unchanged",
            cp.report.pages,
            count,
            cp.report.written - before.written,
            cp.report.unchanged - before.unchanged
        );
        if cp.finished
            && !cp.options.dry_run
            && let (Some(stream), Some(started)) = (delta, &cp.started_at)
        {
            let cursor = cp.policy.cursor_value(started);
            store.set_cursor(&env.name, stream, &cursor).await?;
        }
        cp.claim_run_at = Some(claim.job.run_at_ms);
        let checkpoint =
            serde_json::to_value(&cp).map_err(|e| StepError::Fatal(format!("checkpoint: {e}")))?;
        let step = if cp.finished { "synced" } else { "page" };
        let committing = Instant::now();
        store
            .commit_step(claim, step, &checkpoint, &audit, None)
            .await?;
        // Where a page's time goes, for whoever wonders why a sync is slow.
        tracing::debug!(
            tenant = %env.name, kind = %claim.job.kind, page = cp.report.pages, items = count,
            list_ms = ms(listed), read_ms = ms(reading), write_ms = ms(writing),
            commit_ms = ms(committing.elapsed()), total_ms = ms(started.elapsed()),
            "values page"
        );
        look_ahead.failed()?;
        calls.page(store, claim, cp.report.pages, cp.finished).await;
        if cp.finished {
            return Ok(cp.report);
        }
    }
}

#[cfg(test)]
#[path = "prices_tests.rs"]
mod tests;
