//! `Controls` on PostgreSQL: one row per paused (tenant, flow); audit pruning by time.

use async_trait::async_trait;

use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::controls::{Controls, Pause};
use crate::types::now;

fn pause_row(r: &tokio_postgres::Row) -> Res<Pause> {
    Ok(Pause {
        tenant: r.try_get(0)?,
        flow: r.try_get(1)?,
        paused_at: r.try_get(2)?,
        paused_by: r.try_get(3)?,
    })
}

impl PgStore {
    async fn pause(&self, tenant: &str, flow: &str, by: Option<&str>) -> Res<Pause> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO flow_pauses (tenant, flow, paused_at, paused_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant, flow) DO NOTHING",
                &[&tenant, &flow, &now(), &by],
            )
            .await?;
        let row = client
            .query_one(
                "SELECT tenant, flow, paused_at, paused_by FROM flow_pauses WHERE tenant = $1 AND flow = $2",
                &[&tenant, &flow],
            )
            .await?;
        pause_row(&row)
    }

    async fn all_pauses(&self, tenant: Option<&str>) -> Res<Vec<Pause>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT tenant, flow, paused_at, paused_by FROM flow_pauses
                 WHERE $1::TEXT IS NULL OR tenant = $1 ORDER BY tenant, flow",
                &[&tenant],
            )
            .await?;
        rows.iter().map(pause_row).collect()
    }
}

#[async_trait]
impl Controls for PgStore {
    async fn pause_flow(
        &self,
        tenant: &str,
        flow: &str,
        by: Option<&str>,
    ) -> Result<Pause, StoreError> {
        self.pause(tenant, flow, by).await.map_err(Fail::into_store)
    }

    async fn resume_flow(&self, tenant: &str, flow: &str) -> Result<bool, StoreError> {
        async {
            let n = self
                .client()
                .await?
                .execute(
                    "DELETE FROM flow_pauses WHERE tenant = $1 AND flow = $2",
                    &[&tenant, &flow],
                )
                .await?;
            Ok::<_, Fail>(n > 0)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn pauses(&self, tenant: Option<&str>) -> Result<Vec<Pause>, StoreError> {
        self.all_pauses(tenant).await.map_err(Fail::into_store)
    }

    async fn prune_audit(&self, tenant: &str, before: &str) -> Result<usize, StoreError> {
        async {
            let n = self
                .client()
                .await?
                .execute(
                    "DELETE FROM audit WHERE tenant = $1 AND at < $2",
                    &[&tenant, &before],
                )
                .await?;
            Ok::<_, Fail>(usize::try_from(n).unwrap_or(usize::MAX))
        }
        .await
        .map_err(Fail::into_store)
    }
}
