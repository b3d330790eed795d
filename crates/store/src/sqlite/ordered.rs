//! `Ordered` on SQLite: the job row carries its `ordering_key`; `claim` (in `jobs.rs`) skips a
//! keyed job while another of its key runs or an earlier one is queued.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value as Json;

use super::{SqliteStore, owned};
use crate::StoreError;
use crate::ordering::Ordered;
use crate::types::{Ingested, NewJob, now};

#[async_trait]
impl Ordered for SqliteStore {
    async fn ingest_ordered(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: NewJob<'_>,
        ordering_key: &str,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let (tenant, source, dedup_key) =
            (tenant.to_owned(), source.to_owned(), dedup_key.to_owned());
        let payload = payload.to_string();
        let (jt, kind, key, checkpoint) = owned(&job);
        let ordering_key = ordering_key.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO inbox (tenant, source, dedup_key, payload, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![tenant, source, dedup_key, payload, now()],
            )?;
            if inserted == 0 {
                tx.commit()?;
                return Ok(Ingested::Duplicate);
            }
            let existing: Option<String> = tx
                .query_row(
                    "SELECT state FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3",
                    params![jt, kind, key],
                    |r| r.get(0),
                )
                .optional()?;
            let outcome = match existing.as_deref() {
                None => {
                    tx.execute(
                        "INSERT INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at, ordering_key)
                         VALUES (?1, ?2, ?3, 'queued', 'received', ?4, 0, ?5, ?5, ?6, ?6, ?7)",
                        params![jt, kind, key, checkpoint, now_ms, now(), ordering_key],
                    )?;
                    Ingested::Queued
                }
                Some("queued") => Ingested::Queued,
                Some(_) => Ingested::AlreadyHandled,
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn ordering_key(&self, job_id: i64) -> Result<Option<String>, StoreError> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT ordering_key FROM jobs WHERE id = ?1",
                    params![job_id],
                    |r| r.get::<_, Option<String>>(0),
                )
                .optional()?
                .flatten())
        })
        .await
    }
}
