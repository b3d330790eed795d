//! `Nodes` and `Schedules` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::StoreError;
use crate::nodes::{NewNode, NodeClaims, NodeInfo, by_node};
use crate::traits::{Nodes, Schedules};
use crate::types::{JobState, now};

#[async_trait]
impl Nodes for MemoryStore {
    async fn register_node(&self, node: NewNode<'_>, now_ms: i64) -> Result<(), StoreError> {
        self.with(|s| {
            s.nodes.insert(
                node.id.to_owned(),
                NodeInfo {
                    id: node.id.to_owned(),
                    address: node.address.to_owned(),
                    version: node.version.to_owned(),
                    started_at: now(),
                    heartbeat_ms: now_ms,
                },
            );
            Ok(())
        })
    }

    async fn heartbeat_node(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.with(|s| {
            Ok(s.nodes
                .get_mut(id)
                .map(|n| n.heartbeat_ms = now_ms)
                .is_some())
        })
    }

    async fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        self.with(|s| Ok(s.nodes.values().cloned().collect()))
    }

    async fn forget_nodes(&self, silent_since_ms: i64) -> Result<usize, StoreError> {
        self.with(|s| {
            let before = s.nodes.len();
            s.nodes.retain(|_, n| n.heartbeat_ms >= silent_since_ms);
            Ok(before - s.nodes.len())
        })
    }

    async fn node_claims(&self) -> Result<Vec<NodeClaims>, StoreError> {
        self.with(|s| {
            let rows = s.jobs.values().filter_map(|r| {
                let worker = r.claimed_by.clone()?;
                (r.job.state == JobState::Running).then(|| (worker, 1, r.lease_until.unwrap_or(0)))
            });
            Ok(by_node(rows.collect::<Vec<_>>()))
        })
    }
}

#[async_trait]
impl Schedules for MemoryStore {
    async fn take_slot(
        &self,
        tenant: &str,
        schedule: &str,
        slot: i64,
        _node: &str,
    ) -> Result<bool, StoreError> {
        self.with(|s| {
            let last = s
                .slots
                .entry((tenant.to_owned(), schedule.to_owned()))
                .or_insert(i64::MIN);
            if *last >= slot {
                return Ok(false);
            }
            *last = slot;
            Ok(true)
        })
    }
}

/// One process: the caller's local bucket is the limit.
#[async_trait]
impl crate::buckets::Buckets for MemoryStore {
    async fn take_tokens(
        &self,
        _key: &str,
        _shape: crate::buckets::BucketShape,
        _want: u32,
    ) -> Result<Option<u32>, StoreError> {
        Ok(None)
    }
}
