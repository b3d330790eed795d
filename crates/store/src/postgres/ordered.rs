//! `Ordered` on PostgreSQL: the job row carries its `ordering_key`. `claim` (in `jobs.rs`)
//! selects with the ordering rule, then for each keyed job takes an advisory lock on
//! (tenant, key) and looks again ([`still_in_order`]): another node's claim committed since
//! this claim's snapshot is seen, one claiming now holds the lock and this one passes.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use serde_json::Value as Json;

use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::ordering::Ordered;
use crate::types::{Ingested, NewJob, now};

/// The advisory locks' class (the two-key form, apart from the single-key migration lock).
const ORDERING_LOCK_CLASS: i32 = 0x4f52_4452;

/// Whether the claim may take job `id` of `ordering_key` now: false while another claim of
/// the key is being made, or (seen afresh, after this transaction took the key's lock)
/// another job of the key runs or an earlier one is queued. The lock is held to the commit.
pub(super) async fn still_in_order(
    c: &impl GenericClient,
    id: i64,
    tenant: &str,
    ordering_key: &str,
) -> Res<bool> {
    let locked: bool = c
        .query_one(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2::text || chr(31) || $3::text))",
            &[&ORDERING_LOCK_CLASS, &tenant, &ordering_key],
        )
        .await?
        .try_get(0)?;
    if !locked {
        return Ok(false);
    }
    let blocked: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM jobs e WHERE e.tenant = $1 AND e.ordering_key = $2
                AND e.id <> $3 AND (e.state = 'running' OR (e.state = 'queued' AND e.id < $3)))",
            &[&tenant, &ordering_key, &id],
        )
        .await?
        .try_get(0)?;
    Ok(!blocked)
}

impl PgStore {
    #[allow(clippy::too_many_arguments)]
    async fn ingest_in_order(
        &self,
        (tenant, source, dedup_key): (&str, &str, &str),
        payload: &Json,
        job: NewJob<'_>,
        ordering_key: &str,
        now_ms: i64,
    ) -> Res<Ingested> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let recorded = tx
            .execute(
                "INSERT INTO inbox (tenant, source, dedup_key, payload, received_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, source, dedup_key) DO NOTHING",
                &[&tenant, &source, &dedup_key, &payload.to_string(), &now()],
            )
            .await?;
        if recorded == 0 {
            tx.commit().await?;
            return Ok(Ingested::Duplicate);
        }
        let inserted = tx
            .execute(
                "INSERT INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at, ordering_key)
                 VALUES ($1, $2, $3, 'queued', 'received', $4, 0, $5, $5, $6, $6, $7)
                 ON CONFLICT (tenant, kind, key) DO NOTHING",
                &[&job.tenant, &job.kind, &job.key, &job.checkpoint.to_string(), &now_ms, &now(), &ordering_key],
            )
            .await?;
        let outcome = if inserted > 0 {
            Ingested::Queued
        } else {
            let state: Option<String> = tx
                .query_opt(
                    "SELECT state FROM jobs WHERE tenant = $1 AND kind = $2 AND key = $3",
                    &[&job.tenant, &job.kind, &job.key],
                )
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            match state.as_deref() {
                Some("queued") => Ingested::Queued,
                _ => Ingested::AlreadyHandled,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

#[async_trait]
impl Ordered for PgStore {
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
        self.ingest_in_order(
            (tenant, source, dedup_key),
            payload,
            job,
            ordering_key,
            now_ms,
        )
        .await
        .map_err(Fail::into_store)
    }

    async fn ordering_key(&self, job_id: i64) -> Result<Option<String>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt("SELECT ordering_key FROM jobs WHERE id = $1", &[&job_id])
                .await?;
            Ok(match row {
                Some(r) => r.try_get::<_, Option<String>>(0)?,
                None => None,
            })
        }
        .await
        .map_err(Fail::into_store)
    }
}
