//! Per-entity ordering keys: a job may carry one (`customer:<CUNO>`), and among one tenant's
//! jobs with the same key they run one at a time, in the order they were queued.
//!
//! The rule `Jobs::claim` applies on every backend: a job with an ordering key is not
//! claimable while another job of its tenant with the same key is *running* (whichever was
//! queued first), or an *earlier-queued* one is still *queued* (due, backing off before a
//! retry, or waiting). A job without a key is never held back, and keys never block across
//! tenants.
//!
//! Held and dead jobs do not block later ones of their key: they wait for a person, maybe for
//! days, and holding every later change of the entity behind them would freeze its sync until
//! then. What the key promises is that no two updates of one entity run at once and none
//! overtakes an earlier one still to run. A held job released (or a dead one replayed) is
//! queued again with its first place: it runs before later ones still queued, and after the
//! one that is running.
//!
//! PostgreSQL: claims still take rows with `FOR UPDATE SKIP LOCKED`; a claim of a keyed job
//! also takes a transaction advisory lock on (tenant, key) and looks again, so two nodes
//! claiming at once can't each take a job of the same key. SQLite's claims are serialized
//! by its one writer; the memory store's by its lock.

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::StoreError;
use crate::types::{Ingested, NewJob};

#[async_trait]
pub trait Ordered: Send + Sync {
    /// `Inbox::ingest` of an event that asks for `job` with `ordering_key`: records the event
    /// (deduplicated by `(tenant, source, dedup_key)`) and queues the job unless one exists
    /// for its (tenant, kind, key), all in one transaction. A job that exists keeps the
    /// ordering key it was queued with.
    #[allow(clippy::too_many_arguments)]
    async fn ingest_ordered(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: NewJob<'_>,
        ordering_key: &str,
        now_ms: i64,
    ) -> Result<Ingested, StoreError>;

    /// The ordering key a job was queued with, if any (for listings and tests).
    async fn ordering_key(&self, job_id: i64) -> Result<Option<String>, StoreError>;
}

/// The claim condition in SQL (SQLite and PostgreSQL alike) for the table alias `jobs`.
pub(crate) const CLAIMABLE_IN_ORDER: &str = "(jobs.ordering_key IS NULL OR NOT EXISTS (
        SELECT 1 FROM jobs e WHERE e.tenant = jobs.tenant AND e.ordering_key = jobs.ordering_key
          AND e.id <> jobs.id AND (e.state = 'running' OR (e.state = 'queued' AND e.id < jobs.id))))";
