//! `Inbox`, `Links`, `Audit` and `SyncState` on SQLite.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value as Json;

use super::jobs::insert_job;
use super::{Res, SqliteStore, owned};
use crate::StoreError;
use crate::traits::{Audit, Inbox, Links, SyncState};
use crate::types::{AuditEntry, InboxEvent, Ingested, Link, NewEvent, NewJob, now};

const EVENT_COLUMNS: &str = "id, tenant, source, dedup_key, payload, received_at";

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(InboxEvent, String)> {
    Ok((
        InboxEvent {
            id: r.get(0)?,
            tenant: r.get(1)?,
            source: r.get(2)?,
            dedup_key: r.get(3)?,
            payload: Json::Null,
            received_at: r.get(5)?,
        },
        r.get(4)?,
    ))
}

fn parse_event((mut event, payload): (InboxEvent, String)) -> Res<InboxEvent> {
    event.payload = serde_json::from_str(&payload)
        .map_err(|e| StoreError::Corrupt(format!("inbox event {} payload: {e}", event.id)))?;
    Ok(event)
}

const LINK_COLUMNS: &str = "tenant, kind, local_id, remote_id, state, updated_at";

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        tenant: r.get(0)?,
        kind: r.get(1)?,
        local_id: r.get(2)?,
        remote_id: r.get(3)?,
        state: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

/// Writes a link; a None `state` keeps the stored one (also used by `commit_step`).
pub(super) fn upsert_link(
    conn: &Connection,
    tenant: &str,
    kind: &str,
    local: &str,
    remote: &str,
    state: Option<&str>,
) -> Res<()> {
    conn.execute(
        "INSERT INTO xref (tenant, kind, local_id, remote_id, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (tenant, kind, local_id) DO UPDATE SET remote_id = excluded.remote_id,
            state = coalesce(excluded.state, xref.state), updated_at = excluded.updated_at",
        params![tenant, kind, local, remote, state, now()],
    )?;
    Ok(())
}

#[async_trait]
impl Inbox for SqliteStore {
    async fn ingest(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let (tenant, source, dedup_key) =
            (tenant.to_owned(), source.to_owned(), dedup_key.to_owned());
        let payload = payload.to_string();
        let job = job.map(|j| {
            (
                j.tenant.to_owned(),
                j.kind.to_owned(),
                j.key.to_owned(),
                j.checkpoint,
            )
        });
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
            let Some((jt, kind, key, checkpoint)) = job else {
                tx.commit()?;
                return Ok(Ingested::Stored);
            };
            let existing: Option<String> = tx
                .query_row(
                    "SELECT state FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3",
                    params![jt, kind, key],
                    |r| r.get(0),
                )
                .optional()?;
            let outcome = match existing.as_deref() {
                None => {
                    let job = NewJob { tenant: &jt, kind: &kind, key: &key, checkpoint };
                    insert_job(&tx, &job, now_ms)?;
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

    async fn rerun(
        &self,
        event: Option<NewEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let event = event.map(|e| {
            (
                e.source.to_owned(),
                e.dedup_key.to_owned(),
                e.payload.to_string(),
            )
        });
        let (tenant, kind, key, checkpoint) = owned(&job);
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some((source, dedup_key, payload)) = event {
                let inserted = tx.execute(
                    "INSERT OR IGNORE INTO inbox (tenant, source, dedup_key, payload, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![tenant, source, dedup_key, payload, now()],
                )?;
                if inserted == 0 {
                    tx.commit()?;
                    return Ok(Ingested::Duplicate);
                }
            }
            // Finished: queue again from the new checkpoint. Running: move run_at past the
            // claim's, which `finish` reads as "run once more". Queued: as it is.
            tx.execute(
                "INSERT INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'queued', 'received', ?4, 0, ?5, ?5, ?6, ?6)
                 ON CONFLICT (tenant, kind, key) DO UPDATE SET
                    state = CASE WHEN state IN ('done', 'held', 'dead') THEN 'queued' ELSE state END,
                    step = CASE WHEN state IN ('done', 'held', 'dead') THEN 'received' ELSE step END,
                    checkpoint = CASE WHEN state = 'queued' THEN checkpoint ELSE excluded.checkpoint END,
                    attempts = CASE WHEN state IN ('done', 'held', 'dead') THEN 0 ELSE attempts END,
                    hold_reason = CASE WHEN state IN ('done', 'held', 'dead') THEN NULL ELSE hold_reason END,
                    resolved_at = CASE WHEN state IN ('done', 'held', 'dead') THEN NULL ELSE resolved_at END,
                    run_at = CASE WHEN state IN ('done', 'held', 'dead') THEN excluded.run_at
                                  WHEN state = 'running' THEN max(run_at + 1, excluded.run_at)
                                  ELSE run_at END,
                    scheduled_at = CASE WHEN state IN ('done', 'held', 'dead') THEN excluded.scheduled_at ELSE scheduled_at END,
                    updated_at = excluded.updated_at",
                params![tenant, kind, key, checkpoint, now_ms, now()],
            )?;
            tx.commit()?;
            Ok(Ingested::Queued)
        })
        .await
    }

    async fn replace_queued(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        let (tenant, kind, key, checkpoint) = owned(&job);
        self.run(move |conn| {
            let changed = conn.execute(
                "UPDATE jobs SET step = 'received', checkpoint = ?4, attempts = 0, run_at = ?5, scheduled_at = ?5, updated_at = ?6
                 WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND state = 'queued'",
                params![tenant, kind, key, checkpoint, now_ms, now()],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn event(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
    ) -> Result<Option<InboxEvent>, StoreError> {
        let (tenant, source, dedup_key) =
            (tenant.to_owned(), source.to_owned(), dedup_key.to_owned());
        self.run(move |conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {EVENT_COLUMNS} FROM inbox WHERE tenant = ?1 AND source = ?2 AND dedup_key = ?3"),
                    params![tenant, source, dedup_key],
                    event_row,
                )
                .optional()?;
            row.map(parse_event).transpose()
        })
        .await
    }

    async fn events(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<InboxEvent>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM inbox WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![tenant, limit], event_row)?;
            rows.map(|r| parse_event(r?)).collect()
        })
        .await
    }
}

#[async_trait]
impl Links for SqliteStore {
    async fn link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        let (tenant, kind, local_id) = (tenant.to_owned(), kind.to_owned(), local_id.to_owned());
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {LINK_COLUMNS} FROM xref WHERE tenant = ?1 AND kind = ?2 AND local_id = ?3"),
                    params![tenant, kind, local_id],
                    link_row,
                )
                .optional()?)
        })
        .await
    }

    async fn put_link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        remote_id: &str,
        state: Option<&str>,
    ) -> Result<(), StoreError> {
        let (tenant, kind, local_id) = (tenant.to_owned(), kind.to_owned(), local_id.to_owned());
        let (remote_id, state) = (remote_id.to_owned(), state.map(str::to_owned));
        self.run(move |conn| {
            upsert_link(
                conn,
                &tenant,
                &kind,
                &local_id,
                &remote_id,
                state.as_deref(),
            )
        })
        .await
    }

    async fn links_by_remote(
        &self,
        tenant: &str,
        kind: &str,
        remote_id: &str,
    ) -> Result<Vec<Link>, StoreError> {
        let (tenant, kind, remote_id) = (tenant.to_owned(), kind.to_owned(), remote_id.to_owned());
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {LINK_COLUMNS} FROM xref WHERE tenant = ?1 AND kind = ?2 AND remote_id = ?3 ORDER BY local_id"
            ))?;
            let rows = stmt.query_map(params![tenant, kind, remote_id], link_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn set_link_state(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        state: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, kind, local_id) = (tenant.to_owned(), kind.to_owned(), local_id.to_owned());
        let state = state.to_owned();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE xref SET state = ?1, updated_at = ?2 WHERE tenant = ?3 AND kind = ?4 AND local_id = ?5",
                params![state, now(), tenant, kind, local_id],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn open_links(
        &self,
        tenant: &str,
        kind: &str,
        closed: &[String],
    ) -> Result<Vec<Link>, StoreError> {
        let (tenant, kind) = (tenant.to_owned(), kind.to_owned());
        let closed = closed.to_vec();
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {LINK_COLUMNS} FROM xref WHERE tenant = ?1 AND kind = ?2 AND state IS NOT NULL
                 ORDER BY updated_at, local_id"
            ))?;
            let rows = stmt.query_map(params![tenant, kind], link_row)?;
            let all: Vec<Link> = rows.collect::<Result<_, _>>()?;
            // Filtered here: the list of final states is short and a bound list varies in length.
            Ok(all
                .into_iter()
                .filter(|l| l.state.as_ref().is_some_and(|s| !closed.contains(s)))
                .collect())
        })
        .await
    }
}

#[async_trait]
impl Audit for SqliteStore {
    async fn audit(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        step: &str,
        message: &str,
        data: &Json,
    ) -> Result<(), StoreError> {
        let (tenant, kind, key) = (tenant.to_owned(), kind.to_owned(), key.to_owned());
        let (step, message, data) = (step.to_owned(), message.to_owned(), data.to_string());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO audit (tenant, kind, key, job_id, at, step, message, data)
                 VALUES (?1, ?2, ?3, (SELECT id FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3), ?4, ?5, ?6, ?7)",
                params![tenant, kind, key, now(), step, message, data],
            )?;
            Ok(())
        })
        .await
    }

    async fn trail(&self, tenant: &str, key: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let (tenant, key) = (tenant.to_owned(), key.to_owned());
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT at, coalesce(job_id, 0), step, message, data FROM audit WHERE tenant = ?1 AND key = ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![tenant, key], |r| {
                let data: String = r.get(4)?;
                Ok(AuditEntry {
                    at: r.get(0)?,
                    job_id: r.get(1)?,
                    step: r.get(2)?,
                    message: r.get(3)?,
                    data: serde_json::from_str(&data).unwrap_or(Json::Null),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[async_trait]
impl SyncState for SqliteStore {
    async fn cursor(&self, tenant: &str, stream: &str) -> Result<Option<String>, StoreError> {
        let (tenant, stream) = (tenant.to_owned(), stream.to_owned());
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT cursor FROM sync_cursors WHERE tenant = ?1 AND stream = ?2",
                    params![tenant, stream],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn set_cursor(&self, tenant: &str, stream: &str, cursor: &str) -> Result<(), StoreError> {
        let (tenant, stream, cursor) = (tenant.to_owned(), stream.to_owned(), cursor.to_owned());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO sync_cursors (tenant, stream, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant, stream) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                params![tenant, stream, cursor, now()],
            )?;
            Ok(())
        })
        .await
    }

    async fn replace_cursor(
        &self,
        tenant: &str,
        stream: &str,
        expected: Option<&str>,
        cursor: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, stream, cursor) = (tenant.to_owned(), stream.to_owned(), cursor.to_owned());
        let expected = expected.map(str::to_owned);
        self.run(move |conn| {
            let changed = match expected {
                None => conn.execute(
                    "INSERT OR IGNORE INTO sync_cursors (tenant, stream, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)",
                    params![tenant, stream, cursor, now()],
                )?,
                Some(expected) => conn.execute(
                    "UPDATE sync_cursors SET cursor = ?3, updated_at = ?4
                     WHERE tenant = ?1 AND stream = ?2 AND cursor = ?5",
                    params![tenant, stream, cursor, now(), expected],
                )?,
            };
            Ok(changed == 1)
        })
        .await
    }

    async fn content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let (tenant, entity_kind, key) =
            (tenant.to_owned(), entity_kind.to_owned(), key.to_owned());
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT hash FROM sync_hashes WHERE tenant = ?1 AND entity_kind = ?2 AND key = ?3",
                    params![tenant, entity_kind, key],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn set_content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        let (tenant, entity_kind, key) =
            (tenant.to_owned(), entity_kind.to_owned(), key.to_owned());
        let hash = hash.to_owned();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO sync_hashes (tenant, entity_kind, key, hash, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, entity_kind, key) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
                params![tenant, entity_kind, key, hash, now()],
            )?;
            Ok(())
        })
        .await
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
        let (tenant, entity_kind, keys) =
            (tenant.to_owned(), entity_kind.to_owned(), keys.to_vec());
        self.run(move |conn| {
            // One snapshot, one prepared statement stepped per key (no IN list, so no limit
            // on bound variables).
            let tx = conn.transaction()?;
            let mut found = HashMap::with_capacity(keys.len());
            {
                let mut select = tx.prepare_cached(
                    "SELECT hash FROM sync_hashes WHERE tenant = ?1 AND entity_kind = ?2 AND key = ?3",
                )?;
                for key in keys {
                    let hash: Option<String> = select
                        .query_row(params![tenant, entity_kind, key], |r| r.get(0))
                        .optional()?;
                    if let Some(hash) = hash {
                        found.insert(key, hash);
                    }
                }
            }
            tx.commit()?;
            Ok(found)
        })
        .await
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
        let (tenant, entity_kind, entries) =
            (tenant.to_owned(), entity_kind.to_owned(), entries.to_vec());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO sync_hashes (tenant, entity_kind, key, hash, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (tenant, entity_kind, key) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
                )?;
                let at = now();
                for (key, hash) in &entries {
                    upsert.execute(params![tenant, entity_kind, key, hash, at])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
