//! What each step's plugin calls did, kept in the run's trail for the run detail: after a
//! step commits, and when an attempt fails, one entry with the calls made since the last one
//! (plugin digest and contract, durations, the HTTP exchanges, masked and bounded by the
//! runtime), the attempt and how long the step took. Written beside the step's own entry, not
//! in its transaction: losing one to a crash loses a diagnostic, never work.

use serde_json::{Value as Json, json};

use super::{KIND, Run, Step};

impl Step {
    /// The step the flow works towards from this one (named in a failed attempt's entry).
    pub(super) fn next(self) -> Step {
        match self {
            Step::Received => Step::Fetched,
            Step::Fetched => Step::Customer,
            Step::Customer => Step::Mapped,
            Step::Mapped => Step::Validated,
            Step::Validated => Step::Head,
            Step::Head => Step::Lines,
            Step::Lines => Step::Confirmed,
            Step::Confirmed | Step::WrittenBack => Step::WrittenBack,
        }
    }
}

impl Run<'_> {
    /// Writes the calls since the last entry under `step` (nothing when there were none).
    /// `failed`: the attempt ended with this error.
    pub(super) async fn log_calls(&mut self, step: Step, failed: Option<&str>) {
        let (calls, dropped) = self.journal.take();
        let duration_ms =
            u64::try_from(self.step_started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.step_started = std::time::Instant::now();
        if calls.is_empty() && dropped == 0 {
            return;
        }
        let requests: usize = calls.iter().map(|c| c.exchanges.len()).sum();
        let what = format!(
            "{} plugin call(s), {requests} HTTP request(s) in {duration_ms} ms",
            calls.len() + dropped as usize
        );
        let message = match failed {
            Some(error) => format!("attempt {} failed: {what}: {error}", self.attempt()),
            None => what,
        };
        let data = json!({
            "attempt": self.claim.job.attempts,
            "duration_ms": duration_ms,
            "failed": failed.is_some(),
            "calls": serde_json::to_value(&calls).unwrap_or(Json::Null),
            "calls_dropped": dropped,
        });
        let (tenant, key) = (&self.env.name, &self.claim.job.key);
        if let Err(e) = self
            .store
            .audit(tenant, KIND, key, step.as_str(), &message, &data)
            .await
        {
            tracing::warn!(tenant = %tenant, key = %key, error = %e, "the step's plugin calls were not recorded");
        }
    }
}
