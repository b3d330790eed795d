//! The syncs an operator starts by hand (`ferry sync catalog|prices|stock`): queued as the same durable job
//! a schedule queues, on the store the server works from, and followed until it ends.

use std::time::Duration;

use serde::Serialize;

use super::{Context, ServiceError};
use crate::flows::catalog::{self, CatalogReport, Checkpoint, Mode, RunOptions};
use crate::flows::prices::{self, Policy, ValuesReport};
use ferry_store::{Job, JobState};

/// How often a follower looks at the job: often at first (a delta run often ends within tens of
/// milliseconds, and the command should end with it), then every 200 ms.
fn poll_after(started: tokio::time::Instant) -> Duration {
    if started.elapsed() < Duration::from_secs(2) {
        Duration::from_millis(20)
    } else {
        Duration::from_millis(200)
    }
}

/// A catalog run as the store has it.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogRun {
    pub tenant: String,
    pub mode: Mode,
    pub options: RunOptions,
    /// queued, running, done, held or dead.
    pub state: String,
    pub report: CatalogReport,
    /// Why it is held or dead, or why its last attempt failed.
    pub error: Option<String>,
}

impl CatalogRun {
    fn of(job: &Job) -> Result<Self, ServiceError> {
        let cp: Checkpoint = serde_json::from_value(job.checkpoint.clone())
            .map_err(|e| ServiceError::Input(format!("not a catalog job's checkpoint: {e}")))?;
        Ok(Self {
            tenant: job.tenant.clone(),
            mode: cp.mode,
            options: cp.options,
            state: job.state.as_str().to_string(),
            report: cp.report,
            error: job.hold_reason.clone().or_else(|| job.last_error.clone()),
        })
    }

    /// Whether the run has ended (done, held or dead).
    pub fn ended(&self) -> bool {
        !matches!(self.state.as_str(), "queued" | "running")
    }
}

/// Queues a catalog run for `tenant` (`full`: every item, else a delta from the stored
/// cursor, or from `options.since`) with the tenant's configured policy. A `since` that is
/// neither RFC 3339 nor a date, or one with `full`, is refused before anything is queued.
pub async fn queue_catalog(
    ctx: &Context,
    tenant: &str,
    full: bool,
    options: RunOptions,
) -> Result<(), ServiceError> {
    let policy = ctx.tenant(tenant)?.sync.catalog.clone();
    if let Some(since) = &options.since {
        if full {
            return Err(ServiceError::Input(
                "--since reads the items changed since a date; --full reads every item: choose one"
                    .into(),
            ));
        }
        let date = chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_ok();
        if !date && chrono::DateTime::parse_from_rfc3339(since).is_err() {
            return Err(ServiceError::Input(format!(
                "--since {since:?} is neither a date (2026-11-30) nor RFC 3339 (2026-11-30T08:00:00Z)"
            )));
        }
    }
    let store = ctx.open_store().await?;
    let mode = if full { Mode::Full } else { Mode::Delta };
    catalog::queue_with(store.as_ref(), tenant, mode, &policy, options).await?;
    Ok(())
}

/// The tenant's catalog run (`key`: [`RunOptions::key`]) as it stands, if there was one.
pub async fn catalog_run(
    ctx: &Context,
    tenant: &str,
    key: &str,
) -> Result<Option<CatalogRun>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    match store.job(tenant, catalog::KIND, key).await? {
        Some(job) => Ok(Some(CatalogRun::of(&job)?)),
        None => Ok(None),
    }
}

/// Follows the tenant's catalog run until it ends or `timeout` passes; `progress` sees each
/// new state of it. Returns the last state seen.
pub async fn follow_catalog(
    ctx: &Context,
    tenant: &str,
    key: &str,
    timeout: Duration,
    mut progress: impl FnMut(&CatalogRun),
) -> Result<CatalogRun, ServiceError> {
    let store = ctx.open_store().await?;
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let mut last: Option<(String, u64)> = None;
    loop {
        let job = store
            .job(tenant, catalog::KIND, key)
            .await?
            .ok_or_else(|| ServiceError::Input(format!("tenant '{tenant}' has no catalog run")))?;
        let run = CatalogRun::of(&job)?;
        let seen = (run.state.clone(), run.report.read);
        if last.as_ref() != Some(&seen) {
            progress(&run);
            last = Some(seen);
        }
        if run.ended() || tokio::time::Instant::now() >= deadline {
            return Ok(run);
        }
        tokio::time::sleep(poll_after(started)).await;
    }
}

/// Which sync a run is: the job kind and key of its runs that write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Catalog,
    Prices,
    Stock,
}

/// How many items a run that reads every item will likely read: what the tenant's last run of
/// this sync that read every item and finished read. M3 does not say how many items a listing
/// holds, so this is the progress bar's end and what its ETA is reckoned from; none when the
/// last run was a delta, is not finished, or there was none.
pub async fn expected_items(
    ctx: &Context,
    tenant: &str,
    target: Target,
) -> Result<Option<u64>, ServiceError> {
    ctx.tenant(tenant)?;
    let (kind, key) = match target {
        Target::Catalog => (catalog::KIND, RunOptions::default().key()),
        Target::Prices => (
            prices::PRICES_KIND,
            Policy::Prices(Default::default()).key(false),
        ),
        Target::Stock => (
            prices::STOCK_KIND,
            Policy::Stock(Default::default()).key(false),
        ),
    };
    let store = ctx.open_store().await?;
    let Some(job) = store.job(tenant, kind, key).await? else {
        return Ok(None);
    };
    if job.state != JobState::Done {
        return Ok(None);
    }
    // A checkpoint this binary cannot read (another version's) gives no estimate, no error.
    let read_every_item = match target {
        Target::Catalog => serde_json::from_value::<Checkpoint>(job.checkpoint)
            .ok()
            .filter(|cp| cp.since.is_none())
            .map(|cp| cp.report.read),
        Target::Prices | Target::Stock => {
            serde_json::from_value::<prices::Checkpoint>(job.checkpoint)
                .ok()
                .filter(|cp| cp.report.since.is_none())
                .map(|cp| cp.report.read)
        }
    };
    Ok(read_every_item.filter(|n| *n > 0))
}

/// A price or stock run as the store has it.
#[derive(Debug, Clone, Serialize)]
pub struct ValuesRun {
    pub tenant: String,
    /// `prices` or `stock`.
    pub target: &'static str,
    pub options: prices::RunOptions,
    /// queued, running, done, held or dead.
    pub state: String,
    pub report: ValuesReport,
    /// Why it is held or dead, or why its last attempt failed.
    pub error: Option<String>,
}

impl ValuesRun {
    fn of(job: &Job) -> Result<Self, ServiceError> {
        let cp: prices::Checkpoint = serde_json::from_value(job.checkpoint.clone())
            .map_err(|e| ServiceError::Input(format!("not a price or stock checkpoint: {e}")))?;
        Ok(Self {
            tenant: job.tenant.clone(),
            target: match cp.policy {
                Policy::Prices(_) => "prices",
                Policy::Stock(_) => "stock",
            },
            options: cp.options,
            state: job.state.as_str().to_string(),
            report: cp.report,
            error: job.hold_reason.clone().or_else(|| job.last_error.clone()),
        })
    }

    /// Whether the run has ended (done, held or dead).
    pub fn ended(&self) -> bool {
        !matches!(self.state.as_str(), "queued" | "running")
    }
}

/// Queues a price (`stock` false) or stock run for `tenant` with its configured policy; returns
/// the policy (its kind and key name the job to follow).
pub async fn queue_values(
    ctx: &Context,
    tenant: &str,
    stock: bool,
    options: prices::RunOptions,
) -> Result<Policy, ServiceError> {
    let sync = &ctx.tenant(tenant)?.sync;
    let policy = if stock {
        Policy::Stock(sync.stock.clone())
    } else {
        Policy::Prices(sync.prices.clone())
    };
    let store = ctx.open_store().await?;
    prices::queue(store.as_ref(), tenant, &policy, options).await?;
    Ok(policy)
}

/// Follows the tenant's price or stock run (`policy`'s kind, `key`) until it ends or `timeout`
/// passes; `progress` sees each new state of it. Returns the last state seen.
pub async fn follow_values(
    ctx: &Context,
    tenant: &str,
    policy: &Policy,
    key: &str,
    timeout: Duration,
    mut progress: impl FnMut(&ValuesRun),
) -> Result<ValuesRun, ServiceError> {
    let store = ctx.open_store().await?;
    let started = tokio::time::Instant::now();
    let deadline = started + timeout;
    let mut last: Option<(String, u64)> = None;
    loop {
        let job = store
            .job(tenant, policy.kind(), key)
            .await?
            .ok_or_else(|| ServiceError::Input(format!("tenant '{tenant}' has no such run")))?;
        let run = ValuesRun::of(&job)?;
        let seen = (run.state.clone(), run.report.read);
        if last.as_ref() != Some(&seen) {
            progress(&run);
            last = Some(seen);
        }
        if run.ended() || tokio::time::Instant::now() >= deadline {
            return Ok(run);
        }
        tokio::time::sleep(poll_after(started)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::flows::catalog::CatalogPolicy;
    use ferry_store::{Jobs, MemoryStore, Outcome, Store};

    /// What a `--full` run of `target` for acme would expect.
    async fn expected(ctx: &Context, target: Target) -> Option<u64> {
        expected_items(ctx, "acme", target).await.expect("expected")
    }

    /// Runs the tenant's queued job to its end with its checkpoint changed by `ended` (what
    /// the run read), finishing it with `outcome`.
    async fn end_run(
        store: &MemoryStore,
        ended: impl FnOnce(&mut serde_json::Value),
        outcome: Outcome,
    ) {
        let claim = store
            .claim("w", 1, 60_000, crate::flows::now_ms())
            .await
            .expect("claim")
            .pop()
            .expect("a queued run");
        let mut cp = claim.job.checkpoint.clone();
        ended(&mut cp);
        store
            .commit_step(&claim, "page", &cp, "a page", None)
            .await
            .expect("commit");
        store
            .finish(&claim, outcome, crate::flows::now_ms())
            .await
            .expect("finish");
    }

    #[tokio::test]
    async fn a_full_run_expects_what_the_last_finished_run_of_every_item_read() {
        let store = Arc::new(MemoryStore::new());
        let ctx = Context::acme_on(store.clone());
        assert_eq!(expected(&ctx, Target::Catalog).await, None, "no run yet");
        let policy = CatalogPolicy::default();
        let queue = |mode| {
            catalog::queue_with(store.as_ref(), "acme", mode, &policy, RunOptions::default())
        };
        queue(Mode::Full).await.expect("queue");
        end_run(
            &store,
            |cp| cp["report"]["read"] = 1234.into(),
            Outcome::Done,
        )
        .await;
        assert_eq!(expected(&ctx, Target::Catalog).await, Some(1234));

        // A delta since the last run's start read only what changed: no estimate from it.
        queue(Mode::Delta).await.expect("queue");
        end_run(
            &store,
            |cp| {
                cp["since"] = "2026-12-01T00:00:00Z".into();
                cp["report"]["read"] = 12.into();
            },
            Outcome::Done,
        )
        .await;
        assert_eq!(expected(&ctx, Target::Catalog).await, None);

        // Nor from a full run that did not finish.
        queue(Mode::Full).await.expect("queue");
        end_run(
            &store,
            |cp| cp["report"]["read"] = 500.into(),
            Outcome::Hold {
                reason: "held".into(),
            },
        )
        .await;
        assert_eq!(expected(&ctx, Target::Catalog).await, None);
    }

    #[tokio::test]
    async fn a_price_run_expects_its_own_last_run_not_the_stock_one() {
        let store = Arc::new(MemoryStore::new());
        let ctx = Context::acme_on(store.clone());
        let policy = Policy::Prices(Default::default());
        prices::queue(store.as_ref(), "acme", &policy, Default::default())
            .await
            .expect("queue");
        end_run(
            &store,
            |cp| cp["report"]["read"] = 800.into(),
            Outcome::Done,
        )
        .await;
        assert_eq!(expected(&ctx, Target::Prices).await, Some(800));
        assert_eq!(expected(&ctx, Target::Stock).await, None);
    }
}
