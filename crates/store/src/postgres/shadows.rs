//! `Shadows` on PostgreSQL (one live shadow per (tenant, role), kept by a transaction).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::shadows::{Shadow, ShadowRecord, Shadows};
use crate::types::now;

const COLUMNS: &str =
    "id, tenant, role, digest, live_digest, started_at, ended_at, outcome FROM plugin_shadows";

fn shadow(r: &Row) -> Res<Shadow> {
    Ok(Shadow {
        id: r.try_get(0)?,
        tenant: r.try_get(1)?,
        role: r.try_get(2)?,
        digest: r.try_get(3)?,
        live_digest: r.try_get(4)?,
        started_at: r.try_get(5)?,
        ended_at: r.try_get(6)?,
        outcome: r.try_get(7)?,
    })
}

fn json(text: String) -> Res<serde_json::Value> {
    serde_json::from_str(&text)
        .map_err(|e| Fail::Store(StoreError::Corrupt(format!("shadow record: {e}"))))
}

#[async_trait]
impl Shadows for PgStore {
    async fn start_shadow(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
        live_digest: &str,
    ) -> Result<Shadow, StoreError> {
        async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let at = now();
            tx.execute(
                "UPDATE plugin_shadows SET ended_at = $3, outcome = 'replaced'
                 WHERE tenant = $1 AND role = $2 AND ended_at IS NULL",
                &[&tenant, &role, &at],
            )
            .await?;
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO plugin_shadows (tenant, role, digest, live_digest, started_at)
                         VALUES ($1, $2, $3, $4, $5) RETURNING {}",
                        COLUMNS.trim_end_matches(" FROM plugin_shadows")
                    ),
                    &[&tenant, &role, &digest, &live_digest, &at],
                )
                .await?;
            let s = shadow(&row)?;
            tx.commit().await?;
            Ok(s)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn end_shadow(
        &self,
        tenant: &str,
        role: &str,
        outcome: &str,
    ) -> Result<Option<Shadow>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    &format!(
                        "UPDATE plugin_shadows SET ended_at = $3, outcome = $4
                         WHERE tenant = $1 AND role = $2 AND ended_at IS NULL RETURNING {}",
                        COLUMNS.trim_end_matches(" FROM plugin_shadows")
                    ),
                    &[&tenant, &role, &now(), &outcome],
                )
                .await?;
            row.as_ref().map(shadow).transpose()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn shadows(&self, tenant: Option<&str>) -> Result<Vec<Shadow>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {COLUMNS} WHERE $1::TEXT IS NULL OR tenant = $1 ORDER BY id DESC"
                    ),
                    &[&tenant],
                )
                .await?;
            rows.iter().map(shadow).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn record_shadow(&self, r: &ShadowRecord) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO plugin_shadow_records
                     (shadow_id, kind, key, live, shadow, agree, recorded_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (shadow_id, kind, key) DO UPDATE SET live = EXCLUDED.live,
                       shadow = EXCLUDED.shadow, agree = EXCLUDED.agree,
                       recorded_at = EXCLUDED.recorded_at",
                    &[
                        &r.shadow_id,
                        &r.kind,
                        &r.key,
                        &r.live.to_string(),
                        &r.shadow.to_string(),
                        &r.agree,
                        &r.recorded_at,
                    ],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn shadow_records(&self, shadow_id: i64) -> Result<Vec<ShadowRecord>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT kind, key, live, shadow, agree, recorded_at FROM plugin_shadow_records
                     WHERE shadow_id = $1 ORDER BY key, kind",
                    &[&shadow_id],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(ShadowRecord {
                        shadow_id,
                        kind: r.try_get(0)?,
                        key: r.try_get(1)?,
                        live: json(r.try_get(2)?)?,
                        shadow: json(r.try_get(3)?)?,
                        agree: r.try_get(4)?,
                        recorded_at: r.try_get(5)?,
                    })
                })
                .collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }
}
