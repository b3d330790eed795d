//! Order status back to the quote, as a durable job (kind `order-status`, keyed by the ERP
//! order number). An ERP event about an order Ferry made queues it (`api/ion.rs`), and so does
//! the status poller when it sees a status move (off by default). The job reads the status
//! from the ERP, writes it to the quote in the tenant's words when it moved, records it and
//! audits; a failure is retried with the tenant's retry policy like any job's.
//!
//! When the order reaches the tenant's invoiced status (M3: 77), the job also writes the
//! order's latest invoice number and date onto the quote (contract 1.2 on both sides; a plugin
//! built before it is skipped with a log line).
//!
//! The job reads the current state, so one run after the last event is enough: a new event
//! queues a finished job again, and one that arrives while the job runs makes it run once
//! more (`Inbox::rerun`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferry_domain::{Erp, ErrorClass, Quoting, RoleError, RoleFailure};
use serde_json::json;

use super::{RetryPolicy, StepError, Tenant, now_ms, outcome_for, quote_to_order};
use crate::calls::{CALLS_STEP, StepCalls};
use ferry_store::{Claim, Ingested, Link, NewEvent, NewJob, Outcome, Store, StoreError};

pub const KIND: &str = "order-status";

/// The link kind of an order made from a quote: local id = quote id, remote id = the ERP order
/// number, state = the ERP status last pushed to the quote.
pub const ORDER_LINK: &str = "order";

/// What the push-back needs of a tenant.
pub struct StatusPush<'a> {
    pub tenant: &'a str,
    pub erp: &'a dyn Erp,
    pub quoting: &'a dyn Quoting,
    /// The quote status to write for each ERP order status (unlisted: "ERP status N").
    pub status_names: &'a BTreeMap<String, String>,
    /// The ERP status at which the order is invoiced (M3: 77): reaching it (or one past it)
    /// writes the order's latest invoice number and date onto the quote. None: off.
    pub invoiced_status: Option<&'a str>,
    pub retry: &'a RetryPolicy,
}

/// Queues (or queues again) the push-back for `order_number`; with `event`, first stores that
/// event in the inbox, and a duplicate queues nothing.
pub async fn queue(
    store: &dyn Store,
    tenant: &str,
    order_number: &str,
    event: Option<NewEvent<'_>>,
) -> Result<Ingested, StoreError> {
    let job = NewJob {
        tenant,
        kind: KIND,
        key: order_number,
        checkpoint: json!({ "order_number": order_number }),
    };
    store.rerun(event, job, now_ms()).await
}

/// Runs one claimed push-back job.
/// Its plugin calls go to the job's trail.
pub async fn run(push: &StatusPush<'_>, store: &dyn Store, claim: &Claim) -> Outcome {
    let mut calls = StepCalls::new();
    let pushed = calls
        .journal()
        .scope(push_back(push, store, &claim.job.key))
        .await;
    match pushed {
        Ok(_) => {
            calls.log(store, claim, CALLS_STEP, None).await;
            Outcome::Done
        }
        Err(e) => {
            calls.failed(store, claim, &e).await;
            let attempt = u32::try_from(claim.job.attempts).unwrap_or(u32::MAX);
            outcome_for(&e, attempt, push.retry, now_ms())
        }
    }
}

/// Reads the order's status from the ERP and, when it moved, writes it to the quote, records
/// it and audits. Returns whether the quote got a new status. An order Ferry has no record of
/// (it was not made from a quote) has nothing to push back.
pub async fn push_back(
    push: &StatusPush<'_>,
    store: &dyn Store,
    order_number: &str,
) -> Result<bool, StepError> {
    let order = store
        .links_by_remote(push.tenant, ORDER_LINK, order_number)
        .await?
        .into_iter()
        .next();
    let Some(order) = order else {
        return Ok(false);
    };
    let receipt = push
        .erp
        .get_order_status(&order.remote_id)
        .await
        .map_err(role)?;
    if order.state.as_deref() == Some(receipt.status.as_str()) {
        return Ok(false);
    }
    let text = push
        .status_names
        .get(&receipt.status)
        .cloned()
        .unwrap_or_else(|| format!("ERP status {}", receipt.status));
    push.quoting
        .set_status(&order.local_id, &text)
        .await
        .map_err(role)?;
    // Before the state is recorded: a failed invoice write retries the job, which finds the
    // status still moved and writes both again (both writes are idempotent).
    if push
        .invoiced_status
        .is_some_and(|invoiced| reached(&receipt.status, invoiced))
    {
        invoice_back(push, store, &order).await?;
    }
    store
        .set_link_state(push.tenant, ORDER_LINK, &order.local_id, &receipt.status)
        .await?;
    // In the quote's trail, where an operator looks for what happened to it.
    store
        .audit(
            push.tenant,
            quote_to_order::KIND,
            &order.local_id,
            "status",
            &format!(
                "ERP order {} status {} → {}; quote status set to '{text}'",
                order.remote_id,
                order.state.as_deref().unwrap_or(""),
                receipt.status
            ),
            &json!({ "order": order.remote_id, "status": receipt.status }),
        )
        .await?;
    Ok(true)
}

/// Whether `status` is `target` or past it: numerically when both are numbers (M3's are), else
/// only the same status.
fn reached(status: &str, target: &str) -> bool {
    match (status.trim().parse::<u32>(), target.trim().parse::<u32>()) {
        (Ok(status), Ok(target)) => status >= target,
        _ => status.trim() == target.trim(),
    }
}

/// Writes the order's latest invoice (number and date) onto the quote and audits it. A plugin
/// that can't (built before contract 1.2, or not implementing it) is skipped with a log line:
/// the status push-back itself succeeds.
async fn invoice_back(
    push: &StatusPush<'_>,
    store: &dyn Store,
    order: &Link,
) -> Result<(), StepError> {
    let invoices = match push.erp.list_order_invoices(&order.remote_id).await {
        Err(e) if unsupported(&e) => {
            tracing::info!(tenant = push.tenant, order = %order.remote_id, "invoice not written back: the ERP plugin can't list invoices ({e})");
            return Ok(());
        }
        other => other.map_err(role)?,
    };
    // M3 can set the order status before the invoice is listed: retry with the tenant's
    // policy (the status is not recorded as pushed yet) rather than lose the invoice.
    let Some(invoice) = invoices.last() else {
        return Err(StepError::Plugin(RoleError::new(
            ErrorClass::Transient,
            format!(
                "ERP order {} is invoiced, but the ERP lists no invoice for it yet",
                order.remote_id
            ),
        )));
    };
    match push
        .quoting
        .set_invoice(&order.local_id, &invoice.number, &invoice.date)
        .await
    {
        Err(e) if unsupported(&e) => {
            tracing::info!(tenant = push.tenant, quote = %order.local_id, "invoice {} not written back: the quoting plugin can't ({e})", invoice.number);
            return Ok(());
        }
        other => other.map_err(role)?,
    }
    store
        .audit(
            push.tenant,
            quote_to_order::KIND,
            &order.local_id,
            "invoice",
            &format!(
                "ERP order {} invoiced: invoice {} of {} written to the quote",
                order.remote_id, invoice.number, invoice.date
            ),
            &json!({ "order": order.remote_id, "invoice": invoice.number, "date": invoice.date }),
        )
        .await?;
    Ok(())
}

fn unsupported(e: &RoleFailure) -> bool {
    matches!(e, RoleFailure::Error(e) if e.class == ErrorClass::Unsupported)
}

fn role(e: RoleFailure) -> StepError {
    StepError::from(e)
}

/// The status poll's name in the store's slot leases.
pub const POLL_SCHEDULE: &str = "poll-order-status";

/// Polls open orders forever at the tenant's interval (nothing when it is 0), queueing the
/// push-back for each order whose ERP status moved. The safety net for missed ERP events.
/// Each interval slot runs on the one node that takes it (N nodes read each order once per
/// interval, not N times). Workers find the queued jobs on their next idle poll.
pub async fn poll_order_status(env: Arc<Tenant>, store: Arc<dyn Store>, node: String) {
    let interval = env.policy.status_poll_secs;
    if interval == 0 {
        return;
    }
    let name = env.name.clone();
    let every = Duration::from_secs(interval);
    crate::slots::every_slot_from_now(&name, POLL_SCHEDULE, every, store, &node, |store, slot| {
        let (env, node) = (env.clone(), node.clone());
        async move {
            poll_slot(&env, store.as_ref(), slot, &node)
                .await
                .map(|n| n.is_some())
        }
    })
    .await;
}

/// One slot of the status poll on one node: `None` when another node took the slot (nothing
/// read), else how many push-backs it queued.
pub async fn poll_slot(
    env: &Tenant,
    store: &dyn Store,
    slot: i64,
    node: &str,
) -> Result<Option<usize>, StoreError> {
    if !store
        .take_slot(&env.name, POLL_SCHEDULE, slot, node)
        .await?
    {
        return Ok(None);
    }
    poll_once(env, store).await.map(Some)
}

/// One pass over open orders; returns how many push-backs were queued. A read that fails is
/// left to the next pass (or an event); only the push-back is a job.
pub async fn poll_once(env: &Tenant, store: &dyn Store) -> Result<usize, StoreError> {
    let roles = &env.roles;
    let (mut queued, mut failed, mut last) = (0, 0, None);
    let open = store
        .open_links(&env.name, ORDER_LINK, &env.policy.final_statuses)
        .await?;
    for order in open {
        match moved(roles.erp.as_ref(), &order).await {
            Ok(false) => {}
            Ok(true) => {
                queue(store, &env.name, &order.remote_id, None).await?;
                queued += 1;
            }
            Err(e) => {
                failed += 1;
                last = Some(e);
            }
        }
    }
    if let Some(e) = last {
        tracing::warn!(tenant = %env.name, "order status poll: {failed} reads failed, the last: {e}");
    }
    Ok(queued)
}

async fn moved(erp: &dyn Erp, order: &Link) -> Result<bool, RoleFailure> {
    let receipt = erp.get_order_status(&order.remote_id).await?;
    Ok(order.state.as_deref() != Some(receipt.status.as_str()))
}

impl<'a> StatusPush<'a> {
    /// The push-back as the tenant configures it, over its roles.
    pub fn of(env: &'a Tenant) -> Self {
        let roles = &env.roles;
        Self {
            tenant: &env.name,
            erp: roles.erp.as_ref(),
            quoting: roles.quoting.as_ref(),
            status_names: &env.policy.status_names,
            invoiced_status: env.policy.invoiced_status.as_deref(),
            retry: &env.retry,
        }
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
