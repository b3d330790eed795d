//! Request-level bounds, as axum middleware: a per-tenant rate limit on intake (429 with
//! Retry-After), a Content-Length above the body limit refused before a byte of it is read
//! (413), and a deadline for reading the whole body (408). Connection-level bounds (header and
//! idle timeouts, the connection limit) live in `conn.rs`.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::ApiError;
use crate::config::ServerConfig;

/// The request bounds `router()` applies, from `[server]`.
#[derive(Debug, Clone)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    pub body_timeout: Duration,
    /// Intake requests per second per tenant; 0: no rate limit.
    pub tenant_rate_per_sec: u32,
    pub tenant_burst: u32,
}

impl RequestLimits {
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            max_body_bytes: server.max_body_bytes,
            body_timeout: Duration::from_millis(server.body_timeout_ms),
            tenant_rate_per_sec: server.tenant_rate_per_sec,
            tenant_burst: server.tenant_burst,
        }
    }
}

/// An error reply, closing the connection when the request body was not read to its end
/// (the rest of it must not be parsed as the next request).
fn refuse(error: ApiError, close: bool) -> Response {
    let mut response = error.into_response();
    if close {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads the body under the size limit and the body deadline, then hands the request on with
/// the body in memory (handlers take `Bytes` anyway).
pub async fn bound_body(
    State(limits): State<Arc<RequestLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let max = limits.max_body_bytes;
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        // Answered at once: waiting for a body we will refuse anyway is what a client
        // announcing 1 GB and sending 1 KB counts on.
        return refuse(
            ApiError::TooLarge(format!("the body is larger than the {max}-byte limit")),
            true,
        );
    }
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(limits.body_timeout, Limited::new(body, max).collect()).await;
    let bytes: Bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return refuse(
                ApiError::TooLarge(format!("the body is larger than the {max}-byte limit")),
                true,
            );
        }
        Ok(Err(e)) => {
            return refuse(
                ApiError::Invalid(format!("the body could not be read: {e}")),
                true,
            );
        }
        Err(_) => {
            return refuse(
                ApiError::Timeout(format!(
                    "the body did not arrive within {} ms",
                    limits.body_timeout.as_millis()
                )),
                true,
            );
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// One token bucket per configured tenant: a tenant's flood is refused with 429 while other
/// tenants' requests pass untouched. Unknown tenant names get no bucket (they are answered
/// at once without running anything, and keying them would let a client grow the map).
pub struct TenantRates {
    buckets: HashMap<String, DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

impl TenantRates {
    pub fn new<'a>(tenants: impl IntoIterator<Item = &'a String>, limits: &RequestLimits) -> Self {
        let quota = NonZeroU32::new(limits.tenant_rate_per_sec).map(|rate| {
            Quota::per_second(rate)
                .allow_burst(NonZeroU32::new(limits.tenant_burst).unwrap_or(rate))
        });
        let buckets = match quota {
            Some(q) => tenants
                .into_iter()
                .map(|t| (t.clone(), RateLimiter::direct(q)))
                .collect(),
            None => HashMap::new(),
        };
        Self {
            buckets,
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when `tenant` is over its rate.
    fn check(&self, tenant: &str) -> Result<(), Duration> {
        match self.buckets.get(tenant) {
            Some(bucket) => bucket
                .check()
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
            None => Ok(()),
        }
    }
}

/// The tenant an intake path is for: `/hooks/{tenant}/…`, `/events/{tenant}/…` or
/// `/ion/{tenant}/…`, decoded as the router decodes it (so `%61cme` can't slip past `acme`'s
/// bucket).
fn intake_tenant(path: &str) -> Option<String> {
    let mut segments = path.trim_start_matches('/').split('/');
    match segments.next()? {
        "hooks" | "events" | "ion" => {}
        _ => return None,
    }
    let raw = segments.next()?;
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Refuses a tenant's intake request over its rate with 429 and Retry-After (whole seconds,
/// at least 1), before its body is read or any plugin runs.
pub async fn rate_limit(
    State(rates): State<Arc<TenantRates>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(tenant) = intake_tenant(request.uri().path())
        && let Err(wait) = rates.check(&tenant)
    {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let seconds = seconds.max(1);
        metrics::counter!("ferry_intake_rate_limited_total").increment(1);
        // The body is left unread: close rather than parse it as the next request.
        return refuse(
            ApiError::TooManyRequests {
                tenant,
                retry_after_secs: seconds,
            },
            true,
        );
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intake_paths_name_their_tenant_decoded() {
        assert_eq!(
            intake_tenant("/hooks/acme/quotewerks").as_deref(),
            Some("acme")
        );
        assert_eq!(intake_tenant("/ion/%61cme/events").as_deref(), Some("acme"));
        assert_eq!(
            intake_tenant("/hooks/acme/quoting").as_deref(),
            Some("acme")
        );
        assert_eq!(intake_tenant("/events/acme/erp").as_deref(), Some("acme"));
        assert_eq!(intake_tenant("/healthz"), None);
        assert_eq!(intake_tenant("/metrics"), None);
    }

    #[test]
    fn a_tenant_over_its_burst_waits_while_another_passes() {
        let limits = RequestLimits {
            max_body_bytes: 1,
            body_timeout: Duration::from_secs(1),
            tenant_rate_per_sec: 1,
            tenant_burst: 2,
        };
        let names = ["a".to_string(), "b".to_string()];
        let rates = TenantRates::new(&names, &limits);
        assert!(rates.check("a").is_ok());
        assert!(rates.check("a").is_ok());
        assert!(rates.check("a").is_err(), "third request inside a second");
        assert!(rates.check("b").is_ok(), "b has its own bucket");
        assert!(
            rates.check("nobody").is_ok(),
            "unknown names have no bucket"
        );
    }
}
