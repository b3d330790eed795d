//! `Nodes` and `Schedules` on SQLite: one row per node, one per (tenant, schedule) holding the
//! last slot taken.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::StoreError;
use crate::nodes::{NewNode, NodeClaims, NodeInfo, by_node};
use crate::traits::{Nodes, Schedules};
use crate::types::now;

#[async_trait]
impl Nodes for SqliteStore {
    async fn register_node(&self, node: NewNode<'_>, now_ms: i64) -> Result<(), StoreError> {
        let (id, address, version) = (
            node.id.to_owned(),
            node.address.to_owned(),
            node.version.to_owned(),
        );
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO nodes (id, address, version, started_at, heartbeat_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                     version = excluded.version, started_at = excluded.started_at,
                     heartbeat_ms = excluded.heartbeat_ms",
                params![id, address, version, now(), now_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn heartbeat_node(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE nodes SET heartbeat_ms = ?2 WHERE id = ?1",
                params![id, now_ms],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, address, version, started_at, heartbeat_ms FROM nodes ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(NodeInfo {
                    id: r.get(0)?,
                    address: r.get(1)?,
                    version: r.get(2)?,
                    started_at: r.get(3)?,
                    heartbeat_ms: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn forget_nodes(&self, silent_since_ms: i64) -> Result<usize, StoreError> {
        self.run(move |conn| {
            Ok(conn.execute(
                "DELETE FROM nodes WHERE heartbeat_ms < ?1",
                params![silent_since_ms],
            )?)
        })
        .await
    }

    async fn node_claims(&self) -> Result<Vec<NodeClaims>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT claimed_by, COUNT(*), MIN(COALESCE(lease_until, 0)) FROM jobs
                 WHERE state = 'running' AND claimed_by IS NOT NULL GROUP BY claimed_by",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(by_node(rows.collect::<Result<Vec<_>, _>>()?))
        })
        .await
    }
}

#[async_trait]
impl Schedules for SqliteStore {
    async fn take_slot(
        &self,
        tenant: &str,
        schedule: &str,
        slot: i64,
        node: &str,
    ) -> Result<bool, StoreError> {
        let (tenant, schedule, node) = (tenant.to_owned(), schedule.to_owned(), node.to_owned());
        self.run(move |conn| {
            // Inserted, or moved forward: one row changed. This slot or a later one already
            // there: none.
            let n = conn.execute(
                "INSERT INTO schedule_slots (tenant, schedule, slot, node, taken_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, schedule) DO UPDATE SET slot = excluded.slot,
                     node = excluded.node, taken_at = excluded.taken_at
                 WHERE schedule_slots.slot < excluded.slot",
                params![tenant, schedule, slot, node, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }
}

/// One file is one node's: the caller's local bucket is the limit.
#[async_trait]
impl crate::buckets::Buckets for SqliteStore {
    async fn take_tokens(
        &self,
        _key: &str,
        _shape: crate::buckets::BucketShape,
        _want: u32,
    ) -> Result<Option<u32>, StoreError> {
        Ok(None)
    }
}
