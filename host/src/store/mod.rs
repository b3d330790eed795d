//! Durable state behind one interface. SQLite (WAL) is the embedded default; a Postgres
//! backend for scale-out implements the same traits later. Today it holds the plugin
//! registry's installs and activations; jobs, inbox, cross-references and audit join it.

mod jobs;
mod sqlite;
mod sqlite_jobs;
mod sqlite_locks;

pub use jobs::{
    AuditEntry, Claim, DeadLetter, InboxEvent, Ingested, Job, JobState, JobStore, NewJob, OrderRow,
    Outcome, clock_ms,
};
pub use sqlite::SqliteStore;

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the store's lock was poisoned by a panic")]
    Poisoned,
    /// The job's claim was taken over (lease expired and another worker claimed it): this
    /// worker must stop touching it.
    #[error("lease lost on job {0}")]
    LeaseLost(i64),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
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

/// The registry's durable half: which component serves which tenant's role, with history.
pub trait PluginStore: Send + Sync {
    fn record_install(&self, tenant: &str, role: &str, digest: &str) -> Result<(), StoreError>;
    fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError>;
    /// Makes `digest` (which must be installed for the role) the active one.
    fn activate(&self, tenant: &str, role: &str, digest: &str) -> Result<Activation, StoreError>;
    /// Retires the active component and returns the one now active again.
    fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError>;
    /// What would become active on a rollback, without doing it.
    fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError>;
    fn active(&self) -> Result<Vec<Activation>, StoreError>;
    /// Changes whenever any binding changes, also from another process: a cheap poll.
    fn generation(&self) -> Result<i64, StoreError>;
}
