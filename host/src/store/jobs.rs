//! Durable work: the inbox (deduplicated inbound events), jobs with fenced claims and
//! per-step checkpoints, cross-references, dead letters and the audit trail.
//!
//! The step protocol (reference/durable-jobs-and-scale-out.md): claim a job with a lease and
//! a fresh claim token; before an external write, record its *intent*; make the call outside
//! any transaction; then commit the result, next checkpoint, cross-reference and audit in one
//! fenced write. A job reclaimed with an intent still recorded is *in doubt*: the flow reads
//! the other system back before doing anything else.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::StoreError;

/// The clock every `now_ms` given to the store is read from: milliseconds since the epoch,
/// taken from the wall clock once per process and advanced by the monotonic clock after that.
/// A wall-clock step (NTP, a resumed VM, an operator) then moves no lease and no backoff inside
/// a running process: a forward step can't hand a live lease to another worker, a backward one
/// can't postpone a retry. Steps between processes (a restart, the CLI) are undone in `claim`.
pub fn clock_ms() -> i64 {
    static ANCHOR: OnceLock<(i64, Instant)> = OnceLock::new();
    let (wall, start) = ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        (wall, Instant::now())
    });
    wall.saturating_add(i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    Queued,
    Running,
    Held,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Held => "held",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Held,
            JobState::Done,
            JobState::Dead,
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub tenant: String,
    pub kind: String,
    /// The natural key (the quote id): one job per (tenant, kind, key).
    pub key: String,
    pub state: JobState,
    /// The last completed step.
    pub step: String,
    pub checkpoint: Json,
    /// The external write that started and whose result was not recorded, if any.
    pub intent: Option<String>,
    pub attempts: i64,
    pub run_at_ms: i64,
    pub last_error: Option<String>,
    pub hold_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A claimed job and the token that fences every write about it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub job: Job,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub tenant: &'a str,
    pub kind: &'a str,
    pub key: &'a str,
    pub checkpoint: Json,
}

/// An inbound event for the inbox, deduplicated by (tenant, `source`, `dedup_key`).
#[derive(Debug, Clone)]
pub struct InboxEvent<'a> {
    pub source: &'a str,
    pub dedup_key: &'a str,
    pub payload: &'a Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ingested {
    /// Stored and a job queued (or re-queued).
    Queued,
    /// This event was seen before: nothing new.
    Duplicate,
    /// Stored, but the job for this key is already done, running, held or dead.
    AlreadyHandled,
    /// Stored for the record; no job was asked for (e.g. a status that isn't "ready").
    Stored,
}

/// How a worker leaves a job.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done,
    Retry {
        at_ms: i64,
        error: String,
    },
    /// Not a failure: something the job needs is busy (another job writes its order
    /// reference). Runs again at `at_ms` without using up an attempt.
    Wait {
        at_ms: i64,
        reason: String,
    },
    Hold {
        reason: String,
    },
    Dead {
        error: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub id: i64,
    pub job_id: i64,
    pub tenant: String,
    pub kind: String,
    pub key: String,
    pub at: String,
    /// The original input (the stored event) and the job's last checkpoint.
    pub input: Json,
    pub error: String,
    pub replayed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub at: String,
    pub job_id: i64,
    pub step: String,
    pub message: String,
    pub data: Json,
}

/// An ERP order made from a quote, and the status last pushed back to the quote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrderRow {
    pub tenant: String,
    pub quote_id: String,
    pub order_number: String,
    pub status: String,
    pub updated_at: String,
}

/// The job half of the store. SQLite implements it now; Postgres (`FOR UPDATE SKIP LOCKED`)
/// implements the same operations for scale-out.
pub trait JobStore: Send + Sync {
    /// Records an inbound event (deduplicated by `dedup_key`) and queues its job, if one is
    /// asked for, unless the job already exists past `queued`. One transaction.
    fn ingest(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError>;

    /// Queues a job for the key if none exists (the poller's path); returns whether it did.
    fn enqueue(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError>;

    /// Queues `job` to run (again) for a job that reads the current state of something and so
    /// must run once after every change to it (the order-status push-back). With `event`, the
    /// event is first recorded in the inbox as in `ingest`: a duplicate queues nothing. A
    /// finished job for the key (done, held or dead) is queued again from `job.checkpoint` with
    /// its attempts reset; a queued one is left as it is (its backoff stands); a running one
    /// runs once more after it ends: its `run_at` moves past the claim's, and `finish` with
    /// `Done` queues a job rescheduled that way instead of ending it. One transaction.
    fn rerun(
        &self,
        event: Option<InboxEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError>;

    /// Claims up to `max` runnable jobs (queued and due, or running with an expired lease).
    /// A `run_at` or lease set at a time later than `now_ms` (the clock stepped back since, or
    /// another process's clock is ahead) is first moved to start at `now_ms`: a step back
    /// delays a job by at most its own backoff or lease, never by the size of the step.
    fn claim(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Extends the lease of a claim still held.
    fn extend(&self, claim: &Claim, lease_ms: i64, now_ms: i64) -> Result<(), StoreError>;

    /// Records that the external write `intent` is about to be made.
    fn begin_intent(&self, claim: &Claim, intent: &str) -> Result<(), StoreError>;

    /// Commits a completed step: its checkpoint, clears the intent, and writes the audit
    /// entry and any cross-reference, all or nothing, if the claim still holds.
    fn commit_step(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        xref: Option<(&str, &str, &str)>,
    ) -> Result<(), StoreError>;

    /// Ends the claim with an outcome (fenced).
    fn finish(&self, claim: &Claim, outcome: Outcome, now_ms: i64) -> Result<(), StoreError>;

    /// Takes the order `reference` for the claim's job: true when it now holds it (or already
    /// did), false while another job that is still queued or running holds it. A finished,
    /// held or dead holder gives it up. Across nodes this is one row per (tenant, reference).
    fn lock_reference(&self, claim: &Claim, reference: &str) -> Result<bool, StoreError>;

    /// Makes the jobs this node claimed before it restarted claimable now (their leases would
    /// otherwise keep them until they expire). `node`: the node's stable id, the prefix of its
    /// workers' names. Call before this node's workers claim anything.
    fn release_claims_of(&self, node: &str, now_ms: i64) -> Result<usize, StoreError>;

    fn xref_get(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
    ) -> Result<Option<String>, StoreError>;
    fn audit(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        step: &str,
        message: &str,
        data: &Json,
    ) -> Result<(), StoreError>;

    fn job(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<Job>, StoreError>;
    fn jobs(&self, tenant: Option<&str>, state: Option<JobState>) -> Result<Vec<Job>, StoreError>;
    fn trail(&self, tenant: &str, key: &str) -> Result<Vec<AuditEntry>, StoreError>;
    fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;
    fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError>;

    /// Puts a dead job back in the queue, keeping its checkpoint (so idempotency holds).
    fn replay(&self, dead_letter_id: i64, now_ms: i64) -> Result<Job, StoreError>;
    /// Releases a held job back to the queue at its last checkpoint, or, with `restart`, from
    /// the beginning (keeping only its key and original event) when the data was fixed at the
    /// source and must be read again.
    fn release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        restart: bool,
        now_ms: i64,
    ) -> Result<Job, StoreError>;

    /// Records (or re-records, idempotently) the order made for a quote.
    fn record_order(
        &self,
        tenant: &str,
        quote_id: &str,
        order_number: &str,
        status: &str,
    ) -> Result<(), StoreError>;
    /// Orders whose status is not one of `final_statuses`.
    fn open_orders(
        &self,
        tenant: &str,
        final_statuses: &[String],
    ) -> Result<Vec<OrderRow>, StoreError>;
    fn order_by_number(
        &self,
        tenant: &str,
        order_number: &str,
    ) -> Result<Option<OrderRow>, StoreError>;
    fn set_order_status(
        &self,
        tenant: &str,
        quote_id: &str,
        status: &str,
    ) -> Result<(), StoreError>;
}
