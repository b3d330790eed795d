//! A tenant's health per flow (job kind): what finished in the last hour and how much of it
//! succeeded, what waits for a person now, and how long the oldest due job has waited (lag).
//! Read from the store's counts, plus the queued jobs for the lag.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::controls::FLOWS;
use super::{Context, ServiceError};
use crate::flows::now_ms;
use ferry_store::{JobCount, JobState};

/// How far back "recent" reaches.
pub const WINDOW_SECS: i64 = 3600;

/// One flow of one tenant.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FlowHealth {
    pub flow: String,
    /// Jobs that ended (done or dead) in the window.
    pub finished: i64,
    /// Of those, how many ended done.
    pub succeeded: i64,
    /// `succeeded / finished` in percent, one decimal; None when nothing finished.
    pub success_rate: Option<f64>,
    /// Held for a person now.
    pub holds: i64,
    /// Dead now (dead letters not retried nor resolved).
    pub dead_letters: i64,
    /// Queued now (due or backing off).
    pub queued: i64,
    /// How long the longest-waiting due job has waited to be claimed, in seconds (0: none
    /// waits).
    pub lag_secs: i64,
    /// Set while an operator has the flow paused (its jobs wait, unclaimed).
    pub paused_at: Option<String>,
    /// The token that paused it.
    pub paused_by: Option<String>,
    /// Jobs that ended (done or dead) per minute, over the last 5, 15 and 60 minutes.
    pub runs_per_minute: RunsPerMinute,
}

/// Finished jobs per minute over three windows (two decimals), as a load average reads.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RunsPerMinute {
    pub last_5m: f64,
    pub last_15m: f64,
    pub last_60m: f64,
}

/// The windows runs per minute are counted over, in minutes.
const RATE_WINDOWS: [i64; 3] = [5, 15, 60];

/// The tenant's flows, by name, as of `now_ms`.
pub async fn tenant_health(ctx: &Context, tenant: &str) -> Result<Vec<FlowHealth>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let now = now_ms();
    let since = DateTime::<Utc>::from_timestamp_millis(now - WINDOW_SECS * 1000)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let recent = store.job_counts(tenant, Some(&since)).await?;
    let mut windows = Vec::with_capacity(RATE_WINDOWS.len());
    for minutes in RATE_WINDOWS {
        let since = DateTime::<Utc>::from_timestamp_millis(now - minutes * 60_000)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        windows.push((minutes, store.job_counts(tenant, Some(&since)).await?));
    }
    let current = store.job_counts(tenant, None).await?;
    let queued = store.jobs(Some(tenant), Some(JobState::Queued)).await?;
    let pauses = store.pauses(Some(tenant)).await?;
    // Every flow, listed even when it has no jobs yet.
    let mut flows: Vec<String> = FLOWS.iter().map(|f| (*f).to_string()).collect();
    for c in &current {
        if !flows.contains(&c.kind) {
            flows.push(c.kind.clone());
        }
    }
    flows.sort();
    Ok(flows
        .into_iter()
        .map(|flow| {
            let count = |counts: &[JobCount], state: JobState| {
                counts
                    .iter()
                    .filter(|c| c.kind == flow && c.state == state)
                    .map(|c| c.count)
                    .sum::<i64>()
            };
            let succeeded = count(&recent, JobState::Done);
            let finished = succeeded + count(&recent, JobState::Dead);
            let lag_ms = queued
                .iter()
                .filter(|j| j.kind == flow && j.run_at_ms <= now)
                .map(|j| now - j.run_at_ms)
                .max()
                .unwrap_or(0);
            let pause = pauses.iter().find(|p| p.flow == flow);
            let rate = |i: usize| {
                let (minutes, counts) = &windows[i];
                let ended = count(counts, JobState::Done) + count(counts, JobState::Dead);
                (ended as f64 * 100.0 / *minutes as f64).round() / 100.0
            };
            FlowHealth {
                paused_at: pause.map(|p| p.paused_at.clone()),
                paused_by: pause.and_then(|p| p.paused_by.clone()),
                finished,
                succeeded,
                success_rate: (finished > 0)
                    .then(|| (succeeded as f64 * 1000.0 / finished as f64).round() / 10.0),
                holds: count(&current, JobState::Held),
                dead_letters: count(&current, JobState::Dead),
                queued: count(&current, JobState::Queued),
                lag_secs: lag_ms / 1000,
                runs_per_minute: RunsPerMinute {
                    last_5m: rate(0),
                    last_15m: rate(1),
                    last_60m: rate(2),
                },
                flow,
            }
        })
        .collect())
}
