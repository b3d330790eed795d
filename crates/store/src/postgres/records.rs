//! `Inbox`, `Links`, `Audit` and `SyncState` on PostgreSQL.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use serde_json::Value as Json;
use tokio_postgres::Row;

use super::jobs::insert_job;
use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::traits::{Audit, Inbox, Links, SyncState};
use crate::types::{AuditEntry, InboxEvent, Ingested, Link, NewEvent, NewJob, now};

const EVENT_COLUMNS: &str = "id, tenant, source, dedup_key, payload, received_at";

fn event_row(r: &Row) -> Res<InboxEvent> {
    let id: i64 = r.try_get(0)?;
    let payload: String = r.try_get(4)?;
    Ok(InboxEvent {
        id,
        tenant: r.try_get(1)?,
        source: r.try_get(2)?,
        dedup_key: r.try_get(3)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("inbox event {id} payload: {e}")))?,
        received_at: r.try_get(5)?,
    })
}

const LINK_COLUMNS: &str = "tenant, kind, local_id, remote_id, state, updated_at";

fn link_row(r: &Row) -> Res<Link> {
    Ok(Link {
        tenant: r.try_get(0)?,
        kind: r.try_get(1)?,
        local_id: r.try_get(2)?,
        remote_id: r.try_get(3)?,
        state: r.try_get(4)?,
        updated_at: r.try_get(5)?,
    })
}

/// Writes a link; a None `state` keeps the stored one (also used by `commit_step`).
pub(super) async fn upsert_link(
    c: &impl GenericClient,
    tenant: &str,
    kind: &str,
    local: &str,
    remote: &str,
    state: Option<&str>,
) -> Res<()> {
    c.execute(
        "INSERT INTO xref (tenant, kind, local_id, remote_id, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant, kind, local_id) DO UPDATE SET remote_id = excluded.remote_id,
            state = coalesce(excluded.state, xref.state), updated_at = excluded.updated_at",
        &[&tenant, &kind, &local, &remote, &state, &now()],
    )
    .await?;
    Ok(())
}

/// Records an inbound event; false when it was seen before.
async fn record_event(
    c: &impl GenericClient,
    tenant: &str,
    source: &str,
    dedup_key: &str,
    payload: &str,
) -> Res<bool> {
    let inserted = c
        .execute(
            "INSERT INTO inbox (tenant, source, dedup_key, payload, received_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, source, dedup_key) DO NOTHING",
            &[&tenant, &source, &dedup_key, &payload, &now()],
        )
        .await?;
    Ok(inserted > 0)
}

impl PgStore {
    async fn ingest_event(
        &self,
        (tenant, source, dedup_key): (&str, &str, &str),
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Res<Ingested> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if !record_event(&tx, tenant, source, dedup_key, &payload.to_string()).await? {
            tx.commit().await?;
            return Ok(Ingested::Duplicate);
        }
        let Some(job) = job else {
            tx.commit().await?;
            return Ok(Ingested::Stored);
        };
        let outcome = if insert_job(&tx, &job, now_ms).await? > 0 {
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

    async fn rerun_job(
        &self,
        event: Option<NewEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Res<Ingested> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if let Some(e) = event
            && !record_event(
                &tx,
                job.tenant,
                e.source,
                e.dedup_key,
                &e.payload.to_string(),
            )
            .await?
        {
            tx.commit().await?;
            return Ok(Ingested::Duplicate);
        }
        // Finished: queue again from the new checkpoint. Running: move run_at past the
        // claim's, which `finish` reads as "run once more". Queued: as it is.
        tx.execute(
            "INSERT INTO jobs AS j (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
             VALUES ($1, $2, $3, 'queued', 'received', $4, 0, $5, $5, $6, $6)
             ON CONFLICT (tenant, kind, key) DO UPDATE SET
                state = CASE WHEN j.state IN ('done', 'held', 'dead') THEN 'queued' ELSE j.state END,
                step = CASE WHEN j.state IN ('done', 'held', 'dead') THEN 'received' ELSE j.step END,
                checkpoint = CASE WHEN j.state = 'queued' THEN j.checkpoint ELSE excluded.checkpoint END,
                attempts = CASE WHEN j.state IN ('done', 'held', 'dead') THEN 0 ELSE j.attempts END,
                hold_reason = CASE WHEN j.state IN ('done', 'held', 'dead') THEN NULL ELSE j.hold_reason END,
                resolved_at = CASE WHEN j.state IN ('done', 'held', 'dead') THEN NULL ELSE j.resolved_at END,
                run_at = CASE WHEN j.state IN ('done', 'held', 'dead') THEN excluded.run_at
                              WHEN j.state = 'running' THEN greatest(j.run_at + 1, excluded.run_at)
                              ELSE j.run_at END,
                scheduled_at = CASE WHEN j.state IN ('done', 'held', 'dead') THEN excluded.scheduled_at ELSE j.scheduled_at END,
                updated_at = excluded.updated_at",
            &[&job.tenant, &job.kind, &job.key, &job.checkpoint.to_string(), &now_ms, &now()],
        )
        .await?;
        tx.commit().await?;
        Ok(Ingested::Queued)
    }
}

#[async_trait]
impl Inbox for PgStore {
    async fn ingest(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.ingest_event((tenant, source, dedup_key), payload, job, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn rerun(
        &self,
        event: Option<NewEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.rerun_job(event, job, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn replace_queued(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        async {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "UPDATE jobs SET step = 'received', checkpoint = $4, attempts = 0, run_at = $5, scheduled_at = $5, updated_at = $6
                     WHERE tenant = $1 AND kind = $2 AND key = $3 AND state = 'queued'",
                    &[&job.tenant, &job.kind, &job.key, &job.checkpoint.to_string(), &now_ms, &now()],
                )
                .await?;
            Ok::<_, Fail>(changed == 1)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn event(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
    ) -> Result<Option<InboxEvent>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    &format!("SELECT {EVENT_COLUMNS} FROM inbox WHERE tenant = $1 AND source = $2 AND dedup_key = $3"),
                    &[&tenant, &source, &dedup_key],
                )
                .await?;
            row.as_ref().map(event_row).transpose()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn events(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<InboxEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM inbox WHERE $1::text IS NULL OR tenant = $1 ORDER BY id DESC LIMIT $2"
                    ),
                    &[&tenant, &limit],
                )
                .await?;
            rows.iter().map(event_row).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }
}

#[async_trait]
impl Links for PgStore {
    async fn link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    &format!("SELECT {LINK_COLUMNS} FROM xref WHERE tenant = $1 AND kind = $2 AND local_id = $3"),
                    &[&tenant, &kind, &local_id],
                )
                .await?;
            row.as_ref().map(link_row).transpose()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn put_link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        remote_id: &str,
        state: Option<&str>,
    ) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            upsert_link(&client, tenant, kind, local_id, remote_id, state).await
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn links_by_remote(
        &self,
        tenant: &str,
        kind: &str,
        remote_id: &str,
    ) -> Result<Vec<Link>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {LINK_COLUMNS} FROM xref WHERE tenant = $1 AND kind = $2 AND remote_id = $3 ORDER BY local_id COLLATE \"C\""
                    ),
                    &[&tenant, &kind, &remote_id],
                )
                .await?;
            rows.iter().map(link_row).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn set_link_state(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        state: &str,
    ) -> Result<bool, StoreError> {
        async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "UPDATE xref SET state = $1, updated_at = $2 WHERE tenant = $3 AND kind = $4 AND local_id = $5",
                    &[&state, &now(), &tenant, &kind, &local_id],
                )
                .await?;
            Ok(n > 0)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn open_links(
        &self,
        tenant: &str,
        kind: &str,
        closed: &[String],
    ) -> Result<Vec<Link>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {LINK_COLUMNS} FROM xref WHERE tenant = $1 AND kind = $2 AND state IS NOT NULL
                         AND NOT (state = ANY($3)) ORDER BY updated_at COLLATE \"C\", local_id COLLATE \"C\""
                    ),
                    &[&tenant, &kind, &closed],
                )
                .await?;
            rows.iter().map(link_row).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }
}

#[async_trait]
impl Audit for PgStore {
    async fn audit(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        step: &str,
        message: &str,
        data: &Json,
    ) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO audit (tenant, kind, key, job_id, at, step, message, data)
                     VALUES ($1, $2, $3, (SELECT id FROM jobs WHERE tenant = $1 AND kind = $2 AND key = $3), $4, $5, $6, $7)",
                    &[&tenant, &kind, &key, &now(), &step, &message, &data.to_string()],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn trail(&self, tenant: &str, key: &str) -> Result<Vec<AuditEntry>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT at, coalesce(job_id, 0), step, message, data FROM audit WHERE tenant = $1 AND key = $2 ORDER BY id",
                    &[&tenant, &key],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let data: String = r.try_get(4)?;
                    Ok(AuditEntry {
                        at: r.try_get(0)?,
                        job_id: r.try_get(1)?,
                        step: r.try_get(2)?,
                        message: r.try_get(3)?,
                        data: serde_json::from_str(&data).unwrap_or(Json::Null),
                    })
                })
                .collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }
}

#[async_trait]
impl SyncState for PgStore {
    async fn cursor(&self, tenant: &str, stream: &str) -> Result<Option<String>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT cursor FROM sync_cursors WHERE tenant = $1 AND stream = $2",
                    &[&tenant, &stream],
                )
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn set_cursor(&self, tenant: &str, stream: &str, cursor: &str) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO sync_cursors (tenant, stream, cursor, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    &[&tenant, &stream, &cursor, &now()],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn replace_cursor(
        &self,
        tenant: &str,
        stream: &str,
        expected: Option<&str>,
        cursor: &str,
    ) -> Result<bool, StoreError> {
        async {
            let client = self.client().await?;
            let changed = match expected {
                None => {
                    client
                        .execute(
                            "INSERT INTO sync_cursors (tenant, stream, cursor, updated_at) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (tenant, stream) DO NOTHING",
                            &[&tenant, &stream, &cursor, &now()],
                        )
                        .await?
                }
                Some(expected) => {
                    client
                        .execute(
                            "UPDATE sync_cursors SET cursor = $3, updated_at = $4
                             WHERE tenant = $1 AND stream = $2 AND cursor = $5",
                            &[&tenant, &stream, &cursor, &now(), &expected],
                        )
                        .await?
                }
            };
            Ok(changed == 1)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT hash FROM sync_hashes WHERE tenant = $1 AND entity_kind = $2 AND key = $3",
                    &[&tenant, &entity_kind, &key],
                )
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn set_content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO sync_hashes (tenant, entity_kind, key, hash, updated_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (tenant, entity_kind, key) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
                    &[&tenant, &entity_kind, &key, &hash, &now()],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn content_hashes(
        &self,
        tenant: &str,
        entity_kind: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT key, hash FROM sync_hashes WHERE tenant = $1 AND entity_kind = $2 AND key = ANY($3)",
                    &[&tenant, &entity_kind, &keys],
                )
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Res<HashMap<_, _>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn set_content_hashes(
        &self,
        tenant: &str,
        entity_kind: &str,
        entries: &[(String, String)],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // One statement (so one transaction). ON CONFLICT may not touch a row twice in one
        // statement: a key given twice is sent once, with its last hash.
        let mut last: HashMap<&str, &str> = HashMap::with_capacity(entries.len());
        for (key, hash) in entries {
            last.insert(key, hash);
        }
        let (keys, hashes): (Vec<&str>, Vec<&str>) = last.into_iter().unzip();
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO sync_hashes (tenant, entity_kind, key, hash, updated_at)
                     SELECT $1, $2, u.key, u.hash, $5 FROM UNNEST($3::text[], $4::text[]) AS u(key, hash)
                     ON CONFLICT (tenant, entity_kind, key) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
                    &[&tenant, &entity_kind, &keys, &hashes, &now()],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }
}
