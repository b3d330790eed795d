//! `Nodes` and `Schedules` on PostgreSQL: one row per node, one per (tenant, schedule) holding
//! the last slot taken. Taking a slot is one upsert: two nodes taking the same slot at once
//! meet on the row's lock, and the second finds the slot taken when it gets the row. Rate
//! buckets shared by the nodes: one row per key, refilled on the database's clock.

use async_trait::async_trait;

use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::buckets::{BucketShape, Buckets};
use crate::nodes::{NewNode, NodeClaims, NodeInfo, by_node};
use crate::traits::{Nodes, Schedules};
use crate::types::now;

impl PgStore {
    async fn register(&self, node: NewNode<'_>, now_ms: i64) -> Res<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO nodes (id, address, version, started_at, heartbeat_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                     version = excluded.version, started_at = excluded.started_at,
                     heartbeat_ms = excluded.heartbeat_ms",
                &[&node.id, &node.address, &node.version, &now(), &now_ms],
            )
            .await?;
        Ok(())
    }

    async fn heartbeat(&self, id: &str, now_ms: i64) -> Res<bool> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE nodes SET heartbeat_ms = $2 WHERE id = $1",
                &[&id, &now_ms],
            )
            .await?;
        Ok(n > 0)
    }

    async fn all_nodes(&self) -> Res<Vec<NodeInfo>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, address, version, started_at, heartbeat_ms FROM nodes ORDER BY id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NodeInfo {
                    id: r.try_get(0)?,
                    address: r.try_get(1)?,
                    version: r.try_get(2)?,
                    started_at: r.try_get(3)?,
                    heartbeat_ms: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn forget(&self, silent_since_ms: i64) -> Res<usize> {
        let n = self
            .client()
            .await?
            .execute(
                "DELETE FROM nodes WHERE heartbeat_ms < $1",
                &[&silent_since_ms],
            )
            .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    async fn claims_by_node(&self) -> Res<Vec<NodeClaims>> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT claimed_by, COUNT(*), MIN(COALESCE(lease_until, 0)) FROM jobs
                 WHERE state = 'running' AND claimed_by IS NOT NULL GROUP BY claimed_by",
                &[],
            )
            .await?;
        let rows = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Res<Vec<(String, i64, i64)>>>()?;
        Ok(by_node(rows))
    }

    async fn take(&self, tenant: &str, schedule: &str, slot: i64, node: &str) -> Res<bool> {
        // Inserted, or moved forward: one row. This slot or a later one already there: none.
        let n = self
            .client()
            .await?
            .execute(
                "INSERT INTO schedule_slots (tenant, schedule, slot, node, taken_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, schedule) DO UPDATE SET slot = excluded.slot,
                     node = excluded.node, taken_at = excluded.taken_at
                 WHERE schedule_slots.slot < excluded.slot",
                &[&tenant, &schedule, &slot, &node, &now()],
            )
            .await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl Nodes for PgStore {
    async fn register_node(&self, node: NewNode<'_>, now_ms: i64) -> Result<(), StoreError> {
        self.register(node, now_ms).await.map_err(Fail::into_store)
    }

    async fn heartbeat_node(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.heartbeat(id, now_ms).await.map_err(Fail::into_store)
    }

    async fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        self.all_nodes().await.map_err(Fail::into_store)
    }

    async fn forget_nodes(&self, silent_since_ms: i64) -> Result<usize, StoreError> {
        self.forget(silent_since_ms).await.map_err(Fail::into_store)
    }

    async fn node_claims(&self) -> Result<Vec<NodeClaims>, StoreError> {
        self.claims_by_node().await.map_err(Fail::into_store)
    }
}

#[async_trait]
impl Schedules for PgStore {
    async fn take_slot(
        &self,
        tenant: &str,
        schedule: &str,
        slot: i64,
        node: &str,
    ) -> Result<bool, StoreError> {
        self.take(tenant, schedule, slot, node)
            .await
            .map_err(Fail::into_store)
    }
}

impl PgStore {
    async fn take_from_bucket(&self, key: &str, shape: BucketShape, want: u32) -> Res<u32> {
        let client = self.client().await?;
        let (rate, burst, want) = (shape.rate_per_sec, shape.burst, f64::from(want));
        // One statement: the row's lock orders the nodes, the refill is computed on the
        // database's clock from the row's last update, and the bucket never holds more than
        // `burst` (so an idle while does not save up a flood).
        let take = "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms),
                 b AS (SELECT rate_buckets.key, now.ms,
                         LEAST($3::float8, tokens + GREATEST(0, now.ms - updated_ms) * $2::float8 / 1000.0) AS avail
                       FROM rate_buckets, now WHERE rate_buckets.key = $1
                       FOR UPDATE OF rate_buckets)
             UPDATE rate_buckets r
                SET tokens = b.avail - LEAST($4::float8, floor(b.avail)), updated_ms = b.ms
               FROM b WHERE r.key = b.key
             RETURNING LEAST($4::float8, floor(b.avail))::bigint";
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [&key, &rate, &burst, &want];
        let mut rows = client.query(take, &params).await?;
        if rows.is_empty() {
            // A new bucket starts full; two nodes creating it at once meet on the key.
            client
                .execute(
                    "INSERT INTO rate_buckets (key, tokens, updated_ms)
                     VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                     ON CONFLICT (key) DO NOTHING",
                    &[&key, &burst],
                )
                .await?;
            rows = client.query(take, &params).await?;
        }
        let got: i64 = match rows.first() {
            Some(r) => r.try_get(0)?,
            None => 0,
        };
        Ok(u32::try_from(got.max(0)).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl Buckets for PgStore {
    async fn take_tokens(
        &self,
        key: &str,
        shape: BucketShape,
        want: u32,
    ) -> Result<Option<u32>, StoreError> {
        self.take_from_bucket(key, shape, want)
            .await
            .map(Some)
            .map_err(Fail::into_store)
    }
}
