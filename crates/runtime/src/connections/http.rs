//! The `http` capability: one named connection = a base URL, an allow-list, a timeout, size
//! limits and (optionally) credentials the host injects. Plugins send relative paths; anything
//! that would leave the connection's base is refused before a socket is opened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use url::Url;

use super::ConnectionError;
use super::oauth::TokenProvider;
use super::rate::RateLimit;
use crate::bindings::http::{Method, Request, Response};
use crate::bindings::types::Error;

/// Headers a plugin may never set: credentials and anything that changes framing or routing.
const FORBIDDEN_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "expect",
    "forwarded",
];
const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub base_url: Url,
    /// Hosts (`host` or `host:port`) requests and redirects may reach. The base URL's host is
    /// always allowed.
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
    #[serde(default = "default_max_request")]
    pub max_request_bytes: usize,
    /// Plain `http://` is refused except to loopback unless this is set.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Resends of a request that never connected, or of one the plugin sent with
    /// `send-idempotent` that the server answered 429 or 503. Nothing else is resent: M3 writes
    /// are GETs and a gateway may answer 503 after M3 acted, so a write's failure is left to the
    /// flow, which reads M3 back before writing again.
    #[serde(default = "default_retries")]
    pub retries_unprocessed: u32,
    /// Upper bound on the time those resends may wait in all (it counts against the plugin
    /// call's deadline).
    #[serde(default = "default_retry_budget")]
    pub retry_budget_ms: u64,
    /// Sends per second the other side allows this tenant (every node together, when the
    /// store is shared); none: no limit. Resends count too.
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    /// Sends that may go at once after a quiet while (default 1).
    #[serde(default)]
    pub rate_burst: Option<u32>,
}

fn default_retries() -> u32 {
    3
}
fn default_retry_budget() -> u64 {
    3_000
}

fn default_timeout_ms() -> u64 {
    30_000
}
fn default_max_response() -> usize {
    16 << 20
}
fn default_max_request() -> usize {
    8 << 20
}

impl HttpSettings {
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            allow: Vec::new(),
            timeout_ms: default_timeout_ms(),
            max_response_bytes: default_max_response(),
            max_request_bytes: default_max_request(),
            allow_insecure_http: false,
            retries_unprocessed: default_retries(),
            retry_budget_ms: default_retry_budget(),
            rate_per_sec: None,
            rate_burst: None,
        }
    }
}

/// Which failed sends the host repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Only a request that never connected (a write: the plugin reads back instead).
    NotConnected,
    /// Also one answered 429 or 503 (a read).
    Unprocessed,
}

pub struct HttpConnection {
    tenant: String,
    name: String,
    base: Url,
    allow: Arc<Vec<String>>,
    settings: HttpSettings,
    client: reqwest::Client,
    auth: Option<Arc<TokenProvider>>,
    rate: Option<RateLimit>,
}

impl HttpConnection {
    pub fn new(
        tenant: &str,
        name: &str,
        settings: HttpSettings,
        auth: Option<Arc<TokenProvider>>,
    ) -> Result<Self, ConnectionError> {
        let mut base = settings.base_url.clone();
        let bad = |why: String| ConnectionError::Config {
            connection: name.to_string(),
            message: why,
        };
        match base.scheme() {
            "https" => {}
            "http" if settings.allow_insecure_http || is_loopback(&base) => {}
            other => {
                return Err(bad(format!(
                    "base URL scheme '{other}' refused: use https (or set allow_insecure_http)"
                )));
            }
        }
        if base.host_str().is_none() {
            return Err(bad("base URL has no host".into()));
        }
        // Join semantics: without a trailing slash the last segment would be replaced.
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let mut allow = vec![host_key(&base)];
        allow.extend(settings.allow.iter().map(|h| h.to_ascii_lowercase()));
        let allow = Arc::new(allow);
        let redirect_allow = allow.clone();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.min(10_000)))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 3 {
                    attempt.stop()
                } else if host_allowed(&redirect_allow, attempt.url()) {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()
            .map_err(|e| bad(format!("HTTP client: {e}")))?;
        let rate = settings.rate_per_sec.filter(|r| *r > 0.0).map(|r| {
            RateLimit::new(
                format!("{tenant}/{name}"),
                r,
                settings.rate_burst.unwrap_or(1),
            )
        });
        Ok(Self {
            rate,
            tenant: tenant.to_string(),
            name: name.to_string(),
            base,
            allow,
            settings,
            client,
            auth,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Resolves a plugin's relative path against the base, refusing anything that leaves it.
    pub fn resolve(&self, path: &str) -> Result<Url, String> {
        let path_only = path.split(['?', '#']).next().unwrap_or("");
        if path.starts_with("//") || path.contains('\\') || path_only.contains("://") {
            return Err(format!("'{path}' is not a relative path"));
        }
        let lowered = path_only.to_ascii_lowercase();
        if path_only.split('/').any(|seg| seg == ".." || seg == ".")
            || lowered.contains("%2e")
            || lowered.contains("%2f")
        {
            return Err(format!("'{path}' may not contain dot segments"));
        }
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| format!("'{path}': {e}"))?;
        if url.scheme() != self.base.scheme()
            || url.host_str() != self.base.host_str()
            || url.port_or_known_default() != self.base.port_or_known_default()
            || !url.path().starts_with(self.base.path())
        {
            return Err(format!("'{path}' leaves the connection's base URL"));
        }
        if !host_allowed(&self.allow, &url) {
            return Err(format!("host of '{url}' is not on the allow-list"));
        }
        Ok(url)
    }

    /// Sends a plugin's request. Any HTTP status is a response; errors are for requests that
    /// were refused or never got an answer. Resent only if it never reached the server.
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        self.send_with(request, Resend::NotConnected).await
    }

    /// Sends a request the plugin says is safe to repeat: also resent after a 429 or 503.
    pub async fn send_idempotent(&self, request: Request) -> Result<Response, Error> {
        self.send_with(request, Resend::Unprocessed).await
    }

    async fn send_with(&self, request: Request, resend: Resend) -> Result<Response, Error> {
        let started = Instant::now();
        let result = self.send_inner(request, resend).await;
        let outcome = match &result {
            Ok(r) => r.status.to_string(),
            Err(e) => error_class(e).to_string(),
        };
        metrics::counter!("ferry_http_requests_total",
            "tenant" => self.tenant.clone(), "connection" => self.name.clone(), "outcome" => outcome)
        .increment(1);
        metrics::histogram!("ferry_http_request_seconds",
            "tenant" => self.tenant.clone(), "connection" => self.name.clone())
        .record(started.elapsed().as_secs_f64());
        result
    }

    async fn send_inner(&self, request: Request, resend: Resend) -> Result<Response, Error> {
        let denied = |why: String| {
            Error::Fatal(format!(
                "connection '{}' refused the request: {why}",
                self.name
            ))
        };
        let url = self.resolve(&request.path).map_err(denied)?;
        let headers = self.plugin_headers(&request.headers).map_err(denied)?;
        if let Some(body) = &request.body
            && body.len() > self.settings.max_request_bytes
        {
            return Err(denied(format!(
                "request body of {} bytes exceeds {} bytes",
                body.len(),
                self.settings.max_request_bytes
            )));
        }
        let method = verb(&request.method);
        let build = |token: Option<&str>| {
            let mut rb = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(token) = token {
                rb = rb.bearer_auth(token);
            }
            if let Some(body) = &request.body {
                rb = rb.body(body.clone());
            }
            rb
        };

        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        loop {
            self.paced().await;
            let result = match &self.auth {
                None => self.read(build(None).send().await).await,
                Some(auth) => {
                    let token = auth.token().await?;
                    match self.read(build(Some(token.expose())).send().await).await {
                        // A 401 is answered before anything is processed, so one retry with a
                        // fresh token is safe even for writes.
                        Ok(r) if r.status == 401 => {
                            auth.invalidate(&token).await;
                            let token = auth.token().await?;
                            self.paced().await;
                            self.read(build(Some(token.expose())).send().await).await
                        }
                        other => other,
                    }
                }
            };
            let unprocessed = match &result {
                // A gateway may answer 503 (or 429) after the server acted: only a request the
                // plugin called idempotent is resent then.
                Ok(r) => resend == Resend::Unprocessed && (r.status == 429 || r.status == 503),
                Err(Error::Transient(m)) => m.ends_with(NOT_CONNECTED),
                Err(_) => false,
            };
            if !unprocessed || attempt >= self.settings.retries_unprocessed {
                return result;
            }
            let delay = match &result {
                Ok(r) => retry_after(r).unwrap_or_else(|| backoff(attempt)),
                Err(_) => backoff(attempt),
            };
            let budget = Duration::from_millis(self.settings.retry_budget_ms);
            if waited + delay > budget {
                return result;
            }
            metrics::counter!("ferry_http_resends_total",
                "tenant" => self.tenant.clone(), "connection" => self.name.clone())
            .increment(1);
            tokio::time::sleep(delay).await;
            waited += delay;
            attempt += 1;
        }
    }

    /// Waits for the connection's rate limit, if it has one.
    async fn paced(&self) {
        if let Some(rate) = &self.rate {
            rate.acquire().await;
        }
    }

    fn plugin_headers(&self, headers: &[(String, String)]) -> Result<HeaderMap, String> {
        if headers.len() > MAX_HEADERS {
            return Err(format!("more than {MAX_HEADERS} headers"));
        }
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            if FORBIDDEN_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-forwarded-") {
                return Err(format!("plugins may not set the '{name}' header"));
            }
            let name = HeaderName::from_bytes(lower.as_bytes())
                .map_err(|_| format!("'{name}' is not a valid header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header '{name}'"))?;
            map.append(name, value);
        }
        Ok(map)
    }

    async fn read(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Response, Error> {
        let mut resp = sent.map_err(|e| self.transport_error(&e))?;
        let limit = self.settings.max_response_bytes;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(self.too_large(limit));
        }
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(self.too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn too_large(&self, limit: usize) -> Error {
        Error::Fatal(format!(
            "response on connection '{}' exceeds the {limit}-byte limit",
            self.name
        ))
    }

    fn transport_error(&self, e: &reqwest::Error) -> Error {
        let what = if e.is_timeout() {
            format!("timed out after {} ms", self.settings.timeout_ms)
        } else if e.is_connect() {
            NOT_CONNECTED.to_string()
        } else {
            // The error's own text can carry the URL; it holds no credentials (they are in
            // headers), so it is safe to show.
            format!("{e}")
        };
        Error::Transient(format!("connection '{}': {what}", self.name))
    }
}

/// The transport error text for a request that never reached the server (safe to resend).
const NOT_CONNECTED: &str = "could not connect";

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6)))
}

/// `Retry-After` in seconds (the HTTP-date form is not used by M3's gateway).
fn retry_after(r: &Response) -> Option<Duration> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn error_class(e: &Error) -> &'static str {
    match e {
        Error::NotFound(_) => "not-found",
        Error::Invalid(_) => "invalid",
        Error::Conflict(_) => "conflict",
        Error::RateLimited(_) => "rate-limited",
        Error::Transient(_) => "transient",
        Error::Unauthorized(_) => "unauthorized",
        Error::Fatal(_) => "fatal",
        Error::Unsupported(_) => "unsupported",
    }
}

fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    }
}

fn host_allowed(allow: &[String], url: &Url) -> bool {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let key = host_key(url);
    allow.iter().any(|a| *a == key || *a == host)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// The HTTP method a plugin's request names.
pub(crate) fn verb(method: &Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}
