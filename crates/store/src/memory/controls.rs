//! `Controls` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::StoreError;
use crate::controls::{Controls, Pause};
use crate::types::now;

#[async_trait]
impl Controls for MemoryStore {
    async fn pause_flow(
        &self,
        tenant: &str,
        flow: &str,
        by: Option<&str>,
    ) -> Result<Pause, StoreError> {
        self.with(|s| {
            let pause = s
                .pauses
                .entry((tenant.to_owned(), flow.to_owned()))
                .or_insert_with(|| Pause {
                    tenant: tenant.to_owned(),
                    flow: flow.to_owned(),
                    paused_at: now(),
                    paused_by: by.map(str::to_owned),
                });
            Ok(pause.clone())
        })
    }

    async fn resume_flow(&self, tenant: &str, flow: &str) -> Result<bool, StoreError> {
        self.with(|s| {
            Ok(s.pauses
                .remove(&(tenant.to_owned(), flow.to_owned()))
                .is_some())
        })
    }

    async fn pauses(&self, tenant: Option<&str>) -> Result<Vec<Pause>, StoreError> {
        self.with(|s| {
            Ok(s.pauses
                .values()
                .filter(|p| tenant.is_none_or(|t| p.tenant == t))
                .cloned()
                .collect())
        })
    }

    async fn prune_audit(&self, tenant: &str, before: &str) -> Result<usize, StoreError> {
        self.with(|s| {
            let was = s.audit.len();
            s.audit
                .retain(|row| row.tenant != tenant || row.entry.at.as_str() >= before);
            Ok(was - s.audit.len())
        })
    }
}
