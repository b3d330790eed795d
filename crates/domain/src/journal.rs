//! What a run's plugin calls did, for the run detail: which plugin served each call (its
//! digest and contract version), how long it took, whether the host stopped it, and the HTTP
//! exchanges it made, masked and bounded when they are taken (nothing secret is ever stored).
//!
//! A flow opens a [`Journal`] around its work ([`Journal::scope`]); the runtime's adapters add
//! each call to the journal of the future they run in ([`record`]); outside a scope nothing is
//! kept. Std only (this crate is compiled into guests too): the scope sets a thread-local for
//! the length of each poll.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Calls of one role a journal keeps between two takes (a step's worth); later ones are
/// counted only. Per role, so a sync page's hundreds of transform calls don't crowd out the
/// connector calls around them.
pub const MAX_CALLS: usize = 20;
/// Exchanges kept per call; later ones are counted only.
pub const MAX_EXCHANGES: usize = 20;
/// Bytes of a request or response body kept (the rest is cut, marked `…`).
pub const MAX_BODY: usize = 1024;
/// Bytes of a body masked before it is cut to [`MAX_BODY`] (masking may shorten it).
const MASKED_WINDOW: usize = 4 * MAX_BODY;
/// What a masked value reads as.
pub const MASK: &str = "***";

/// Words that make a header, JSON key, form field or query parameter secret.
const SECRET_WORDS: &[&str] = &[
    "authorization",
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "cookie",
    "credential",
];

/// One plugin call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginCall {
    /// erp, quoting or transform.
    pub role: String,
    /// sha256 of the component that served it (its identity; name and version are read from
    /// the component by digest).
    pub digest: String,
    /// The role package version it was built against.
    pub contract: Option<String>,
    pub duration_ms: u64,
    /// Why the host stopped the call (deadline, memory, trap), when it did.
    pub stopped: Option<String>,
    pub exchanges: Vec<Exchange>,
    /// Exchanges past [`MAX_EXCHANGES`], not kept.
    #[serde(default)]
    pub exchanges_dropped: u32,
}

/// One HTTP request a plugin sent on a connection, and what came back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    pub connection: String,
    pub method: String,
    /// Relative to the connection's base, query included (secret parameters masked).
    pub path: String,
    /// The plugin's headers (secret ones masked; the host's credentials are never among them).
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_body: Option<String>,
    /// Why no response came (refused, timed out, too large).
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Exchange {
    /// A request as it will be kept: masked and cut.
    pub fn request(
        connection: &str,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Self {
        Exchange {
            connection: connection.to_string(),
            method: method.to_string(),
            path: mask_text(path),
            request_headers: headers
                .iter()
                .map(|(k, v)| {
                    let v = if secret_name(k) {
                        MASK.to_string()
                    } else {
                        mask_text(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
            request_body: body.map(body_text),
            ..Exchange::default()
        }
    }

    /// The response (status and body, masked and cut).
    pub fn answered(&mut self, status: u16, body: &[u8]) {
        self.status = Some(status);
        self.response_body = Some(body_text(body));
    }

    pub fn failed(&mut self, error: &str) {
        self.error = Some(mask_text(error));
    }
}

/// Whether a header, key or parameter name names a secret.
pub fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// A body as text, masked, and cut at [`MAX_BODY`] bytes.
fn body_text(body: &[u8]) -> String {
    // Only the start is kept, so only a bounded start is masked (an M3 page of 500 records is
    // half a megabyte). A secret value running past the window is masked to its end.
    let window = &body[..body.len().min(MASKED_WINDOW)];
    let masked = mask_text(&String::from_utf8_lossy(window));
    if masked.len() <= MAX_BODY && window.len() == body.len() {
        return masked;
    }
    let mut end = MAX_BODY.min(masked.len());
    while !masked.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &masked[..end])
}

/// `text` with the value after every secret-named key masked: JSON (`"password": "x"`),
/// forms and queries (`client_secret=x&…`), headers in text (`Authorization: Bearer x`) and
/// bare bearer tokens.
pub fn mask_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let Some((value_start, value_end)) = secret_value_at(&lower, bytes, i) else {
            i += 1;
            continue;
        };
        out.push_str(&text[copied..value_start]);
        out.push_str(MASK);
        copied = value_end;
        i = value_end.max(i + 1);
    }
    out.push_str(&text[copied..]);
    out
}

/// When a secret word (or `bearer `) starts at `i`, the byte range of the value it names.
fn secret_value_at(lower: &str, bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &lower[i..];
    if rest.starts_with("bearer ") || rest.starts_with("basic ") {
        let start = i + rest.find(' ')? + 1;
        let end = scan(bytes, start, |b| {
            b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
        });
        return (end > start).then_some((start, end));
    }
    if !SECRET_WORDS.iter().any(|w| rest.starts_with(w)) {
        return None;
    }
    // The rest of the key, then its closing quote, then `:` or `=`.
    let mut j = scan(bytes, i, |b| {
        b.is_ascii_alphanumeric() || b"_-".contains(&b)
    });
    j = scan(bytes, j, |b| b == b'"' || b == b'\'' || b == b' ');
    if j >= bytes.len() || !(bytes[j] == b':' || bytes[j] == b'=') {
        return None;
    }
    j = scan(bytes, j + 1, |b| b == b' ' || b == b'\t');
    if j < bytes.len() && bytes[j] == b'"' {
        let start = j + 1;
        let mut k = start;
        while k < bytes.len() && bytes[k] != b'"' {
            k += if bytes[k] == b'\\' { 2 } else { 1 };
        }
        return Some((start, k.min(bytes.len())));
    }
    let end = scan(bytes, j, |b| !b"&,;}]\r\n\"' ".contains(&b));
    // `Authorization: Bearer x`: the scheme stays, its credential goes.
    let value = &lower[j..end];
    if value == "bearer" || value == "basic" {
        return secret_value_at(lower, bytes, j);
    }
    (end > j).then_some((j, end))
}

fn scan(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    let mut k = from;
    while k < bytes.len() && keep(bytes[k]) {
        k += 1;
    }
    k
}

/// The calls made in a scope, shared between the flow that opened it and the adapters.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    calls: Arc<Mutex<(Vec<PluginCall>, u32)>>,
    /// The run's job key (a quote's id), for what compares calls per run (shadow runs).
    key: Option<Arc<str>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Journal>> = const { RefCell::new(None) };
}

impl Journal {
    pub fn new() -> Self {
        Self::default()
    }

    /// This journal, naming the run it records (its job key).
    pub fn keyed(mut self, key: &str) -> Self {
        self.key = Some(key.into());
        self
    }

    /// `work`, with this journal receiving the calls made while it runs.
    pub fn scope<F: Future>(&self, work: F) -> Scoped<F> {
        Scoped::new(&CURRENT, self.clone(), work)
    }

    /// The calls recorded since the last take, and how many more were not kept.
    pub fn take(&self) -> (Vec<PluginCall>, u32) {
        match self.calls.lock() {
            Ok(mut calls) => std::mem::take(&mut *calls),
            Err(_) => (Vec::new(), 0),
        }
    }

    fn push(&self, call: PluginCall) {
        if let Ok(mut calls) = self.calls.lock() {
            let same_role = calls.0.iter().filter(|c| c.role == call.role).count();
            if same_role < MAX_CALLS {
                calls.0.push(call);
            } else {
                calls.1 += 1;
            }
        }
    }
}

/// Whether a journal is open here (the adapters collect exchanges only then).
pub fn recording() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// The job key of the run whose journal is open here, when it named one.
pub fn current_key() -> Option<String> {
    CURRENT.with(|c| {
        c.borrow()
            .as_ref()
            .and_then(|j| j.key.as_deref().map(str::to_string))
    })
}

/// Adds a call to the open journal, if any.
pub fn record(call: PluginCall) {
    CURRENT.with(|c| {
        if let Some(journal) = c.borrow().as_ref() {
            journal.push(call);
        }
    });
}

/// A future run inside a journal's scope.
pub type Scoped<F> = crate::scoped::Scoped<Journal, F>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_json_forms_queries_and_headers_are_masked_and_the_rest_kept() {
        let json = r#"{"user": "ann", "password": "hunter2", "client_secret":"s3cr3t", "n": 1}"#;
        let masked = mask_text(json);
        assert!(
            !masked.contains("hunter2") && !masked.contains("s3cr3t"),
            "{masked}"
        );
        assert!(masked.contains(r#""user": "ann""#) && masked.contains(r#""n": 1"#));
        let form = "grant_type=password&username=ann&password=hunter2&client_secret=s3cr3t";
        assert_eq!(
            mask_text(form),
            "grant_type=password&username=ann&password=***&client_secret=***"
        );
        let query = "m3api-rest/v2/execute/OIS100MI/AddBatchHead?CUNO=C1&access_token=abc.def";
        assert_eq!(
            mask_text(query),
            "m3api-rest/v2/execute/OIS100MI/AddBatchHead?CUNO=C1&access_token=***"
        );
        assert_eq!(
            mask_text("Authorization: Bearer eyJ.abc-1"),
            "Authorization: Bearer ***"
        );
        let exchange = Exchange::request(
            "m3",
            "GET",
            "x?y=1",
            &[
                ("X-Api-Key".into(), "k1".into()),
                ("Accept".into(), "application/json".into()),
            ],
            Some(b"{\"token\": \"t0k\"}"),
        );
        assert_eq!(exchange.request_headers[0].1, MASK);
        assert_eq!(exchange.request_headers[1].1, "application/json");
        assert_eq!(
            exchange.request_body.as_deref(),
            Some("{\"token\": \"***\"}")
        );
    }

    #[test]
    fn a_long_bodys_start_is_masked_even_when_its_secret_runs_past_what_is_masked() {
        let records = "{\"ITNO\": \"A1\"},".repeat(20_000);
        let mut e = Exchange::request("m3", "GET", "x", &[], None);
        let body = format!(
            "{{\"access_token\": \"{}\", \"results\": [{records}]}}",
            "t".repeat(10_000)
        );
        e.answered(200, body.as_bytes());
        let kept = e.response_body.unwrap_or_default();
        assert!(kept.starts_with("{\"access_token\": \"***"), "{kept}");
        assert!(!kept.contains("ttt") && kept.ends_with('…'), "{kept}");
        let mut e = Exchange::request("m3", "GET", "x", &[], None);
        e.answered(
            200,
            format!("{{\"password\": \"p\", \"r\": [{records}]}}").as_bytes(),
        );
        let kept = e.response_body.unwrap_or_default();
        assert!(
            kept.starts_with("{\"password\": \"***\", \"r\": [{\"ITNO\""),
            "{kept}"
        );
        assert!(kept.len() <= MAX_BODY + '…'.len_utf8(), "{}", kept.len());
    }

    #[test]
    fn bodies_are_cut_and_calls_past_a_roles_cap_only_counted() {
        let mut e = Exchange::request("m3", "GET", "x", &[], None);
        e.answered(200, "é".repeat(MAX_BODY).as_bytes());
        let body = e.response_body.unwrap_or_default();
        assert!(body.len() <= MAX_BODY + '…'.len_utf8() && body.ends_with('…'));
        let journal = Journal::new();
        let call = |role: &str| PluginCall {
            role: role.into(),
            ..PluginCall::default()
        };
        journal.push(call("erp"));
        for _ in 0..MAX_CALLS + 3 {
            journal.push(call("transform"));
        }
        journal.push(call("quoting"));
        let (calls, dropped) = journal.take();
        assert_eq!((calls.len(), dropped), (MAX_CALLS + 2, 3));
        assert_eq!(calls.last().map(|c| c.role.as_str()), Some("quoting"));
        assert_eq!(journal.take().0.len(), 0);
    }

    #[test]
    fn calls_go_to_the_journal_whose_scope_runs_them_and_nowhere_outside_one() {
        let journal = Journal::new();
        let mut work = journal.scope(async {
            assert!(recording());
            record(PluginCall {
                role: "erp".into(),
                ..PluginCall::default()
            });
        });
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(std::pin::Pin::new(&mut work).poll(&mut cx).is_ready());
        assert!(!recording());
        record(PluginCall::default());
        let (calls, _) = journal.take();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].role, "erp");
    }
}
