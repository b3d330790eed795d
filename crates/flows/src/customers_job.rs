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
use crate::calls::{CALLS_STEP, StepCalls};
use crate::{RetryPolicy, StepError, now_ms, outcome_for};
use ferry_domain::Change;
use ferry_store::{Claim, Ingested, NewJob, Outcome, Store, StoreError};

/// The inbox source of ERP events (as `intake::ERP`).
const SOURCE: &str = crate::intake::ERP;
/// The one step a customer change has.
const STEP: &str = "applied";

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
    // Its one step committed, and the node that ran it died before the job was marked done:
    // applying again would repeat the merge and its trail entry.
    if job.step == STEP {
        return Outcome::Done;
    }
    let attempt = u32::try_from(job.attempts).unwrap_or(u32::MAX);
    let mut calls = StepCalls::new();
    let error = match calls
        .journal()
        .scope(apply(roles, store, &job.tenant, &cp))
        .await
    {
        Ok(message) => {
            match store
                .commit_step(claim, STEP, &job.checkpoint, &message, None)
                .await
            {
                Ok(()) => {
                    calls.log(store, claim, CALLS_STEP, None).await;
                    return Outcome::Done;
                }
                Err(e) => StepError::Store(e),
            }
        }
        Err(e) => e,
    };
    calls.failed(store, claim, &error).await;
    outcome_for(&error, attempt, retry, now_ms())
}

/// Reads the M3 customer and merges it into the linked QuoteWerks customers; the trail's
/// message for the change.
async fn apply(
    roles: &CustomerRoles,
    store: &dyn Store,
    tenant: &str,
    cp: &Checkpoint,
) -> Result<String, StepError> {
    // Read here (not inside the merge) so the trail says which M3 record this job applied.
    let doc = roles.erp.get_customer(&cp.cuno).await?;
    match m3_read(tenant, roles, store, &cp.policy, &doc).await {
        Ok(report) => {
            let what = json!({
                "cuno": cp.cuno, "updated": report.updated_quotewerks,
                "unchanged": report.unchanged, "not_linked": report.not_linked,
                "failed": report.failed, "conflicts": report.conflicts.len(),
                "m3": record(&cp.policy, Side::M3, &doc),
            });
            Ok(format!("M3 customer {} applied: {what}", cp.cuno))
        }
        Err(SyncError::Role(e)) => Err(StepError::from(e)),
        Err(SyncError::Store(e)) => Err(StepError::Store(e)),
    }
}

#[cfg(test)]
#[path = "customers_job_tests.rs"]
mod tests;
