//! Fault injection for the MI and token endpoints: latency, 429 with Retry-After, 500, 503,
//! connection reset before processing, and the hard ones: process (commit) the call, then reset
//! the connection so the client never learns it succeeded, or answer 503 as a proxy may.
//!
//! Two mechanisms: probabilistic rates (flags, for chaos runs; seeded, so a run is repeatable)
//! and a queue of one-shot faults (control API, for deterministic tests).

use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::conn::ConnKill;
use super::server::SimState;
use crate::seed::SeedRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    #[serde(rename = "429")]
    TooManyRequests,
    #[serde(rename = "500")]
    InternalError,
    #[serde(rename = "503")]
    Unavailable,
    /// Reset the connection without processing the request.
    #[serde(rename = "reset")]
    Reset,
    /// Process the request (writes commit), then reset instead of answering.
    #[serde(rename = "drop_response")]
    DropResponse,
    /// Process the request (writes commit), then answer 503 as a gateway in front of M3 may.
    #[serde(rename = "503_after_write")]
    UnavailableAfterWrite,
}

/// A one-shot fault, consumed by the next `count` matching requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedFault {
    pub kind: FaultKind,
    /// `PGM/TRN`, `PGM`, `bulk`, `oauth` or `*`; none = every MI call (not the token endpoint).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl std::str::FromStr for Latency {
    type Err = String;

    /// `"200"` or `"50-500"` (uniform between the two).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let min_ms = a
            .trim()
            .parse()
            .map_err(|_| format!("bad latency '{s}', want MS or MIN-MAX"))?;
        let max_ms = b
            .trim()
            .parse()
            .map_err(|_| format!("bad latency '{s}', want MS or MIN-MAX"))?;
        if max_ms < min_ms {
            return Err(format!("bad latency '{s}': max below min"));
        }
        Ok(Latency { min_ms, max_ms })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added delay per matching request, uniform in [min, max].
    pub latency: Option<Latency>,
    /// Probabilities in [0, 1] per matching request.
    pub rate_429: f64,
    pub rate_500: f64,
    pub rate_503: f64,
    pub rate_reset: f64,
    pub rate_drop_response: f64,
    pub rate_503_after_write: f64,
    /// Retry-After seconds sent with 429 (and 503).
    pub retry_after_secs: Option<u64>,
    /// Restrict latency and rates to one target (see [`QueuedFault::target`]).
    pub target: Option<String>,
    /// One-shot faults, served before the rates.
    pub queue: Vec<QueuedFault>,
}

pub struct Faults {
    inner: Mutex<(FaultConfig, SeedRng)>,
    /// MI requests by the wall-clock second they arrived in (unix seconds): what M3's
    /// gateway counts against a tenant's per-second limit.
    seconds: Mutex<std::collections::BTreeMap<u64, u64>>,
}

#[derive(Debug, Default)]
struct Decision {
    delay: Option<Duration>,
    kind: Option<FaultKind>,
}

fn matches(target: Option<&str>, request_target: &str) -> bool {
    match target {
        None => request_target != "oauth",
        Some("*") => true,
        Some(t) => request_target == t || request_target.starts_with(&format!("{t}/")),
    }
}

impl Faults {
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Self {
            inner: Mutex::new((config, SeedRng::new(seed))),
            seconds: Mutex::new(Default::default()),
        }
    }

    /// MI requests received per wall-clock second, `(unix second, requests)`, oldest first;
    /// faulted ones included (M3's gateway counts them too).
    pub fn per_second(&self) -> Vec<(u64, u64)> {
        self.seconds
            .lock()
            .map(|g| g.iter().map(|(s, n)| (*s, *n)).collect())
            .unwrap_or_default()
    }

    fn count(&self) {
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if let Ok(mut g) = self.seconds.lock() {
            *g.entry(second).or_insert(0) += 1;
        }
    }

    pub fn get(&self) -> FaultConfig {
        self.inner.lock().map(|g| g.0.clone()).unwrap_or_default()
    }

    pub fn set(&self, config: FaultConfig) {
        if let Ok(mut g) = self.inner.lock() {
            g.0 = config;
        }
    }

    /// Append one-shot faults without touching the rates.
    pub fn push(&self, fault: QueuedFault) {
        if let Ok(mut g) = self.inner.lock() {
            g.0.queue.push(fault);
        }
    }

    pub fn retry_after(&self) -> u64 {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.0.retry_after_secs)
            .unwrap_or(2)
    }

    fn decide(&self, request_target: &str) -> Decision {
        let Ok(mut g) = self.inner.lock() else {
            return Decision::default();
        };
        let (cfg, rng) = &mut *g;
        let mut d = Decision::default();
        if let Some(i) = cfg
            .queue
            .iter()
            .position(|q| q.count > 0 && matches(q.target.as_deref(), request_target))
        {
            d.kind = Some(cfg.queue[i].kind);
            cfg.queue[i].count -= 1;
            if cfg.queue[i].count == 0 {
                cfg.queue.remove(i);
            }
        }
        if !matches(cfg.target.as_deref(), request_target) {
            return d;
        }
        if let Some(l) = cfg.latency {
            d.delay = Some(Duration::from_millis(rng.range(l.min_ms, l.max_ms)));
        }
        if d.kind.is_none() {
            for (rate, kind) in [
                (cfg.rate_429, FaultKind::TooManyRequests),
                (cfg.rate_500, FaultKind::InternalError),
                (cfg.rate_503, FaultKind::Unavailable),
                (cfg.rate_reset, FaultKind::Reset),
                (cfg.rate_drop_response, FaultKind::DropResponse),
                (cfg.rate_503_after_write, FaultKind::UnavailableAfterWrite),
            ] {
                if rate > 0.0 && rng.unit() < rate {
                    d.kind = Some(kind);
                    break;
                }
            }
        }
        d
    }
}

/// What a request is, for fault targeting: `PGM/TRN`, `bulk`, `oauth`, or `other`.
fn request_target(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.get(1) == Some(&"as") {
        return "oauth".into();
    }
    if let Some(i) = segs.iter().position(|s| *s == "execute") {
        return match (segs.get(i + 1), segs.get(i + 2)) {
            (Some(p), Some(t)) => format!("{p}/{}", t.split(';').next().unwrap_or(t)),
            _ => "bulk".into(),
        };
    }
    "other".into()
}

pub async fn middleware(
    State(state): State<SimState>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    req: Request,
    next: Next,
) -> Response {
    let target = request_target(req.uri().path());
    if target != "oauth" && target != "other" {
        state.faults.count();
    }
    let d = state.faults.decide(&target);
    if let Some(delay) = d.delay {
        tokio::time::sleep(delay).await;
    }
    let retry_after = state.faults.retry_after();
    match d.kind {
        None => next.run(req).await,
        Some(FaultKind::TooManyRequests) => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests: quota exceeded\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            r
        }
        Some(FaultKind::InternalError) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error (sandbox fault)\n",
        )
            .into_response(),
        Some(FaultKind::Unavailable) => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable (sandbox fault)\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            r
        }
        Some(FaultKind::Reset) => {
            tracing::info!(%target, "fault: connection reset before processing");
            conn.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(FaultKind::UnavailableAfterWrite) => {
            let response = next.run(req).await;
            tracing::info!(%target, status = %response.status(), "fault: processed, answering 503");
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable (sandbox fault after processing)\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            r
        }
        Some(FaultKind::DropResponse) => {
            let response = next.run(req).await;
            tracing::info!(%target, status = %response.status(), "fault: processed, dropping the response");
            conn.kill();
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_queue() {
        assert_eq!(
            request_target("/T/M3/m3api-rest/v2/execute/OIS100MI/Confirm"),
            "OIS100MI/Confirm"
        );
        assert_eq!(
            request_target("/T/M3/m3api-rest/execute/CRS610MI/LstByNumber;maxrecs=5"),
            "CRS610MI/LstByNumber"
        );
        assert_eq!(request_target("/T/M3/m3api-rest/v2/execute"), "bulk");
        assert_eq!(request_target("/T/as/token.oauth2"), "oauth");
        let f = Faults::new(FaultConfig::default(), 1);
        f.push(QueuedFault {
            kind: FaultKind::Unavailable,
            target: Some("OIS100MI".into()),
            count: 2,
        });
        assert_eq!(f.decide("CRS610MI/Add").kind, None);
        assert_eq!(
            f.decide("OIS100MI/Confirm").kind,
            Some(FaultKind::Unavailable)
        );
        assert_eq!(
            f.decide("OIS100MI/Confirm").kind,
            Some(FaultKind::Unavailable)
        );
        assert_eq!(f.decide("OIS100MI/Confirm").kind, None);
        assert!("50-10".parse::<Latency>().is_err());
    }
}
