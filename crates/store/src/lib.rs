//! Ferry's durable state behind one async interface, split by job: [`Inbox`] (deduplicated
//! inbound events), [`Jobs`] (fenced claims, checkpoints, intents, holds, dead letters),
//! [`Links`] (cross-references with a state), [`Audit`], [`SyncState`] (cursors and content
//! hashes), [`Activations`] (the plugin registry's durable half), [`Tokens`] (the admin
//! API's hashed bearer tokens), [`Nodes`] (the nodes sharing the store, with heartbeats) and
//! [`Schedules`] (one run per schedule slot across nodes); [`Store`] is all of them.
//!
//! May depend on: serde, serde_json, thiserror, async-trait, tokio (to run blocking drivers off
//! the async threads), rusqlite, tokio-postgres and deadpool-postgres, chrono, rand, hex. Never on wasmtime, axum, the domain's
//! role traits or the `ferry` host: the store keeps JSON checkpoints, it does not read them.
//!
//! Backends: [`SqliteStore`] (one file, WAL; the embedded default), [`PgStore`] (PostgreSQL,
//! for several nodes on one database) and [`MemoryStore`] (the same semantics in memory, for
//! flow unit tests); [`open`] opens the one a [`Location`] names. Durable backends share one
//! migration rule ([`Migrated`]). A new backend implements the traits and adds one line to
//! `tests/conformance/main.rs`, which runs every behaviour against every backend.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry_store::StoreError> {
//! use std::sync::Arc;
//! use ferry_store::{Jobs, NewJob, SqliteStore, Store, clock_ms};
//!
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::open("ferry.db".as_ref()).await?);
//! let job = NewJob { tenant: "acme", kind: "quote-to-order", key: "Q1", checkpoint: serde_json::json!({}) };
//! store.enqueue(job, clock_ms()).await?;
//! let claims = store.claim("node-a-0", 1, 15_000, clock_ms()).await?;
//! # Ok(()) }
//! ```

mod buckets;
mod controls;
mod memory;
mod nodes;
mod open;
mod ordering;
mod postgres;
mod schema;
mod shadows;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;
mod types;

pub use buckets::{BucketShape, Buckets};
pub use controls::{Controls, Pause};
pub use memory::MemoryStore;
pub use nodes::{NewNode, NodeClaims, NodeInfo};
pub use open::{Location, Opened, open};
pub use ordering::Ordered;
pub use postgres::PgStore;
pub use schema::Migrated;
pub use shadows::{Shadow, ShadowRecord, Shadows};
pub use sqlite::SqliteStore;
pub use traits::{
    Activations, Audit, Health, Inbox, Jobs, Links, Nodes, Schedules, Store, SyncState, Tokens,
};
pub use types::{
    Activation, ApiToken, AuditEntry, Claim, DeadLetter, Edit, InboxEvent, Ingested, Install, Job,
    JobCount, JobState, Link, LinkRef, NewEvent, NewJob, NewToken, Outcome, RESOLVED_BY_HAND,
    RESOLVED_BY_LATER_RUN, Release, clock_ms,
};

/// Why a store operation failed, the same for every backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (locked past its wait, disk full, connection lost...): the driver's
    /// message. Usually worth a retry later.
    #[error("database: {0}")]
    Backend(String),
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
    /// The database was migrated by a newer binary: this one refuses to touch it.
    #[error(
        "the {backend} database's schema is at version {found}, newer than this binary knows \
         (version {known}): run a ferry at least as new as the one that migrated it"
    )]
    SchemaTooNew {
        backend: &'static str,
        found: i64,
        known: i64,
    },
}
