//! The in-memory store: the same semantics as SQLite (claims, leases, fencing tokens, intents,
//! dedup, reference locks, dead letters, replay and release) in a `Mutex`, for flow unit tests.
//! Not durable: state lives as long as the value. Every operation takes the lock once, checks
//! first and changes after, so it is all or nothing like a transaction.

mod controls;
mod edit;
mod jobs;
mod nodes;
mod ordered;
mod records;
mod shadows;
mod tokens;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;
use crate::traits::Health;
use crate::types::{Activation, AuditEntry, Claim, DeadLetter, InboxEvent, Install, Job, Link};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    shadows: Mutex<shadows::Book>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `op` under the lock (never across an await).
    fn with<T>(
        &self,
        op: impl FnOnce(&mut State) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state: MutexGuard<'_, State> =
            self.state.lock().map_err(|_| StoreError::Poisoned)?;
        op(&mut state)
    }
}

/// A job with the columns SQLite keeps beside it.
struct JobRow {
    job: Job,
    token: Option<String>,
    claimed_by: Option<String>,
    lease_until: Option<i64>,
    /// When `run_at` was set (see `Jobs::claim` on clock steps).
    scheduled_at: Option<i64>,
    /// When the lease was set.
    leased_at: Option<i64>,
}

struct AuditRow {
    tenant: String,
    key: String,
    entry: AuditEntry,
}

type Key3 = (String, String, String);

#[derive(Default)]
struct State {
    inbox: Vec<InboxEvent>,
    jobs: BTreeMap<i64, JobRow>,
    last_job_id: i64,
    links: BTreeMap<Key3, Link>,
    dead: BTreeMap<i64, DeadLetter>,
    last_dead_id: i64,
    audit: Vec<AuditRow>,
    locks: HashMap<(String, String), i64>,
    cursors: HashMap<(String, String), String>,
    hashes: HashMap<Key3, String>,
    installs: Vec<Install>,
    /// Every activation ever made, and whether a rollback retired it.
    activations: Vec<(Activation, bool)>,
    /// Components by digest, and the texts kept beside them by (digest, tenant, name).
    blobs: HashMap<String, Vec<u8>>,
    plugin_files: BTreeMap<Key3, String>,
    /// Each token with the hash of its secret.
    tokens: Vec<(crate::types::ApiToken, String)>,
    nodes: BTreeMap<String, crate::nodes::NodeInfo>,
    /// The last slot taken per (tenant, schedule).
    slots: HashMap<(String, String), i64>,
    /// Paused flows by (tenant, flow).
    pauses: BTreeMap<(String, String), crate::controls::Pause>,
    /// The ordering key of each job queued with one, by job id (`crate::ordering`).
    ordering: HashMap<i64, String>,
}

fn key3(a: &str, b: &str, c: &str) -> Key3 {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

impl State {
    fn job_id(&self, tenant: &str, kind: &str, key: &str) -> Option<i64> {
        self.jobs
            .values()
            .find(|r| r.job.tenant == tenant && r.job.kind == kind && r.job.key == key)
            .map(|r| r.job.id)
    }

    /// The claim's row if the claim still holds it; the fence every write after a claim passes.
    fn held(&mut self, claim: &Claim) -> Result<&mut JobRow, StoreError> {
        match self.jobs.get_mut(&claim.job.id) {
            Some(row)
                if row.token.as_deref() == Some(claim.token.as_str())
                    && row.job.state == crate::JobState::Running =>
            {
                Ok(row)
            }
            _ => Err(StoreError::LeaseLost(claim.job.id)),
        }
    }

    fn append_audit(&mut self, job: &Job, step: &str, message: &str, data: serde_json::Value) {
        self.audit.push(AuditRow {
            tenant: job.tenant.clone(),
            key: job.key.clone(),
            entry: AuditEntry {
                at: crate::types::now(),
                job_id: job.id,
                step: step.to_owned(),
                message: message.to_owned(),
                data,
            },
        });
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn can_write(&self, _wait: Duration) -> Result<(), StoreError> {
        self.with(|_| Ok(()))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with(|_| Ok(()))
    }
}
