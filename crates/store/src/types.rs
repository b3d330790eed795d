//! The values the store takes and returns, the same for every backend.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

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

/// The text timestamps rows carry (`created_at`, `at`, ...): RFC 3339, UTC, milliseconds.
/// Only for people and ordering of listings; no decision is taken on them.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A fresh claim token: 128 random bits, hex.
pub(crate) fn new_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
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
    /// Set when an operator closed the job by hand ([`Jobs::resolve`](crate::Jobs::resolve)):
    /// it ended `done` without running again, keeping its hold reason or last error.
    pub resolved_at: Option<String>,
}

/// A claimed job and the token that fences every write about it.
/// How many of a tenant's jobs of one kind are in one state (`Jobs::job_counts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobCount {
    pub kind: String,
    pub state: JobState,
    pub count: i64,
}

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

/// An inbound event to record (for `Inbox::rerun`), deduplicated by (tenant, `source`,
/// `dedup_key`); the tenant is the job's.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub source: &'a str,
    pub dedup_key: &'a str,
    pub payload: &'a Json,
}

/// An inbound event as the inbox keeps it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InboxEvent {
    pub id: i64,
    pub tenant: String,
    /// Where it came from (`quotewerks`, `ion`, ...).
    pub source: String,
    /// The source's own id for the event (webhook event id, BOD id): unique per source.
    pub dedup_key: String,
    pub payload: Json,
    pub received_at: String,
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

/// Where a released hold starts again.
#[derive(Debug, Clone, Copy)]
pub enum Release<'a> {
    /// At its last checkpoint: the hold was about something outside the data (a setting).
    AtCheckpoint,
    /// From the beginning (step `received`, no intent), keeping only these top-level fields of
    /// the checkpoint (a missing one becomes null): the data was fixed at the source and must
    /// be read again. The quote flow keeps `["quote_id", "event"]`.
    Restart { keep: &'a [&'a str] },
}

/// An operator's edit of a held or dead job's checkpoint (`Jobs::edit_and_release`).
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    /// The checkpoint the edit was made on: when the job's is no longer this one (someone
    /// else edited or released it meanwhile) the edit is refused, not laid on top.
    pub was: &'a Json,
    pub checkpoint: &'a Json,
    /// The step the job resumes at.
    pub step: &'a str,
    /// What changed, kept in the `edited` audit entry.
    pub data: &'a Json,
}

/// Why `edit` can't be laid on `job` (every backend asks the same): the job moved on since
/// the operator read it, or a write to the other system was begun.
pub(crate) fn edit_refusal(job: &Job, edit: &Edit<'_>) -> Option<String> {
    if job.checkpoint != *edit.was {
        return Some(format!(
            "job {} changed since it was read; read it again and edit that",
            job.id
        ));
    }
    job.intent.as_ref().map(|intent| {
        format!(
            "job {} has begun a write ({intent}); it can't be edited",
            job.id
        )
    })
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
    /// Set once resolved by hand (fixed elsewhere) or by a later run of the same job that
    /// succeeded: a resolved letter is never replayed.
    pub resolved_at: Option<String>,
    /// How it was resolved: [`RESOLVED_BY_HAND`] or [`RESOLVED_BY_LATER_RUN`].
    pub resolved_by: Option<String>,
}

/// A dead letter an operator resolved (`Jobs::resolve`).
pub const RESOLVED_BY_HAND: &str = "hand";
/// A dead letter closed because a later run of its job ended done (`Jobs::finish`).
pub const RESOLVED_BY_LATER_RUN: &str = "later-run";

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub at: String,
    /// 0 when the entry was written for a key that had no job.
    pub job_id: i64,
    pub step: String,
    pub message: String,
    pub data: Json,
}

/// A cross-reference between a local id and the other system's id, e.g. kind `order` from a
/// quote id to the ERP order number (with the status last pushed to the quote as `state`), or
/// kind `customer` from a quoting customer key to the ERP customer number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Link {
    pub tenant: String,
    pub kind: String,
    pub local_id: String,
    pub remote_id: String,
    /// What the flow last knew of the linked thing (an order's status); None for a plain
    /// cross-reference.
    pub state: Option<String>,
    pub updated_at: String,
}

/// A link written together with a step (`Jobs::commit_step`); the tenant is the job's.
#[derive(Debug, Clone, Copy)]
pub struct LinkRef<'a> {
    pub kind: &'a str,
    pub local_id: &'a str,
    pub remote_id: &'a str,
}

/// A plugin installed for a tenant's role (it may or may not be active).
#[derive(Debug, Clone, Serialize)]
pub struct Install {
    pub tenant: String,
    pub role: String,
    pub digest: String,
    pub installed_at: String,
}

/// One activation: `digest` serves `tenant`'s `role` until a later activation or a rollback.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Activation {
    pub seq: i64,
    pub tenant: String,
    pub role: String,
    pub digest: String,
    pub activated_at: String,
}

/// The checkpoint a restarted job begins with: only `keep`'s fields, null where missing.
pub(crate) fn restart_checkpoint(checkpoint: &Json, keep: &[&str]) -> Json {
    let kept = keep
        .iter()
        .map(|k| {
            let v = checkpoint.get(*k).cloned().unwrap_or(Json::Null);
            ((*k).to_string(), v)
        })
        .collect::<serde_json::Map<_, _>>();
    Json::Object(kept)
}

/// What `commit_step` audits about a checkpoint: its top-level keys (not its content, which
/// may hold customer data).
pub(crate) fn checkpoint_keys(checkpoint: &Json) -> Json {
    serde_json::json!({
        "checkpoint_keys": checkpoint.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_clock_starts_at_wall_time_and_never_runs_backwards() {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_millis() as i64;
        let first = clock_ms();
        assert!((first - wall).abs() < 60_000, "{first} vs wall {wall}");
        let mut last = first;
        for _ in 0..10_000 {
            let now = clock_ms();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn claim_tokens_are_fresh_128_bit_hex() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

/// An admin API bearer token as stored: never its secret, only the SHA-256 of it (`hash`,
/// which callers look tokens up by and which is never returned).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiToken {
    /// A short public id (shown in listings and the audit, given to `revoke`).
    pub id: String,
    /// What the operator called it, if anything.
    pub name: Option<String>,
    /// The one tenant it may see; None: an admin token (every tenant).
    pub tenant: Option<String>,
    pub created_at: String,
    /// Set once revoked: a revoked token authenticates nothing.
    pub revoked_at: Option<String>,
}

/// A token to store: its id, scope and the hash of its secret.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    /// None: admin scope.
    pub tenant: Option<&'a str>,
    /// Hex SHA-256 of the secret.
    pub hash: &'a str,
}
