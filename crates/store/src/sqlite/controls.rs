//! `Controls` on SQLite: one row per paused (tenant, flow); audit pruning by time.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::StoreError;
use crate::controls::{Controls, Pause};
use crate::types::now;

fn pause_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pause> {
    Ok(Pause {
        tenant: r.get(0)?,
        flow: r.get(1)?,
        paused_at: r.get(2)?,
        paused_by: r.get(3)?,
    })
}

#[async_trait]
impl Controls for SqliteStore {
    async fn pause_flow(
        &self,
        tenant: &str,
        flow: &str,
        by: Option<&str>,
    ) -> Result<Pause, StoreError> {
        let (tenant, flow, by) = (tenant.to_owned(), flow.to_owned(), by.map(str::to_owned));
        self.run(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO flow_pauses (tenant, flow, paused_at, paused_by) VALUES (?1, ?2, ?3, ?4)",
                params![tenant, flow, now(), by],
            )?;
            Ok(conn.query_row(
                "SELECT tenant, flow, paused_at, paused_by FROM flow_pauses WHERE tenant = ?1 AND flow = ?2",
                params![tenant, flow],
                pause_row,
            )?)
        })
        .await
    }

    async fn resume_flow(&self, tenant: &str, flow: &str) -> Result<bool, StoreError> {
        let (tenant, flow) = (tenant.to_owned(), flow.to_owned());
        self.run(move |conn| {
            let n = conn.execute(
                "DELETE FROM flow_pauses WHERE tenant = ?1 AND flow = ?2",
                params![tenant, flow],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn pauses(&self, tenant: Option<&str>) -> Result<Vec<Pause>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT tenant, flow, paused_at, paused_by FROM flow_pauses
                 WHERE ?1 IS NULL OR tenant = ?1 ORDER BY tenant, flow",
            )?;
            let rows = stmt
                .query_map(params![tenant], pause_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn prune_audit(&self, tenant: &str, before: &str) -> Result<usize, StoreError> {
        let (tenant, before) = (tenant.to_owned(), before.to_owned());
        self.run(move |conn| {
            Ok(conn.execute(
                "DELETE FROM audit WHERE tenant = ?1 AND at < ?2",
                params![tenant, before],
            )?)
        })
        .await
    }
}
