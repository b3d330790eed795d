//! `GET /metrics`: Prometheus text format. Every metric Ferry records is described here once
//! (name, kind, help); `deploy/grafana/ferry.json`'s dashboard queries only these names, and a
//! test holds both to the names the code records. Recorded by: connections (requests, latency,
//! resends), the token provider (grants), plugin calls (duration, stops: the role adapters),
//! intake (this file's middleware), workers (job outcomes) and the store sampler below (queue
//! depth, holds, dead letters). Read-only.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use metrics::Unit;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use ferry_store::{JobState, Store};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Every metric: name, kind, unit, help.
pub const CATALOGUE: &[(&str, Kind, Option<Unit>, &str)] = &[
    (
        "ferry_http_requests_total",
        Kind::Counter,
        None,
        "Requests plugins made through a connection, by tenant, connection and outcome (HTTP status or error class).",
    ),
    (
        "ferry_http_request_seconds",
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time a connection's request took, resends included, by tenant and connection.",
    ),
    (
        "ferry_http_resends_total",
        Kind::Counter,
        None,
        "Idempotent requests the host sent again after a 429/503 or a lost connection, by tenant and connection.",
    ),
    (
        "ferry_oauth_token_requests_total",
        Kind::Counter,
        None,
        "OAuth token requests to the ERP's token endpoint, by HTTP status.",
    ),
    (
        "ferry_role_call_seconds",
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time a plugin call took (instantiation, guest code, host calls), by tenant and role.",
    ),
    (
        "ferry_role_call_stops_total",
        Kind::Counter,
        None,
        "Plugin calls the host stopped or could not make, by tenant, role and reason (deadline, memory, trap, instantiate, busy).",
    ),
    (
        "ferry_intake_requests_total",
        Kind::Counter,
        None,
        "Webhooks (source quoting) and ERP events (source erp) received, by tenant, source and HTTP status answered.",
    ),
    (
        "ferry_intake_rate_limited_total",
        Kind::Counter,
        None,
        "Intake requests refused with 429 because the tenant was over its rate.",
    ),
    (
        "ferry_http_connections_refused_total",
        Kind::Counter,
        None,
        "Connections refused at accept because the server held its maximum.",
    ),
    (
        "ferry_http_connections_timed_out_total",
        Kind::Counter,
        None,
        "Connections closed for being idle or slow, by reason.",
    ),
    (
        "ferry_jobs_total",
        Kind::Counter,
        None,
        "Job runs finished, by tenant, kind (flow) and outcome (done, retry, waiting, held, dead).",
    ),
    (
        "ferry_jobs",
        Kind::Gauge,
        None,
        "Jobs in the store now, by tenant, kind (flow) and state; sampled every 15 s.",
    ),
    (
        "ferry_queue_depth",
        Kind::Gauge,
        None,
        "Jobs waiting to run (queued, retrying or waiting), by tenant; sampled every 15 s.",
    ),
    (
        "ferry_holds",
        Kind::Gauge,
        None,
        "Jobs held for a person, by tenant; sampled every 15 s.",
    ),
    (
        "ferry_dead_letters",
        Kind::Gauge,
        None,
        "Dead letters not yet retried, by tenant; sampled every 15 s.",
    ),
];

/// Installs the process-wide recorder on first use (a process has one, whatever number of
/// servers it runs) and describes every metric.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match builder().install_recorder() {
            Ok(h) => {
                describe();
                Some(h)
            }
            Err(e) => {
                tracing::warn!("metrics recorder not installed: {e}");
                None
            }
        })
        .as_ref()
}

/// Bucket bounds in seconds, for every histogram: a plugin call is microseconds to its
/// deadline, a request to M3 milliseconds to its timeout.
const BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The exporter, with buckets so histograms are exported as histograms (not summaries).
pub fn builder() -> PrometheusBuilder {
    let plain = PrometheusBuilder::new();
    match PrometheusBuilder::new().set_buckets(BUCKETS) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("metrics: histogram buckets not set: {e}");
            plain
        }
    }
}

/// Gives the recorder each metric's help text and unit.
pub fn describe() {
    for (name, kind, unit, help) in CATALOGUE {
        match (kind, unit) {
            (Kind::Counter, Some(u)) => metrics::describe_counter!(*name, *u, *help),
            (Kind::Counter, None) => metrics::describe_counter!(*name, *help),
            (Kind::Gauge, Some(u)) => metrics::describe_gauge!(*name, *u, *help),
            (Kind::Gauge, None) => metrics::describe_gauge!(*name, *help),
            (Kind::Histogram, Some(u)) => metrics::describe_histogram!(*name, *u, *help),
            (Kind::Histogram, None) => metrics::describe_histogram!(*name, *help),
        }
    }
}

pub async fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

/// Counts intake requests (quoting webhooks, ERP events) by tenant, source and the status
/// answered, whatever the handler decided (401s and 413s included).
pub async fn track_intake(request: Request, next: Next) -> Response {
    let source = intake_source(request.uri().path());
    let response = next.run(request).await;
    if let Some((source, tenant)) = source {
        metrics::counter!("ferry_intake_requests_total",
            "tenant" => tenant, "source" => source, "status" => response.status().as_u16().to_string())
        .increment(1);
    }
    response
}

/// `(source, tenant)` of an intake path: `/hooks/T/…` is a quoting webhook, `/events/T/erp`
/// and `/ion/T/events` an ERP event. The tenant is only a label when it is configured-looking
/// (short, plain), so a stranger can't mint label values.
fn intake_source(path: &str) -> Option<(&'static str, String)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let source = match parts.next()? {
        "hooks" => "quoting",
        "events" | "ion" => "erp",
        _ => return None,
    };
    let tenant = parts.next()?;
    let plain = tenant.len() <= 64
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    Some((
        source,
        if plain {
            tenant.to_string()
        } else {
            "?".into()
        },
    ))
}

/// Samples each tenant's jobs from the store every 15 s into the gauges (queue depth, holds,
/// dead letters, jobs by kind and state).
pub async fn sample_store(store: Arc<dyn Store>, tenants: Vec<String>) {
    loop {
        for tenant in &tenants {
            if let Err(e) = sample_tenant(store.as_ref(), tenant).await {
                tracing::debug!(%tenant, "metrics: sampling the store failed: {e}");
            }
        }
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
}

async fn sample_tenant(store: &dyn Store, tenant: &str) -> Result<(), ferry_store::StoreError> {
    let counts = store.job_counts(tenant, None).await?;
    let (mut waiting, mut held, mut dead) = (0i64, 0i64, 0i64);
    for c in &counts {
        match c.state {
            JobState::Queued | JobState::Running => waiting += c.count,
            JobState::Held => held += c.count,
            JobState::Dead => dead += c.count,
            _ => {}
        }
        metrics::gauge!("ferry_jobs",
            "tenant" => tenant.to_string(), "kind" => c.kind.clone(), "state" => c.state.as_str())
        .set(c.count as f64);
    }
    let t = || tenant.to_string();
    metrics::gauge!("ferry_queue_depth", "tenant" => t()).set(waiting as f64);
    metrics::gauge!("ferry_holds", "tenant" => t()).set(held as f64);
    metrics::gauge!("ferry_dead_letters", "tenant" => t()).set(dead as f64);
    Ok(())
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
