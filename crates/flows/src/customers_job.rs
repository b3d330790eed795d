//! An M3 customer change (a SyncCustomerPartyMaster BOD) as a durable job of the customer
//! flow (kind `customer-sync`, key: the BOD's inbox key, so a redelivered BOD queues nothing),
//! with the ordering key `customer:<CUNO>`: one customer's BODs are applied one at a time, in
//! the order they arrived, on whichever node claims them, and one that was queued when the
//! process died is applied after the restart. The job reads the customer from M3 and merges it
//! into the linked QuoteWerks contacts with the sync's own code ([`super::m3_read`]).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::merge::record;
use super::{CustomerPolicy, CustomerRoles, KIND, Side, SyncError, m3_read};
use crate::{RetryPolicy, StepError, now_ms, outcome_for};
use ferry_domain::Change;
use ferry_store::{Claim, Ingested, NewJob, Outcome, Store, StoreError};

/// The inbox source of ERP events (as `intake::ERP`).
const SOURCE: &str = crate::intake::ERP;

/// What a customer-change job carries: the customer and the tenant's policy when it arrived.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub cuno: String,
    pub policy: CustomerPolicy,
}

/// The ordering key of one M3 customer's changes.
pub fn ordering_key(cuno: &str) -> String {
    format!("customer:{cuno}")
}

/// Stores the change (deduplicated by `event_key`) and queues its job, in one transaction.
pub async fn queue(
    store: &dyn Store,
    tenant: &str,
    event_key: &str,
    change: &Change,
    policy: &CustomerPolicy,
) -> Result<Ingested, StoreError> {
    let payload = serde_json::to_value(change)
        .map_err(|e| StoreError::Corrupt(format!("change {}: {e}", change.key)))?;
    let checkpoint = serde_json::to_value(Checkpoint {
        cuno: change.key.clone(),
        policy: policy.clone(),
    })
    .map_err(|e| StoreError::Corrupt(format!("customer {} checkpoint: {e}", change.key)))?;
    let job = NewJob {
        tenant,
        kind: KIND,
        key: event_key,
        checkpoint,
    };
    store
        .ingest_ordered(
            tenant,
            SOURCE,
            event_key,
            &payload,
            job,
            &ordering_key(&change.key),
            now_ms(),
        )
        .await
}

/// Applies one queued customer change; the outcome the worker records.
pub async fn run(
    roles: &CustomerRoles,
    store: &dyn Store,
    claim: &Claim,
    retry: &RetryPolicy,
) -> Outcome {
    let job = &claim.job;
    let cp: Checkpoint = match serde_json::from_value(job.checkpoint.clone()) {
        Ok(cp) => cp,
        Err(e) => {
            return Outcome::Dead {
                error: format!("not a customer-change checkpoint: {e}"),
            };
        }
    };
    let attempt = u32::try_from(job.attempts).unwrap_or(u32::MAX);
    // Read here (not inside the merge) so the trail says which M3 record this job applied.
    let doc = match roles.erp.get_customer(&cp.cuno).await {
        Ok(doc) => doc,
        Err(e) => return outcome_for(&StepError::from(e), attempt, retry, now_ms()),
    };
    let error = match m3_read(&job.tenant, roles, store, &cp.policy, &doc).await {
        Ok(report) => {
            let what = json!({
                "cuno": cp.cuno, "updated": report.updated_quotewerks,
                "unchanged": report.unchanged, "not_linked": report.not_linked,
                "failed": report.failed, "conflicts": report.conflicts.len(),
                "m3": record(&cp.policy, Side::M3, &doc),
            });
            let message = format!("M3 customer {} applied: {what}", cp.cuno);
            match store
                .commit_step(claim, "applied", &job.checkpoint, &message, None)
                .await
            {
                Ok(()) => return Outcome::Done,
                Err(e) => StepError::Store(e),
            }
        }
        Err(SyncError::Role(e)) => StepError::from(e),
        Err(SyncError::Store(e)) => StepError::Store(e),
    };
    outcome_for(&error, attempt, retry, now_ms())
}

#[cfg(test)]
#[path = "customers_job_tests.rs"]
mod tests;
