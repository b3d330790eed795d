//! Workers: claim due jobs, run them with their lease kept alive, record the outcome. Jobs are
//! dispatched by kind (`quote-to-order`, `order-status`, the syncs, `customer-sync`). Wake-ups come from intake (a
//! `Notify`) or a short poll; correctness never depends on the wake-up.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Tenant, catalog, customers, now_ms, quote_to_order, status};
use ferry_store::{Claim, Outcome, Store, StoreError};

const IDLE_POLL: Duration = Duration::from_millis(250);

pub struct Workers {
    pub store: Arc<dyn Store>,
    pub tenants: Arc<HashMap<String, Arc<Tenant>>>,
    pub wake: Arc<Notify>,
    /// This node's stable id; workers are named `{node}-{n}` (see `Jobs::release_claims_of`).
    pub node: String,
    /// How long a claim holds a job without renewal; renewed every third of it.
    pub lease_ms: i64,
    /// Each tenant's customer calls, for the customer flow's jobs (M3 customer changes).
    pub customers: Arc<HashMap<String, customers::CustomerRoles>>,
}

impl Workers {
    /// Runs `n` workers until the task is dropped.
    pub async fn run(self: Arc<Self>, n: usize) {
        let mut tasks = Vec::new();
        for i in 0..n.max(1) {
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                me.work(format!("{}-{i}", me.node)).await
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    async fn work(&self, worker: String) {
        loop {
            let claims = match self.store.claim(&worker, 1, self.lease_ms, now_ms()).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(%worker, "claiming jobs failed: {e}");
                    Vec::new()
                }
            };
            if claims.is_empty() {
                let _ = tokio::time::timeout(IDLE_POLL, self.wake.notified()).await;
                continue;
            }
            for claim in claims {
                self.run_one(&claim).await;
            }
        }
    }

    async fn run_one(&self, claim: &Claim) {
        let job = &claim.job;
        let outcome = match self.tenants.get(&job.tenant) {
            None => Outcome::Hold {
                reason: format!("tenant '{}' is not configured on this node", job.tenant),
            },
            Some(env) => {
                let keepalive = self.keep_lease(claim.clone());
                let outcome = match job.kind.as_str() {
                    quote_to_order::KIND => {
                        quote_to_order::run(env, self.store.as_ref(), claim).await
                    }
                    status::KIND => {
                        let push = status::StatusPush::of(env);
                        status::run(&push, self.store.as_ref(), claim).await
                    }
                    catalog::KIND => catalog::run(env, self.store.as_ref(), claim).await,
                    customers::KIND => match self.customers.get(&job.tenant) {
                        Some(roles) => {
                            customers::job::run(roles, self.store.as_ref(), claim, &env.retry).await
                        }
                        None => Outcome::Hold {
                            reason: format!("no customer calls for tenant '{}'", job.tenant),
                        },
                    },
                    crate::prices::PRICES_KIND | crate::prices::STOCK_KIND => {
                        crate::prices::run(env, self.store.as_ref(), claim).await
                    }
                    other => Outcome::Dead {
                        error: format!("unknown job kind '{other}'"),
                    },
                };
                keepalive.abort();
                outcome
            }
        };
        let class = match &outcome {
            Outcome::Done => "done",
            Outcome::Retry { .. } => "retry",
            Outcome::Wait { .. } => "waiting",
            Outcome::Hold { .. } => "held",
            Outcome::Dead { .. } => "dead",
        };
        metrics::counter!("ferry_jobs_total",
            "tenant" => job.tenant.clone(), "kind" => job.kind.clone(), "outcome" => class)
        .increment(1);
        let label = match &outcome {
            Outcome::Done => "done".to_string(),
            Outcome::Retry { error, .. } => format!("retry: {error}"),
            Outcome::Wait { reason, .. } => format!("waiting: {reason}"),
            Outcome::Hold { reason } => format!("held: {reason}"),
            Outcome::Dead { error } => format!("dead: {error}"),
        };
        match self.store.finish(claim, outcome, now_ms()).await {
            Ok(()) => {
                tracing::info!(tenant = %job.tenant, key = %job.key, attempt = job.attempts, "{} {label}", job.kind)
            }
            Err(StoreError::LeaseLost(id)) => {
                tracing::warn!(job = id, "lease lost: another worker owns this job now")
            }
            Err(e) => tracing::error!(job = job.id, "recording the outcome failed: {e}"),
        }
    }

    /// Extends the claim's lease every third of its length while the job runs.
    fn keep_lease(&self, claim: Claim) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let lease_ms = self.lease_ms;
        tokio::spawn(async move {
            loop {
                let renew = u64::try_from(lease_ms / 3).unwrap_or(1_000).max(100);
                tokio::time::sleep(Duration::from_millis(renew)).await;
                if let Err(e) = store.extend(&claim, lease_ms, now_ms()).await {
                    tracing::warn!(job = claim.job.id, "could not extend the lease: {e}");
                    return;
                }
            }
        })
    }
}
