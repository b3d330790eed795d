//! Evaluating one rule against the store: whether it holds now, with the figures a person
//! needs to act on it (counts, thresholds, the first few jobs concerned).
//!
//! Ages are read from the rows' RFC 3339 timestamps (`created_at`: when a job arrived,
//! `updated_at`: when it was last changed, so when a held or dead job stopped) against the
//! store's clock ([`ferry_store::clock_ms`]).

use ferry_store::{JobState, Store, StoreError};

use crate::config::alerts::AlertRule;
use crate::flows::{catalog, quote_to_order};

/// Examples listed with an alert, at most.
const EXAMPLES: usize = 5;

/// What a rule says about the tenant now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// Whether the rule holds (the alert fires).
    pub holds: bool,
    /// The figures and the threshold, in one line for people.
    pub summary: String,
    /// The first few jobs concerned (`quote-to-order 17: why`), when it holds.
    pub examples: Vec<String>,
}

/// Evaluates `rule` for `tenant` at `now_ms`; `started_ms`: when the evaluator started (the
/// catalog rule's reference when no sync ever finished).
pub async fn evaluate(
    store: &dyn Store,
    tenant: &str,
    rule: &AlertRule,
    now_ms: i64,
    started_ms: i64,
) -> Result<Reading, StoreError> {
    match rule {
        AlertRule::FailureRate {
            window,
            percent,
            min_runs,
            flow,
            ..
        } => {
            let window_ms = millis(window.0);
            let since = rfc3339(now_ms.saturating_sub(window_ms));
            let counts = store.job_counts(tenant, Some(&since)).await?;
            let (mut done, mut dead) = (0i64, 0i64);
            for c in counts
                .iter()
                .filter(|c| flow.as_deref().is_none_or(|f| c.kind == f))
            {
                match c.state {
                    JobState::Done => done += c.count,
                    JobState::Dead => dead += c.count,
                    _ => {}
                }
            }
            let ended = done + dead;
            let rate = if ended > 0 { dead * 100 / ended } else { 0 };
            let holds = ended >= i64::from(*min_runs)
                && dead > 0
                && dead * 100 >= i64::from(*percent) * ended;
            let jobs = match flow {
                Some(f) => format!("{f} jobs"),
                None => "jobs".to_string(),
            };
            Ok(Reading {
                holds,
                summary: format!(
                    "{dead} of {ended} {jobs} that ended in the last {window} went dead ({rate}%; fires at {percent}% once {min_runs} ended)"
                ),
                examples: Vec::new(),
            })
        }
        AlertRule::DeadLetters { above, .. } => {
            let dead = store.jobs(Some(tenant), Some(JobState::Dead)).await?;
            let n = dead.len();
            let holds = n > *above as usize;
            Ok(Reading {
                holds,
                summary: format!(
                    "{n} {} open (fires above {above})",
                    plural(n, "dead letter", "dead letters")
                ),
                examples: dead
                    .iter()
                    .take(if holds { EXAMPLES } else { 0 })
                    .map(|j| {
                        format!(
                            "{} {}: {}",
                            j.kind,
                            j.key,
                            j.last_error.as_deref().unwrap_or("no error recorded")
                        )
                    })
                    .collect(),
            })
        }
        AlertRule::HoldAge { older_than, .. } => {
            let limit = millis(older_than.0);
            let held = store.jobs(Some(tenant), Some(JobState::Held)).await?;
            let mut old: Vec<_> = held
                .iter()
                .filter_map(|j| Some((now_ms - at_ms(&j.updated_at)?, j)))
                .filter(|(age, _)| *age > limit)
                .collect();
            old.sort_by_key(|(age, _)| std::cmp::Reverse(*age));
            let summary = match old.first() {
                Some((oldest, _)) => format!(
                    "{} of {} held {} held longer than {older_than} (oldest: {})",
                    old.len(),
                    held.len(),
                    plural(held.len(), "job", "jobs"),
                    human(*oldest)
                ),
                None => format!("no job held longer than {older_than} ({} held)", held.len()),
            };
            Ok(Reading {
                holds: !old.is_empty(),
                summary,
                examples: old
                    .iter()
                    .take(EXAMPLES)
                    .map(|(age, j)| {
                        format!(
                            "{} {} held {}: {}",
                            j.kind,
                            j.key,
                            human(*age),
                            j.hold_reason.as_deref().unwrap_or("no reason recorded")
                        )
                    })
                    .collect(),
            })
        }
        AlertRule::QuoteNotOrdered { after, .. } => {
            let limit = millis(after.0);
            let mut late = Vec::new();
            for state in [
                JobState::Queued,
                JobState::Running,
                JobState::Held,
                JobState::Dead,
            ] {
                for j in store.jobs(Some(tenant), Some(state)).await? {
                    if j.kind != quote_to_order::KIND {
                        continue;
                    }
                    if let Some(arrived) = at_ms(&j.created_at)
                        && now_ms - arrived > limit
                    {
                        late.push((now_ms - arrived, j));
                    }
                }
            }
            late.sort_by_key(|(age, _)| std::cmp::Reverse(*age));
            let n = late.len();
            Ok(Reading {
                holds: n > 0,
                summary: format!(
                    "{n} approved {} without an ERP order {after} after arrival",
                    plural(n, "quote", "quotes")
                ),
                examples: late
                    .iter()
                    .take(EXAMPLES)
                    .map(|(age, j)| {
                        let why = j.hold_reason.as_deref().or(j.last_error.as_deref());
                        format!(
                            "quote {} arrived {} ago, {} at step {}{}",
                            j.key,
                            human(*age),
                            j.state.as_str(),
                            j.step,
                            why.map(|w| format!(": {w}")).unwrap_or_default()
                        )
                    })
                    .collect(),
            })
        }
        AlertRule::CatalogNotSynced { after, .. } => {
            // The delta cursor is the start of the last finished run; a finished job's last
            // change is its end. The later of the two is the last success known.
            let cursor = store.cursor(tenant, catalog::CURSOR).await?;
            let job = store.job(tenant, catalog::KIND, catalog::KEY).await?;
            let finished = job
                .filter(|j| j.state == JobState::Done)
                .and_then(|j| at_ms(&j.updated_at));
            let last = cursor.as_deref().and_then(at_ms).max(finished);
            let (since, what) = match last {
                Some(at) => (at, format!("the last finished {} ago", human(now_ms - at))),
                None => (
                    started_ms,
                    format!(
                        "none finished since ferry started {} ago",
                        human(now_ms - started_ms)
                    ),
                ),
            };
            Ok(Reading {
                holds: now_ms - since > millis(after.0),
                summary: format!("catalog sync: {what} (fires when none finished in {after})"),
                examples: Vec::new(),
            })
        }
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A row's timestamp in milliseconds since the epoch; None when unreadable (never guessed).
pub(crate) fn at_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A time as the store writes it (`2026-12-03T19:20:59.123Z`), so text comparison orders it.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `3h 10m`, `12m 5s`, `40s`.
pub(crate) fn human(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, m) => format!("{m}m {sec}s"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
