//! The step each quote-to-order attempt works towards, and its plugin calls written to the
//! run's trail ([`crate::calls`]): after a step commits, and when an attempt fails.

use super::{Run, Step};

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
        let attempt = self.attempt();
        let failed = failed.map(|e| (attempt, e));
        self.calls
            .log(self.store, self.claim, step.as_str(), failed)
            .await;
    }
}
