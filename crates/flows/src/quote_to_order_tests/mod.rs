//! Quote to order on in-memory roles (`fakes.rs`) and the in-memory store: each
//! step and its checkpoint, the in-doubt read-back, holds, retries by error class, lines in
//! chunks with progress, and checkpoints written before the domain types.
//!
//! `writes.rs`: the order is made once (steps, in doubt, chunks); `outcomes.rs`: holds,
//! retries, old checkpoints, the poller. This file: the harness both use.

mod credit;
mod outcomes;
mod substitutes;
mod writes;

use super::fakes::Fakes;
use super::quote_to_order::{Checkpoint, KIND, run};
use super::{RetryPolicy, Tenant, now_ms};
use crate::QuoteToOrderPolicy;
use ferry_store::{Audit, Claim, Jobs, MemoryStore, NewJob, Outcome};

pub(super) const TENANT: &str = "acme";

pub(super) struct World {
    pub(super) store: MemoryStore,
    pub(super) fakes: Fakes,
    pub(super) tenant: Tenant,
}

impl World {
    /// Quote 17 (DocNo Q-17, `lines` lines) of customer K1, who is ERP customer C9.
    pub(super) fn new(lines: usize) -> Self {
        let w = Self::empty();
        w.fakes.add_quote("17", "Q-17", lines);
        w.fakes.erp.add_customer("C9", "k1@example.com", "Kay Corp");
        w
    }

    pub(super) fn empty() -> Self {
        let store = MemoryStore::new();
        let fakes = Fakes::default();
        let tenant = Tenant {
            name: TENANT.into(),
            policy: QuoteToOrderPolicy {
                transferred_status: Some("Ordered".into()),
                ..QuoteToOrderPolicy::default()
            },
            retry: RetryPolicy {
                initial_interval_ms: 1_000,
                backoff_coefficient: 2,
                maximum_interval_ms: 60_000,
                maximum_attempts: 5,
            },
            roles: fakes.roles(),
            transform_settings: vec![("warehouse".into(), "200".into())],
        };
        Self {
            store,
            fakes,
            tenant,
        }
    }

    pub(super) async fn enqueue(&self, quote: &str) {
        let checkpoint = serde_json::to_value(Checkpoint::new(quote, None)).expect("json");
        let job = NewJob {
            tenant: TENANT,
            kind: KIND,
            key: quote,
            checkpoint,
        };
        assert!(self.store.enqueue(job, now_ms()).await.expect("enqueue"));
    }

    /// Claims the next job as a worker would (far enough ahead to be past any backoff).
    pub(super) async fn claim(&self) -> Claim {
        self.store
            .claim("test-0", 1, 60_000, now_ms() + 3_600_000)
            .await
            .expect("claim")
            .pop()
            .expect("a job to claim")
    }

    /// One worker pass: claim, run, record the outcome; returns the outcome.
    pub(super) async fn pass(&self) -> Outcome {
        let claim = self.claim().await;
        let outcome = run(&self.tenant, &self.store, &claim).await;
        self.store
            .finish(&claim, outcome.clone(), now_ms())
            .await
            .expect("finish");
        outcome
    }

    pub(super) async fn job(&self, quote: &str) -> ferry_store::Job {
        self.store
            .job(TENANT, KIND, quote)
            .await
            .expect("read")
            .expect("a job")
    }

    pub(super) async fn checkpoint(&self, quote: &str) -> Checkpoint {
        serde_json::from_value(self.job(quote).await.checkpoint).expect("checkpoint")
    }

    pub(super) async fn trail(&self, quote: &str) -> Vec<String> {
        self.store
            .trail(TENANT, quote)
            .await
            .expect("trail")
            .into_iter()
            .map(|a| format!("{}: {}", a.step, a.message))
            .collect()
    }

    pub(super) fn erp_calls(&self, call: &str) -> usize {
        self.fakes.erp.script.count(call)
    }
}

pub(super) fn held(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Hold { reason } => reason,
        other => panic!("expected a hold, got {other:?}"),
    }
}
