//! What a run's plugin calls did, kept in its trail for the run detail: one entry with the
//! calls made since the last one (plugin digest and contract, durations, the HTTP exchanges,
//! masked and bounded by the runtime), the attempt and how long the work took. Written beside
//! the step's own entry, not in its transaction: losing one to a crash loses a diagnostic,
//! never work. Every flow that runs as a job keeps its calls this way.

use std::time::Instant;

use ferry_domain::journal::Journal;
use ferry_store::{Claim, Store};

use crate::StepError;
use serde_json::{Value as Json, json};

/// The step a paged sync's or a customer change's call entries are under (their own step
/// entries mark progress, and readers count those).
pub const CALLS_STEP: &str = "plugin-calls";

/// The calls a run makes between two entries, and since when.
pub struct StepCalls {
    journal: Journal,
    since: Instant,
    /// Which run of a job that runs again and again under one key (a tenant's catalog sync)
    /// the entries belong to, so the run detail can show the newest run's alone.
    run: Option<String>,
    /// Whether this attempt wrote a page's entry yet ([`StepCalls::page`]).
    logged_a_page: bool,
}

impl Default for StepCalls {
    fn default() -> Self {
        Self::new()
    }
}

impl StepCalls {
    pub fn new() -> Self {
        Self {
            journal: Journal::new(),
            since: Instant::now(),
            run: None,
            logged_a_page: false,
        }
    }

    /// Names the run the entries belong to (when it started), for a job whose key every run
    /// shares: the run detail shows the newest run's entries alone.
    pub fn in_run(&mut self, run: &str) {
        self.run = Some(run.to_string());
    }

    /// The journal a run's work is scoped in (`journal().scope(work)`), so that the calls it
    /// makes are recorded here while `work` holds `self` to write entries as it goes.
    pub fn journal(&self) -> Journal {
        self.journal.clone()
    }

    /// After page `page` of a paged run committed: the calls of the attempt's first page and
    /// of the last page are written, a middle page's forgotten (a sync of 100,000 items has
    /// 200 pages of the same calls; the trail keeps what tells how the run went).
    pub async fn page(&mut self, store: &dyn Store, claim: &Claim, page: u64, last: bool) {
        if self.logged_a_page && !last {
            self.journal.take();
            self.since = Instant::now();
            return;
        }
        self.logged_a_page = true;
        let what = format!("page {page}");
        self.write(store, claim, CALLS_STEP, Some(&what), None)
            .await;
    }

    /// A run's end: when it failed, the calls since the last entry are written with its error.
    pub async fn ended<T>(
        &mut self,
        store: &dyn Store,
        claim: &Claim,
        result: Result<T, StepError>,
    ) -> Result<T, StepError> {
        if let Err(e) = &result {
            self.failed(store, claim, e).await;
        }
        result
    }

    /// The attempt ended with `error`: the calls since the last entry.
    pub async fn failed(
        &mut self,
        store: &dyn Store,
        claim: &Claim,
        error: &(dyn std::fmt::Display + Sync),
    ) {
        let attempt = u32::try_from(claim.job.attempts).unwrap_or(u32::MAX);
        let error = error.to_string();
        self.write(store, claim, CALLS_STEP, None, Some((attempt, &error)))
            .await;
    }

    /// Writes the calls since the last entry under `step` of the claim's run (nothing when
    /// there were none). `failed`: this attempt (counted as the flow counts it) ended with that
    /// error.
    pub async fn log(
        &mut self,
        store: &dyn Store,
        claim: &Claim,
        step: &str,
        failed: Option<(u32, &str)>,
    ) {
        self.write(store, claim, step, None, failed).await;
    }

    /// The entry, its message after `what` when given.
    async fn write(
        &mut self,
        store: &dyn Store,
        claim: &Claim,
        step: &str,
        what: Option<&str>,
        failed: Option<(u32, &str)>,
    ) {
        let (calls, dropped) = self.journal.take();
        let duration_ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.since = Instant::now();
        if calls.is_empty() && dropped == 0 {
            return;
        }
        let requests: usize = calls.iter().map(|c| c.exchanges.len()).sum();
        let what = format!(
            "{}{} plugin call(s), {requests} HTTP request(s) in {duration_ms} ms",
            what.map(|w| format!("{w}: ")).unwrap_or_default(),
            calls.len() + dropped as usize
        );
        let message = match failed {
            Some((attempt, error)) => format!("attempt {attempt} failed: {what}: {error}"),
            None => what,
        };
        let data = json!({
            "run": self.run,
            "attempt": claim.job.attempts,
            "duration_ms": duration_ms,
            "failed": failed.is_some(),
            "calls": serde_json::to_value(&calls).unwrap_or(Json::Null),
            "calls_dropped": dropped,
        });
        let job = &claim.job;
        if let Err(e) = store
            .audit(&job.tenant, &job.kind, &job.key, step, &message, &data)
            .await
        {
            tracing::warn!(tenant = %job.tenant, key = %job.key, error = %e, "the step's plugin calls were not recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use ferry_domain::journal::{PluginCall, record};
    use ferry_store::{Audit, Jobs, MemoryStore, NewJob};

    use super::*;

    async fn claimed(store: &MemoryStore) -> Claim {
        let job = NewJob {
            tenant: "acme",
            kind: "catalog-sync",
            key: "catalog",
            checkpoint: Json::Null,
        };
        store.enqueue(job, 0).await.expect("enqueue");
        let mut claims = store.claim("n-0", 1, 60_000, 1).await.expect("claim");
        claims.pop().expect("a claim")
    }

    fn call(role: &str) {
        record(PluginCall {
            role: role.into(),
            ..PluginCall::default()
        });
    }

    /// Entries with calls: (step, message, roles of the calls).
    async fn entries(store: &MemoryStore) -> Vec<(String, String, Vec<String>)> {
        let trail = store.trail("acme", "catalog").await.expect("trail");
        trail
            .into_iter()
            .filter_map(|e| {
                let calls: Vec<PluginCall> =
                    serde_json::from_value(e.data.get("calls")?.clone()).ok()?;
                Some((
                    e.step,
                    e.message,
                    calls.into_iter().map(|c| c.role).collect(),
                ))
            })
            .collect()
    }

    #[tokio::test]
    async fn a_paged_run_keeps_its_first_and_last_pages_calls_and_a_failures() {
        let store = MemoryStore::new();
        let claim = claimed(&store).await;
        let mut calls = StepCalls::new();
        let journal = calls.journal();
        journal
            .scope(async {
                for page in 1..=5 {
                    call("erp");
                    call("transform");
                    call("quoting");
                    calls.page(&store, &claim, page, page == 5).await;
                }
                call("erp");
            })
            .await;
        // Outside the scope nothing is recorded.
        call("erp");
        calls
            .failed(&store, &claim, &"M3 answered 503 three times")
            .await;
        let got = entries(&store).await;
        let pages: Vec<&str> = got.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(got.len(), 3, "{pages:?}");
        assert!(got.iter().all(|e| e.0 == CALLS_STEP));
        assert!(
            pages[0].starts_with("page 1: 3 plugin call(s)"),
            "{pages:?}"
        );
        assert!(
            pages[1].starts_with("page 5: 3 plugin call(s)"),
            "{pages:?}"
        );
        assert!(
            pages[2].starts_with("attempt 1 failed: 1 plugin call(s)")
                && pages[2].ends_with("M3 answered 503 three times"),
            "{pages:?}"
        );
        assert_eq!(got[0].2, ["erp", "transform", "quoting"]);
        assert_eq!(got[2].2, ["erp"]);
    }
}
