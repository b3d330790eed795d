//! `Shadows` on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::StoreError;
use crate::shadows::{Shadow, ShadowRecord, Shadows};
use crate::types::now;

const COLUMNS: &str =
    "id, tenant, role, digest, live_digest, started_at, ended_at, outcome FROM plugin_shadows";

fn shadow(r: &rusqlite::Row<'_>) -> rusqlite::Result<Shadow> {
    Ok(Shadow {
        id: r.get(0)?,
        tenant: r.get(1)?,
        role: r.get(2)?,
        digest: r.get(3)?,
        live_digest: r.get(4)?,
        started_at: r.get(5)?,
        ended_at: r.get(6)?,
        outcome: r.get(7)?,
    })
}

fn json(text: String) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("shadow record: {e}")))
}

#[async_trait]
impl Shadows for SqliteStore {
    async fn start_shadow(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
        live_digest: &str,
    ) -> Result<Shadow, StoreError> {
        let (tenant, role) = (tenant.to_owned(), role.to_owned());
        let (digest, live) = (digest.to_owned(), live_digest.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let at = now();
            tx.execute(
                "UPDATE plugin_shadows SET ended_at = ?3, outcome = 'replaced'
                 WHERE tenant = ?1 AND role = ?2 AND ended_at IS NULL",
                params![tenant, role, at],
            )?;
            tx.execute(
                "INSERT INTO plugin_shadows (tenant, role, digest, live_digest, started_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![tenant, role, digest, live, at],
            )?;
            let id = tx.last_insert_rowid();
            let s = tx.query_row(&format!("SELECT {COLUMNS} WHERE id = ?1"), [id], shadow)?;
            tx.commit()?;
            Ok(s)
        })
        .await
    }

    async fn end_shadow(
        &self,
        tenant: &str,
        role: &str,
        outcome: &str,
    ) -> Result<Option<Shadow>, StoreError> {
        let (tenant, role, outcome) = (tenant.to_owned(), role.to_owned(), outcome.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let live = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} WHERE tenant = ?1 AND role = ?2 AND ended_at IS NULL"
                    ),
                    params![tenant, role],
                    shadow,
                )
                .optional()?;
            let Some(mut s) = live else {
                return Ok(None);
            };
            let at = now();
            tx.execute(
                "UPDATE plugin_shadows SET ended_at = ?2, outcome = ?3 WHERE id = ?1",
                params![s.id, at, outcome],
            )?;
            tx.commit()?;
            s.ended_at = Some(at);
            s.outcome = Some(outcome);
            Ok(Some(s))
        })
        .await
    }

    async fn shadows(&self, tenant: Option<&str>) -> Result<Vec<Shadow>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id DESC"
            ))?;
            let rows = stmt.query_map(params![tenant], shadow)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn record_shadow(&self, record: &ShadowRecord) -> Result<(), StoreError> {
        let r = record.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO plugin_shadow_records
                 (shadow_id, kind, key, live, shadow, agree, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    r.shadow_id,
                    r.kind,
                    r.key,
                    r.live.to_string(),
                    r.shadow.to_string(),
                    r.agree,
                    r.recorded_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn shadow_records(&self, shadow_id: i64) -> Result<Vec<ShadowRecord>, StoreError> {
        let rows: Vec<(String, String, String, String, bool, String)> = self
            .run(move |conn| {
                let mut stmt = conn.prepare(
                    "SELECT kind, key, live, shadow, agree, recorded_at FROM plugin_shadow_records
                     WHERE shadow_id = ?1 ORDER BY key, kind",
                )?;
                let rows = stmt.query_map([shadow_id], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        rows.into_iter()
            .map(|(kind, key, live, shadow, agree, recorded_at)| {
                Ok(ShadowRecord {
                    shadow_id,
                    kind,
                    key,
                    live: json(live)?,
                    shadow: json(shadow)?,
                    agree,
                    recorded_at,
                })
            })
            .collect()
    }
}
