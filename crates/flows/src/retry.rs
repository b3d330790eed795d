//! Retry policy in Temporal's shape: initial interval, backoff coefficient, maximum interval,
//! maximum attempts; a Retry-After from the remote system is honoured when longer.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    pub initial_interval_ms: u64,
    pub backoff_coefficient: u32,
    pub maximum_interval_ms: u64,
    /// Attempts in all (the first try included) before a job becomes a dead letter.
    pub maximum_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_interval_ms: 1_000,
            backoff_coefficient: 2,
            maximum_interval_ms: 60_000,
            maximum_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, given the 1-based attempt that just failed.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let backoff = self
            .initial_interval_ms
            .saturating_mul(u64::from(self.backoff_coefficient.max(1)).saturating_pow(exp))
            .min(self.maximum_interval_ms);
        let backoff = Duration::from_millis(backoff);
        match retry_after {
            Some(ra) if ra > backoff => ra,
            _ => backoff,
        }
    }

    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.maximum_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_up_to_the_cap_and_honours_retry_after() {
        let p = RetryPolicy {
            initial_interval_ms: 100,
            backoff_coefficient: 2,
            maximum_interval_ms: 1_000,
            maximum_attempts: 5,
        };
        let ms = |a, ra| p.delay(a, ra).as_millis();
        assert_eq!(
            [
                ms(1, None),
                ms(2, None),
                ms(3, None),
                ms(4, None),
                ms(5, None)
            ],
            [100, 200, 400, 800, 1000]
        );
        assert_eq!(
            ms(1, Some(Duration::from_secs(3))),
            3000,
            "a longer Retry-After wins"
        );
        assert_eq!(
            ms(4, Some(Duration::from_millis(10))),
            800,
            "a shorter one does not shorten the backoff"
        );
        assert!(!p.exhausted(4));
        assert!(p.exhausted(5));
    }
}
