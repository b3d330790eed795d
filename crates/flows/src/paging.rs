//! What every paged sync run shares: how it is queued (a queued run stands unless the one
//! asked for reads more), the look ahead (the next page is listed while this one is worked
//! on), a run's name and start, and the milliseconds its log lines report.

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

/// The next page, when already listed during this one's work. Listing ahead is a read: a run
/// that fails there resumes from its checkpoint anyway, and the page's chain no longer waits
/// on the ERP's listing as well as on its own reads, mapping and writes.
pub(crate) struct LookAhead<T>(Option<Result<T, StepError>>);

impl<T> LookAhead<T> {
    pub fn new() -> Self {
        LookAhead(None)
    }

    /// The page listed ahead, else `list`'s.
    pub async fn next_or(
        &mut self,
        list: impl Future<Output = Result<T, StepError>>,
    ) -> Result<T, StepError> {
        match self.0.take() {
            Some(page) => page,
            None => list.await,
        }
    }

    /// Runs `work` while `ahead` (the next page's listing, if there is a next page) runs. A
    /// failed look ahead is the next page's failure, kept for [`LookAhead::failed`]: this
    /// page's work stands and commits first.
    pub async fn alongside<R>(
        &mut self,
        work: impl Future<Output = R>,
        ahead: Option<impl Future<Output = Result<T, StepError>>>,
    ) -> R {
        let ahead = async {
            match ahead {
                Some(list) => Some(list.await),
                None => None,
            }
        };
        let (done, ahead) = tokio::join!(work, ahead);
        self.0 = ahead;
        done
    }

    /// Once the page committed: a failed look ahead ends the attempt now, before the page's
    /// calls are forgotten, so the trail's failure entry carries the failed call.
    pub fn failed(&mut self) -> Result<(), StepError> {
        match self.0.take_if(|page| page.is_err()) {
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
