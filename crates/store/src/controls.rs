//! What an operator controls beside the jobs themselves: flows paused per tenant (workers
//! claim none of their jobs meanwhile; intake still stores and queues them, so nothing is
//! lost) and the audit trail's retention.

use async_trait::async_trait;
use serde::Serialize;

use crate::StoreError;

/// One tenant's flow (job kind) held back by an operator.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Pause {
    pub tenant: String,
    /// The job kind (`quote-to-order`, `order-status`, `catalog-sync`).
    pub flow: String,
    pub paused_at: String,
    /// Who paused it (a token id), if known.
    pub paused_by: Option<String>,
}

#[async_trait]
pub trait Controls: Send + Sync {
    /// Pauses the tenant's flow: from now on `Jobs::claim` takes none of its jobs (queued
    /// ones wait, a running one finishes its attempt). Pausing a paused flow keeps the first
    /// pause (its time and who). Durable: every node and a restart see it.
    async fn pause_flow(
        &self,
        tenant: &str,
        flow: &str,
        by: Option<&str>,
    ) -> Result<Pause, StoreError>;

    /// Lets the flow's jobs be claimed again; false when it was not paused.
    async fn resume_flow(&self, tenant: &str, flow: &str) -> Result<bool, StoreError>;

    /// The paused flows (of one tenant, or all), by tenant and flow.
    async fn pauses(&self, tenant: Option<&str>) -> Result<Vec<Pause>, StoreError>;

    /// Deletes the tenant's audit entries written before `before` (RFC 3339 as rows carry
    /// it); returns how many.
    async fn prune_audit(&self, tenant: &str, before: &str) -> Result<usize, StoreError>;
}
