//! What every paged sync run shares: how it is queued (a queued run stands unless the one
//! asked for reads more), the look ahead (the next page is listed and read, and the one after
//! it listed, while this one is written), a run's name and start, and the milliseconds its
//! log lines report.

use std::future::Future;
use std::time::Duration;

use ferry_store::{Ingested, JobState, NewJob, Store, StoreError};
use serde_json::Value as Json;

use super::{StepError, now_ms};

/// Queues a run (`Inbox::rerun`: again when the last one ended, once more after a running
/// one). A run already queued stands (`Duplicate`) unless `reads_more` says of its checkpoint
/// that the one asked for reads more (a full over a delta): that one takes its place before
/// it starts, so `ferry sync --full` is never swallowed by a scheduled delta waiting its turn.
pub(crate) async fn queue_run(
    store: &dyn Store,
    job: NewJob<'_>,
    reads_more: impl FnOnce(&Json) -> bool,
) -> Result<Ingested, StoreError> {
    let waiting = store.job(job.tenant, job.kind, job.key).await?;
    if let Some(waiting) = waiting.filter(|j| j.state == JobState::Queued) {
        if !reads_more(&waiting.checkpoint) {
            return Ok(Ingested::Duplicate);
        }
        if store.replace_queued(job.clone(), now_ms()).await? {
            return Ok(Ingested::Queued);
        }
        // Claimed meanwhile: it runs once more as asked after this one ends.
    }
    store.rerun(None, job, now_ms()).await
}

/// A page as listed: where the page after it starts (none: it is the last).
pub(crate) trait Listed {
    fn next(&self) -> Option<String>;
}

/// A page read ahead: prepared (mapped, or its values read) and the cursor of the page after.
type Prepared<P> = Result<(P, Option<String>), StepError>;

/// The pages ahead of the one being written: the next one listed and prepared, and the one
/// after it listed, while this one is written and committed. Listing and preparing are reads
/// (a mapping, an ERP listing or value read): a run that fails there resumes from its
/// checkpoint anyway. So a page's chain waits on the slowest of its three stages (the ERP's
/// listing, the mapping or value read, the writes), not on their sum.
pub(crate) struct LookAhead<L, P> {
    prepared: Option<Prepared<P>>,
    listed: Option<Result<L, StepError>>,
}

impl<L: Listed, P> LookAhead<L, P> {
    pub fn new() -> Self {
        LookAhead {
            prepared: None,
            listed: None,
        }
    }

    /// The page prepared ahead, else `now`'s listing prepared by `prepare`; with the cursor of
    /// the page after it.
    pub async fn next_or<F: Future<Output = Result<P, StepError>>>(
        &mut self,
        now: impl Future<Output = Result<L, StepError>>,
        prepare: impl FnOnce(L) -> F,
    ) -> Prepared<P> {
        if let Some(page) = self.prepared.take() {
            return page;
        }
        let listed = now.await?;
        let next = listed.next();
        Ok((prepare(listed).await?, next))
    }

    /// Runs `work` while the page at `next` (none: this one is the last) is listed (unless it
    /// was already) and prepared, and the one after it listed. A failure ahead is that page's,
    /// kept for [`LookAhead::failed`]: this page's work stands and commits first.
    pub async fn alongside<R, Listing, Preparing>(
        &mut self,
        work: impl Future<Output = R>,
        next: Option<String>,
        list: impl Fn(String) -> Listing,
        prepare: impl FnOnce(L) -> Preparing,
    ) -> R
    where
        Listing: Future<Output = Result<L, StepError>>,
        Preparing: Future<Output = Result<P, StepError>>,
    {
        let listed = self.listed.take();
        let ahead = async {
            let listed = match (listed, next) {
                (Some(listed), _) => listed,
                (None, Some(cursor)) => list(cursor).await,
                (None, None) => return (None, None),
            };
            let listed = match listed {
                Ok(listed) => listed,
                Err(e) => return (Some(Err(e)), None),
            };
            let after = listed.next();
            let after_that = async {
                match &after {
                    Some(cursor) => Some(list(cursor.clone()).await),
                    None => None,
                }
            };
            let (prepared, after_that) = tokio::join!(prepare(listed), after_that);
            (Some(prepared.map(|p| (p, after))), after_that)
        };
        let (done, (prepared, listed)) = tokio::join!(work, ahead);
        self.prepared = prepared;
        self.listed = listed;
        done
    }

    /// Once the page committed: a failure ahead ends the attempt now, before the page's calls
    /// are forgotten, so the trail's failure entry carries the failed call.
    pub fn failed(&mut self) -> Result<(), StepError> {
        match self.prepared.take_if(|page| page.is_err()) {
            Some(Err(e)) => Err(e),
            _ => Ok(()),
        }
    }
}

/// Milliseconds, for a log line.
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A run's name in its trail entries: when it began, to the millisecond (one key's runs
/// follow each other, so no two begin in the same millisecond).
pub(crate) fn run_id(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A run's start, to the second: what a finished run leaves as its delta's cursor.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
