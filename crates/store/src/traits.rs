//! The store's interface, one trait per job. Every backend implements all of them; callers
//! hold `Arc<dyn Store>` (or the one trait they need: `Arc<dyn Store>` upcasts to it).
//!
//! All methods are called from async tasks, any number of times, concurrently; a backend that
//! blocks (SQLite) does so off the async threads. `now_ms` arguments come from
//! [`clock_ms`](crate::clock_ms) (tests pass their own); the store never reads the wall clock
//! for a decision.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::StoreError;
use crate::nodes::{NewNode, NodeClaims, NodeInfo};
use crate::types::{
    Activation, ApiToken, AuditEntry, Claim, DeadLetter, Edit, InboxEvent, Ingested, Install, Job,
    JobCount, JobState, Link, LinkRef, NewEvent, NewJob, NewToken, Outcome, Release,
};

/// Deduplicated inbound events (webhooks, ION BODs), each stored before it is acknowledged.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Records an inbound event (deduplicated by `(tenant, source, dedup_key)`) and queues its
    /// job, if one is asked for, unless the job already exists past `queued`. One transaction.
    /// Called once per delivery, before the sender is answered.
    async fn ingest(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError>;

    /// Queues `job` to run (again), for a job that reads the current state of something and
    /// so must run once after every change to it (the order-status push-back). With `event`,
    /// the event is first recorded as in `ingest`: a duplicate queues nothing. A finished job
    /// for the key (done, held or dead) is queued again from `job.checkpoint` at step
    /// `received` with its attempts reset; a queued one is left as it is (its backoff stands);
    /// a running one runs once more after it ends: its `run_at` moves past the claim's, and
    /// `finish` with `Done` queues a job rescheduled that way instead of ending it. Returns
    /// `Queued` or `Duplicate`. One transaction.
    async fn rerun(
        &self,
        event: Option<NewEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError>;

    /// Gives a job that is still queued `job.checkpoint` in place of its own, to run from step
    /// `received` at `now_ms` with its attempts reset: a run asked for with more to do before
    /// the queued one started (`ferry sync --full` over a queued delta; `rerun` leaves a
    /// queued job as it is). Returns whether it did: false when there is no such job or it is
    /// running or ended (then `rerun` is the call). One statement.
    async fn replace_queued(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError>;

    /// The stored event with this source id, if it was received.
    async fn event(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
    ) -> Result<Option<InboxEvent>, StoreError>;

    /// The newest `limit` events, newest first (all tenants when `tenant` is None).
    async fn events(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<InboxEvent>, StoreError>;
}

/// Jobs with fenced claims, per-step checkpoints and intents, holds and dead letters.
///
/// The step protocol: claim a job with a lease and a fresh token; before an external write,
/// record its *intent*; make the call outside any transaction; then commit the result, next
/// checkpoint, link and audit in one fenced write. A job reclaimed with an intent still
/// recorded is *in doubt*: the flow reads the other system back before doing anything else.
/// Every write about a claim fails with [`StoreError::LeaseLost`] once another worker holds it.
#[async_trait]
pub trait Jobs: Send + Sync {
    /// Queues a job for the key if none exists (the poller's path); returns whether it did.
    async fn enqueue(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError>;

    /// Claims up to `max` runnable jobs (queued and due, or running with an expired lease),
    /// oldest `run_at` first. A `run_at` or lease set at a time later than `now_ms` (the clock
    /// stepped back since, or another process's clock is ahead) is first moved to start at
    /// `now_ms`: a step back delays a job by at most its own backoff or lease, never by the
    /// size of the step. Each claim counts an attempt.
    async fn claim(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Claim>, StoreError>;

    /// Extends the lease of a claim still held (the worker's heartbeat).
    async fn extend(&self, claim: &Claim, lease_ms: i64, now_ms: i64) -> Result<(), StoreError>;

    /// Records that the external write `intent` is about to be made (and audits it).
    async fn begin_intent(&self, claim: &Claim, intent: &str) -> Result<(), StoreError>;

    /// Commits a completed step: its checkpoint, clears the intent, and writes the audit
    /// entry and any link (in the job's tenant, state untouched), all or nothing, if the claim
    /// still holds.
    async fn commit_step(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        link: Option<LinkRef<'_>>,
    ) -> Result<(), StoreError>;

    /// Ends the claim with an outcome (fenced). `Retry` keeps the intent (the next attempt
    /// starts in doubt); `Wait` gives the claim's attempt back; `Dead` writes a dead letter;
    /// `Done` on a job that `Inbox::rerun` rescheduled while it ran queues it again.
    async fn finish(&self, claim: &Claim, outcome: Outcome, now_ms: i64) -> Result<(), StoreError>;

    /// Takes the order `reference` for the claim's job: true when it now holds it (or already
    /// did), false while another job that is still queued or running holds it. A finished,
    /// held or dead holder gives it up. One holder per (tenant, reference) across nodes.
    async fn lock_reference(&self, claim: &Claim, reference: &str) -> Result<bool, StoreError>;

    /// Makes the jobs this node claimed before it restarted claimable now (their leases would
    /// otherwise keep them until they expire). `node`: the node's stable id, the prefix of its
    /// workers' names (`{node}-{n}`). Call before this node's workers claim anything.
    async fn release_claims_of(&self, node: &str, now_ms: i64) -> Result<usize, StoreError>;

    async fn job(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<Job>, StoreError>;

    /// Jobs in id order, optionally of one tenant and one state.
    async fn jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
    ) -> Result<Vec<Job>, StoreError>;

    /// How many of the tenant's jobs are in each (kind, state), counting only jobs last
    /// changed (`updated_at`) at or after `changed_since` (RFC 3339 as rows carry it; None:
    /// every job). Counts without loading checkpoints: for alerts and health figures.
    async fn job_counts(
        &self,
        tenant: &str,
        changed_since: Option<&str>,
    ) -> Result<Vec<JobCount>, StoreError>;

    /// Puts a dead job back in the queue, keeping its checkpoint (so idempotency holds).
    /// A dead letter replays once.
    async fn replay(&self, dead_letter_id: i64, now_ms: i64) -> Result<Job, StoreError>;

    /// Releases a held job back to the queue, `from` its last checkpoint or from the start.
    async fn release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        from: Release<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError>;

    /// Edit-and-retry: puts a held or dead job back in the queue at `edit.step` with the
    /// operator's checkpoint, clearing its hold reason; a dead job's open dead letters are
    /// marked replayed so they can't be replayed on top. Audited (`edited`, with `edit.data`).
    /// [`StoreError::NotFound`] when no held or dead job has this key;
    /// [`StoreError::Conflict`] when its checkpoint is no longer `edit.was` or a write was
    /// begun (an intent is recorded). One transaction.
    async fn edit_and_release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        edit: Edit<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError>;

    /// Closes a held or dead job by hand (the operator fixed the cause elsewhere) without
    /// running it again: it ends `done`, keeping its checkpoint, hold reason and last error,
    /// with `resolved_at` set; a dead job's open dead letters (not replayed) are marked
    /// resolved too, so they can't be replayed. Audited (`resolve`). [`StoreError::NotFound`]
    /// when no held or dead job has this key. One transaction.
    async fn resolve(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Job, StoreError>;

    /// Dead letters in id order, optionally of one tenant.
    async fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;

    async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError>;
}

/// Cross-references between local and remote ids, per (tenant, kind, local id), each with an
/// optional state (e.g. an order's last pushed status).
#[async_trait]
pub trait Links: Send + Sync {
    async fn link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
    ) -> Result<Option<Link>, StoreError>;

    /// Writes (or rewrites, idempotently) a link. `state: None` leaves a stored state as it
    /// is, so a plain cross-reference write never clears what a flow tracks.
    async fn put_link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        remote_id: &str,
        state: Option<&str>,
    ) -> Result<(), StoreError>;

    /// The links of a kind pointing at `remote_id` (usually one), by local id.
    async fn links_by_remote(
        &self,
        tenant: &str,
        kind: &str,
        remote_id: &str,
    ) -> Result<Vec<Link>, StoreError>;

    /// Sets the state of an existing link; false when there is no such link.
    async fn set_link_state(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        state: &str,
    ) -> Result<bool, StoreError>;

    /// Links of a kind that carry a state not in `closed` (e.g. orders not yet in a final
    /// status), least recently updated first. Links without a state are not listed.
    async fn open_links(
        &self,
        tenant: &str,
        kind: &str,
        closed: &[String],
    ) -> Result<Vec<Link>, StoreError>;
}

/// The audit trail, per (tenant, key).
#[async_trait]
pub trait Audit: Send + Sync {
    /// Appends an entry about `key` outside a step (linked to its job, if one exists).
    async fn audit(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        step: &str,
        message: &str,
        data: &Json,
    ) -> Result<(), StoreError>;

    /// Every entry about `key` (of any kind), oldest first.
    async fn trail(&self, tenant: &str, key: &str) -> Result<Vec<AuditEntry>, StoreError>;
}

/// What sync flows remember between runs: how far each stream was read, and the content hash
/// last written per entity (so an unchanged record is not written again).
#[async_trait]
pub trait SyncState: Send + Sync {
    async fn cursor(&self, tenant: &str, stream: &str) -> Result<Option<String>, StoreError>;

    async fn set_cursor(&self, tenant: &str, stream: &str, cursor: &str) -> Result<(), StoreError>;

    /// Sets the cursor to `cursor` only if it is still `expected` (None: still absent), in one
    /// statement: whether it was set. For a record that several nodes read, change and write
    /// back (a mapping's version index): the one that lost reads again and retries.
    async fn replace_cursor(
        &self,
        tenant: &str,
        stream: &str,
        expected: Option<&str>,
        cursor: &str,
    ) -> Result<bool, StoreError>;

    async fn content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError>;

    async fn set_content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
        hash: &str,
    ) -> Result<(), StoreError>;

    /// [`content_hash`](Self::content_hash) for many keys in one round trip: the stored hash of
    /// each of `keys` that has one (a key without one is absent from the map).
    async fn content_hashes(
        &self,
        tenant: &str,
        entity_kind: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError>;

    /// [`set_content_hash`](Self::set_content_hash) for many (key, hash) entries, all in one
    /// transaction (all recorded or none); a key given twice keeps its last hash.
    async fn set_content_hashes(
        &self,
        tenant: &str,
        entity_kind: &str,
        entries: &[(String, String)],
    ) -> Result<(), StoreError>;
}

/// The plugin registry's durable half: which component serves which tenant's role, with
/// history.
#[async_trait]
pub trait Activations: Send + Sync {
    /// Records an install (idempotent).
    async fn record_install(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<(), StoreError>;

    async fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError>;

    /// Makes `digest` (which must be installed for the role) the active one; activating the
    /// active one again changes nothing.
    async fn activate(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<Activation, StoreError>;

    /// Retires the active component and returns the one now active again.
    async fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError>;

    /// What would become active on a rollback, without doing it.
    async fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError>;

    /// The active component of every (tenant, role), by tenant and role.
    async fn active(&self) -> Result<Vec<Activation>, StoreError>;

    /// Changes whenever any binding changes, also from another process: a cheap poll.
    async fn generation(&self) -> Result<i64, StoreError>;

    /// Keeps a component's bytes under their digest, for every node sharing the store
    /// (idempotent: a digest names one content, so a second put changes nothing).
    async fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError>;

    /// A component's bytes by digest, if the store keeps them.
    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Keeps a text beside a component as one tenant installed it (a package's manifest or
    /// signature); a second put under the same name replaces the text.
    async fn put_plugin_file(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError>;

    /// The texts kept beside `digest` for `tenant`, as (name, text) by name.
    async fn plugin_files(
        &self,
        digest: &str,
        tenant: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
}

/// The admin API's bearer tokens, kept by the hash of their secret (the secret is shown to
/// the operator once and stored nowhere). Looked up on every admin request.
#[async_trait]
pub trait Tokens: Send + Sync {
    /// Stores a new token; [`StoreError::Conflict`] when its id or hash is taken.
    async fn create_token(&self, token: NewToken<'_>) -> Result<ApiToken, StoreError>;

    /// The live (not revoked) token whose secret hashes to `hash`, if any.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// Every token, revoked ones too, oldest first.
    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes the token (idempotent: an already revoked one keeps its first `revoked_at`);
    /// [`StoreError::NotFound`] when there is no such id.
    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError>;
}

/// The nodes sharing the store: each `ferry serve` registers itself and heartbeats, so any
/// process can list which are live and what their workers hold.
#[async_trait]
pub trait Nodes: Send + Sync {
    /// Records the node as started now (a restart under the same id replaces its row).
    async fn register_node(&self, node: NewNode<'_>, now_ms: i64) -> Result<(), StoreError>;

    /// Moves the node's heartbeat to `now_ms`; false when it has no row (it was forgotten:
    /// register again).
    async fn heartbeat_node(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Every registered node, live or not, by id.
    async fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError>;

    /// Removes the nodes whose last heartbeat is before `silent_since_ms`; how many.
    async fn forget_nodes(&self, silent_since_ms: i64) -> Result<usize, StoreError>;

    /// Per node, the running jobs its workers (`{node}-{n}`) hold claims on, expired leases
    /// included until another worker takes them over; by node.
    async fn node_claims(&self) -> Result<Vec<NodeClaims>, StoreError>;
}

/// Schedules that several nodes keep: each slot runs on one of them.
#[async_trait]
pub trait Schedules: Send + Sync {
    /// Takes `slot` of the tenant's `schedule` for `node`: true for exactly one caller per
    /// slot across every handle and process; false when this slot or a later one was taken
    /// already (so a node whose clock lags can't run a slot another node has moved past).
    /// `slot` grows with time (e.g. intervals since the epoch).
    async fn take_slot(
        &self,
        tenant: &str,
        schedule: &str,
        slot: i64,
        node: &str,
    ) -> Result<bool, StoreError>;
}

/// Readiness.
#[async_trait]
pub trait Health: Send + Sync {
    /// One tiny write, waiting for a lock at most `wait`; the error says why it can't write
    /// (locked, disk full, read-only).
    async fn can_write(&self, wait: Duration) -> Result<(), StoreError>;

    /// Whether the store still holds its database: one trivial read, writing nothing (for
    /// `/healthz`, polled often). Callers bound it with their own timeout.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The whole store. Implemented for every type that implements each part.
pub trait Store:
    Inbox
    + Jobs
    + Links
    + Audit
    + SyncState
    + Activations
    + Tokens
    + Nodes
    + Schedules
    + Health
    + crate::controls::Controls
    + crate::buckets::Buckets
    + crate::shadows::Shadows
    + crate::ordering::Ordered
{
}

impl<T> Store for T where
    T: Inbox
        + Jobs
        + Links
        + Audit
        + SyncState
        + Activations
        + Tokens
        + Nodes
        + Schedules
        + Health
        + crate::controls::Controls
        + crate::buckets::Buckets
        + crate::shadows::Shadows
        + crate::ordering::Ordered
        + ?Sized
{
}
