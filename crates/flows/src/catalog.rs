//! The catalog sync, ERP items → the quoting system's products, as a durable job (kind
//! `catalog-sync`, one per tenant: key `catalog`, so a schedule never runs twice at once).
//!
//! A run pages through the ERP's items (all of them for a full sync; those changed since the
//! stored cursor for a delta), maps each with the transform kind `item-to-product`, and
//! upserts the products whose mapped content changed since Ferry last wrote them (a content
//! hash per product in the store), in batches. A discontinued item (its status in the tenant's
//! list, or the item itself listed) is written inactive, never deleted. Each page ends in a
//! checkpoint holding the page cursor and the counts so far: a run that crashed resumes at the
//! page it was on. A finished run moves the delta cursor to the time it started.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_domain::{DocumentPage, PageRequest};
use serde::{Deserialize, Serialize};

use super::{StepError, Tenant, now_ms, outcome_for};
use crate::calls::StepCalls;
use crate::paging::{LookAhead, ms, queue_run, rfc3339, run_id};
use crate::slots::{every_slot, interval};
use ferry_store::{Claim, Ingested, NewJob, Outcome, Store, StoreError};
use page::{apply_page, map_page, role};

#[path = "catalog_page.rs"]
mod page;

pub const KIND: &str = "catalog-sync";
/// One job per tenant.
pub const KEY: &str = "catalog";
/// A dry run's job: its own key, so it never merges with (or reports as) a real run queued
/// at the same time; it writes nothing, so running beside one is harmless.
pub const DRY_RUN_KEY: &str = "catalog-dry-run";
/// Keys of products a dry run would write, kept in its report (the count has them all).
const DRY_RUN_KEYS: usize = 100;
/// Keys of products a run sent, kept in its report: enough to name a 1% delta of 100,000
/// items (the counts have them all).
pub const WRITTEN_KEYS: usize = 1_000;
/// The transform kind that makes a product of an item.
pub const MAPPING: &str = "item-to-product";
/// The store's cursor stream for the delta (the start of the last finished run).
pub const CURSOR: &str = "catalog.items-changed";
/// The store's content-hash kind: the mapped product last written, per product key.
const HASH_KIND: &str = "product";

/// What a tenant decides about the catalog sync (`[tenants.T.sync.catalog]`). The field names
/// are the tenant's systems' (the defaults are M3's and QuoteWerks').
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogPolicy {
    /// Run a delta this often (`"15m"`, `"1h"`, `"30s"`); none: only when asked.
    pub every: Option<String>,
    /// Items per page read from the ERP.
    pub page_size: u32,
    /// Products per upsert call.
    pub batch_size: usize,
    /// The item's status field, and the statuses that mean discontinued.
    pub status_field: String,
    pub discontinued_statuses: Vec<String>,
    /// Item keys the tenant discontinued, whatever their status.
    pub discontinued_items: Vec<String>,
    /// The product field that marks a discontinued item, and the value written to it (none:
    /// boolean false). QuoteWerks' product table has no standard one: a tenant names its own
    /// (e.g. `CustomText02` = "Discontinued").
    pub inactive_field: String,
    pub inactive_value: Option<String>,
}

impl Default for CatalogPolicy {
    fn default() -> Self {
        Self {
            every: None,
            page_size: 500,
            batch_size: 200,
            status_field: "STAT".into(),
            // M3: 90 is "discontinued".
            discontinued_statuses: vec!["90".into()],
            discontinued_items: Vec::new(),
            inactive_field: "Active".into(),
            inactive_value: None,
        }
    }
}

impl CatalogPolicy {
    /// The schedule's interval: `every` as a number and a unit (`s`, `m`, `h`, `d`); none when
    /// unset; `Err` says what is wrong with it.
    pub fn interval(&self) -> Result<Option<Duration>, String> {
        interval(self.every.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Every item.
    Full,
    /// Items changed since the stored cursor (a full sync when there is none yet).
    Delta,
}

/// What a run did, item by item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogReport {
    pub pages: u64,
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Mapped the same as last written (not sent), or the quoting system had it already.
    pub unchanged: u64,
    /// Written inactive because discontinued (also counted as inserted or updated).
    pub deactivated: u64,
    /// Items the mapping refused (named in the audit trail).
    pub failed: u64,
    /// A dry run: products whose content changed since Ferry last wrote them (not written),
    /// and the first of their keys.
    pub would_write: u64,
    pub would_write_keys: Vec<String>,
    /// The first [`WRITTEN_KEYS`] products sent to the quoting system, in the order sent.
    pub written_keys: Vec<String>,
}

/// How a run is asked for beyond its mode (`ferry sync catalog --dry-run --since DATE`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOptions {
    /// Write nothing (no upsert, no content hash, no cursor): report what would change.
    pub dry_run: bool,
    /// Items changed since this date (RFC 3339 or YYYY-MM-DD) instead of the stored cursor;
    /// such a run leaves the cursor where it was (it may skip what changed before `since`).
    pub since: Option<String>,
}

impl RunOptions {
    /// The job key a run with these options goes under.
    pub fn key(&self) -> &'static str {
        if self.dry_run { DRY_RUN_KEY } else { KEY }
    }
}

/// The job's checkpoint: the run's mode and policy, where it is, and what it did so far.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub mode: Mode,
    pub policy: CatalogPolicy,
    /// The delta's lower bound (RFC 3339), when a delta.
    #[serde(default)]
    pub since: Option<String>,
    /// When this run started (RFC 3339): the next delta's `since`, once it finishes.
    #[serde(default)]
    pub started_at: Option<String>,
    /// This run's name in its trail entries ([`run_id`]).
    #[serde(default)]
    pub run: Option<String>,
    /// The next page to read (none: the first, or done when `finished`).
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub finished: bool,
    #[serde(default)]
    pub report: CatalogReport,
    #[serde(default)]
    pub options: RunOptions,
    /// The `run_at` of the claim that committed the last page. Finished, and claimed again
    /// with that `run_at`: this run ended and its node died before the job was marked done
    /// (a run asked for since moves `run_at`, see `Inbox::rerun`).
    #[serde(default)]
    pub claim_run_at: Option<i64>,
}

impl Checkpoint {
    pub fn new(mode: Mode, policy: CatalogPolicy) -> Self {
        Self {
            mode,
            policy,
            since: None,
            started_at: None,
            run: None,
            cursor: None,
            finished: false,
            report: CatalogReport::default(),
            options: RunOptions::default(),
            claim_run_at: None,
        }
    }
}

/// Queues a run (or queues it again when the last one ended; a running one runs once more
/// after it ends; a queued one stands unless this is a full and it a delta, see [`queue_with`]).
pub async fn queue(
    store: &dyn Store,
    tenant: &str,
    mode: Mode,
    policy: &CatalogPolicy,
) -> Result<Ingested, StoreError> {
    queue_with(store, tenant, mode, policy, RunOptions::default()).await
}

/// [`queue`] with options, under [`RunOptions::key`]. `Duplicate` when a run is queued
/// already and stands, so nothing more was queued.
pub async fn queue_with(
    store: &dyn Store,
    tenant: &str,
    mode: Mode,
    policy: &CatalogPolicy,
    options: RunOptions,
) -> Result<Ingested, StoreError> {
    let key = options.key();
    // A full, or a delta from a date of its own, reads more than a scheduled delta from the
    // cursor: it takes such a delta's place in the queue. Anything else queued stands.
    let asked_more = mode == Mode::Full || options.since.is_some();
    let reads_more = |queued: &serde_json::Value| {
        let queued = serde_json::from_value::<Checkpoint>(queued.clone()).ok();
        asked_more
            && queued.is_none_or(|q| match q.mode {
                Mode::Full => false,
                Mode::Delta => mode == Mode::Full || q.options.since.is_none(),
            })
    };
    let checkpoint = Checkpoint {
        options,
        ..Checkpoint::new(mode, policy.clone())
    };
    let checkpoint = serde_json::to_value(checkpoint)
        .map_err(|e| StoreError::Corrupt(format!("catalog checkpoint: {e}")))?;
    let job = NewJob {
        tenant,
        kind: KIND,
        key,
        checkpoint,
    };
    queue_run(store, job, reads_more).await
}

/// Queues a delta for the tenant at its policy's interval, forever (nothing when it has
/// none), at most once per slot across every node sharing the store. Slots are the interval's
/// multiples since the epoch: each node wakes at every slot's start and queues the run only if
/// it takes the slot's lease ([`take_slot`](ferry_store::Schedules::take_slot)). The job's one
/// key per tenant alone would not do: it keeps runs from overlapping, but a finished run is
/// queued again by the next node whose timer fires, so N nodes ran the sync N times per
/// interval.
pub async fn schedule(tenant: String, policy: CatalogPolicy, store: Arc<dyn Store>, node: String) {
    let Ok(Some(every)) = policy.interval() else {
        return;
    };
    every_slot(&tenant, SCHEDULE, every, store, &node, |store, slot| {
        let (tenant, policy, node) = (tenant.clone(), policy.clone(), node.clone());
        async move { tick(store.as_ref(), &tenant, &policy, slot, &node).await }
    })
    .await
}

/// The schedule's name in the store's slot leases.
pub const SCHEDULE: &str = KIND;

/// One slot of the schedule on one node: takes the slot's lease and, if this node got it,
/// queues the delta. Returns whether it queued.
pub async fn tick(
    store: &dyn Store,
    tenant: &str,
    policy: &CatalogPolicy,
    slot: i64,
    node: &str,
) -> Result<bool, StoreError> {
    if !store.take_slot(tenant, SCHEDULE, slot, node).await? {
        return Ok(false);
    }
    queue(store, tenant, Mode::Delta, policy).await?;
    Ok(true)
}

/// Runs one claimed catalog job.
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
) -> Result<CatalogReport, StepError> {
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
) -> Result<CatalogReport, StepError> {
    let mut cp: Checkpoint = serde_json::from_value(claim.job.checkpoint.clone())
        .map_err(|e| StepError::Fatal(format!("not a catalog checkpoint: {e}")))?;
    if cp.finished && cp.claim_run_at == Some(claim.job.run_at_ms) {
        // Its node died between the last page and `done`: running again would re-read every
        // item and overwrite the run's report with one of a run that wrote nothing.
        return Ok(cp.report);
    }
    if cp.finished {
        // Queued again after it ended (a rerun while it ran): the same kind of run, afresh.
        cp = Checkpoint {
            options: cp.options.clone(),
            ..Checkpoint::new(cp.mode, cp.policy)
        };
    }
    if cp.started_at.is_none() {
        cp.started_at = Some(rfc3339(now_ms()));
        cp.since = match &cp.options.since {
            Some(since) => Some(since.clone()),
            None if cp.mode == Mode::Delta => store.cursor(&env.name, CURSOR).await?,
            None => None,
        };
    }
    let run = cp.run.get_or_insert_with(|| run_id(now_ms()));
    calls.in_run(run);
    // Only a real run of the usual kind moves the delta's cursor.
    let moves_cursor = !cp.options.dry_run && cp.options.since.is_none();
    let page_size = cp.policy.page_size.clamp(1, 10_000);
    let since = cp.since.clone();
    let list = |cursor: String| list_page(env, since.as_deref(), Some(cursor), page_size);
    let mut look_ahead = LookAhead::new();
    loop {
        let started = Instant::now();
        let first = list_page(env, since.as_deref(), cp.cursor.clone(), page_size);
        let (page, next) = look_ahead
            .next_or(first, |page| map_page(env, page))
            .await?;
        let listed = started.elapsed();
        let dry_run = cp.options.dry_run;
        let items = page.items.len();
        // While this page is written, the next one is listed and mapped, the one after listed.
        let work = apply_page(env, store, &cp.policy, page, &mut cp.report, dry_run);
        let ahead = next.clone();
        let done = look_ahead
            .alongside(work, ahead, list, |page| map_page(env, page))
            .await?;
        cp.report.pages += 1;
        cp.cursor = next;
        cp.finished = cp.cursor.is_none();
        let audit = format!(
            "page {}: {} items, {} written, {} unchanged",
            cp.report.pages, items, done.written, done.unchanged
        );
        if cp.finished
            && moves_cursor
            && let Some(started) = &cp.started_at
        {
            store.set_cursor(&env.name, CURSOR, started).await?;
        }
        cp.claim_run_at = Some(claim.job.run_at_ms);
        let checkpoint = serde_json::to_value(&cp)
            .map_err(|e| StepError::Fatal(format!("catalog checkpoint: {e}")))?;
        let step = if cp.finished { "synced" } else { "page" };
        let committing = Instant::now();
        store
            .commit_step(claim, step, &checkpoint, &audit, None)
            .await?;
        // Where a page's time goes, for whoever wonders why a sync is slow.
        tracing::debug!(
            tenant = %env.name, page = cp.report.pages, items,
            list_ms = ms(listed), map_ms = ms(done.mapping), write_ms = ms(done.writing),
            commit_ms = ms(committing.elapsed()), total_ms = ms(started.elapsed()),
            "catalog page"
        );
        look_ahead.failed()?;
        calls.page(store, claim, cp.report.pages, cp.finished).await;
        if cp.finished {
            return Ok(cp.report);
        }
    }
}

/// A page of items: those changed since `since`, or all of them.
async fn list_page(
    env: &Tenant,
    since: Option<&str>,
    cursor: Option<String>,
    page_size: u32,
) -> Result<DocumentPage, StepError> {
    let request = PageRequest {
        cursor,
        limit: page_size,
    };
    let erp = &env.roles.erp_catalog;
    match since {
        Some(since) => erp.list_items_changed(since, &request).await,
        None => erp.list_items(&request).await,
    }
    .map_err(role)
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
