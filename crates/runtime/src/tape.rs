//! Shadow runs of a connector (`ferry plugin shadow … --role erp|quoting`): the live call's
//! HTTP exchanges and SQL statements are taped in full, then the candidate makes the same call with every request
//! it sends answered from that tape. A request made while replaying never leaves the host, so
//! a candidate can be compared on live events without writing anything twice.
//!
//! A tape is opened around a role call with [`Tape::record`] or [`Tape::replay`] (on this
//! thread, like the run journal); the role adapters hand it to the call's state before the
//! guest runs, and `imports/http.rs` and `imports/sql.rs` record or answer through it.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::bindings::http::{Request, Response};
use crate::bindings::sql::{Rows, Statement};
use crate::bindings::types::Error;

/// How much of a request body a tape keeps for the comparison (the request itself is answered
/// in full).
const BODY_SHOWN: usize = 4096;

const SQL_METHODS: [&str; 3] = ["QUERY", "EXECUTE", "TRANSACTION"];

/// What a shadow candidate's request made outside a replay gets (one made while it is
/// instantiated, before the call's tape is attached): refused, never sent.
fn not_replaying() -> Error {
    Error::Fatal("shadow run: a candidate's requests are answered from the live call's; this one came outside a call and was not sent".into())
}

/// One request a call made (an HTTP request or SQL statements), as the shadow report shows
/// it: masked, body cut.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TapedRequest {
    pub connection: String,
    /// The HTTP method, or `QUERY`, `EXECUTE`, `TRANSACTION` for SQL.
    pub method: String,
    /// The HTTP path with its query, or the SQL text (a transaction's statements one per line).
    pub path: String,
    /// The HTTP body, or the SQL parameters as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_SHOWN)]);
    ferry_domain::journal::mask_text(&text)
}

impl TapedRequest {
    pub(crate) fn http(connection: &str, request: &Request) -> Self {
        Self {
            connection: connection.to_string(),
            method: crate::connections::http::verb(&request.method)
                .as_str()
                .to_string(),
            path: ferry_domain::journal::mask_text(&request.path),
            body: request.body.as_deref().map(shown),
        }
    }

    pub(crate) fn sql(connection: &str, method: &str, statements: &[Statement]) -> Self {
        let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        let params: Vec<_> = statements.iter().map(|s| &s.params).collect();
        Self {
            connection: connection.to_string(),
            method: method.to_string(),
            path: ferry_domain::journal::mask_text(&sql.join("\n")),
            body: serde_json::to_vec(&params).ok().map(|b| shown(&b)),
        }
    }

    /// Where a request goes whatever it carries: an HTTP path without its query; SQL's whole
    /// text (its `?` are placeholders, not a query).
    fn route(&self) -> &str {
        if SQL_METHODS.contains(&self.method.as_str()) {
            &self.path
        } else {
            self.path.split('?').next().unwrap_or_default()
        }
    }
}

/// What came back to a taped request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Http(Result<Response, Error>),
    Rows(Result<Rows, Error>),
    Count(Result<u64, Error>),
    Counts(Result<Vec<u64>, Error>),
}

#[derive(Debug)]
struct Taped {
    request: TapedRequest,
    answer: Answer,
    used: bool,
}

#[derive(Debug, Default)]
struct Reels {
    live: Vec<Taped>,
    shadow: Vec<TapedRequest>,
}

/// The live call's exchanges and the requests the candidate made on replay.
#[derive(Debug, Clone, Default)]
pub struct Tape {
    reels: Arc<Mutex<Reels>>,
}

/// What a call on this thread does with its requests.
#[derive(Debug, Clone)]
pub enum TapeMode {
    /// Sent as usual, and each exchange kept.
    Record(Tape),
    /// Never sent: answered from the tape.
    Replay(Tape),
}

thread_local! {
    static CURRENT: RefCell<Option<TapeMode>> = const { RefCell::new(None) };
}

/// The tape the role call being made on this thread works with, if any.
pub(crate) fn current() -> Option<TapeMode> {
    ferry_domain::scoped::current(&CURRENT)
}

impl Tape {
    /// `work` (the live role call), with its exchanges kept on this tape.
    pub fn record<F: Future>(&self, work: F) -> Scoped<F> {
        Scoped::new(&CURRENT, TapeMode::Record(self.clone()), work)
    }

    /// `work` (the candidate's role call), with its requests answered from this tape.
    pub fn replay<F: Future>(&self, work: F) -> Scoped<F> {
        Scoped::new(&CURRENT, TapeMode::Replay(self.clone()), work)
    }

    /// The requests the live call made, in order.
    pub fn live_requests(&self) -> Vec<TapedRequest> {
        self.reels
            .lock()
            .map(|r| r.live.iter().map(|t| t.request.clone()).collect())
            .unwrap_or_default()
    }

    /// The requests the candidate made on replay, in order.
    pub fn shadow_requests(&self) -> Vec<TapedRequest> {
        self.reels
            .lock()
            .map(|r| r.shadow.clone())
            .unwrap_or_default()
    }

    pub(crate) fn keep(&self, request: TapedRequest, answer: Answer) {
        if let Ok(mut reels) = self.reels.lock() {
            reels.live.push(Taped {
                request,
                answer,
                used: false,
            });
        }
    }

    /// The live answer to the candidate's request: the first unused exchange that sent the
    /// very same request, else the first unused one to the same place (same connection,
    /// method and path without its query, or SQL text), else an error: the live call made no
    /// such request, and a shadow never sends.
    pub(crate) fn answer(&self, asked: TapedRequest) -> Result<Answer, Error> {
        let Ok(mut reels) = self.reels.lock() else {
            return Err(Error::Fatal("shadow run: the tape is unreadable".into()));
        };
        reels.shadow.push(asked.clone());
        let same_place = |t: &Taped| {
            t.request.connection == asked.connection
                && t.request.method == asked.method
                && t.request.route() == asked.route()
        };
        let found = reels
            .live
            .iter()
            .position(|t| !t.used && t.request == asked)
            .or_else(|| reels.live.iter().position(|t| !t.used && same_place(t)));
        match found {
            Some(i) => {
                reels.live[i].used = true;
                Ok(reels.live[i].answer.clone())
            }
            None => Err(Error::Fatal(format!(
                "shadow run: the live call sent no {} {} on '{}' to answer this from (a shadow never sends)",
                asked.method,
                asked.route(),
                asked.connection
            ))),
        }
    }
}

/// The tape as the host imports (`http`, `sql`) use it: a request is built (masked) only when
/// a tape or a shadow's grants need it.
impl crate::state::PluginState {
    /// On a shadow's replay, the taped answer to `request` (it is never sent); a shadow
    /// candidate's request outside a replay is refused. None: send it.
    pub(crate) fn replayed(
        &self,
        request: impl FnOnce() -> TapedRequest,
    ) -> Option<Result<Answer, Error>> {
        match &self.tape {
            Some(TapeMode::Replay(tape)) => Some(tape.answer(request())),
            _ if self.grants.shadow => Some(Err(not_replaying())),
            _ => None,
        }
    }

    /// When the live call is taped: the tape and `request`, to keep with its answer.
    pub(crate) fn taping(
        &self,
        request: impl FnOnce() -> TapedRequest,
    ) -> Option<(Tape, TapedRequest)> {
        match &self.tape {
            Some(TapeMode::Record(tape)) => Some((tape.clone(), request())),
            _ => None,
        }
    }
}

/// A future run with a tape open on its thread while it is polled.
pub type Scoped<F> = ferry_domain::scoped::Scoped<TapeMode, F>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::http::Method;

    fn get(path: &str) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn ok(body: &str) -> Answer {
        Answer::Http(Ok(Response {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }))
    }

    fn body(answer: Result<Answer, Error>) -> String {
        match answer {
            Ok(Answer::Http(Ok(r))) => String::from_utf8_lossy(&r.body).into_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn a_candidates_request_gets_the_same_requests_answer_else_the_same_places_each_once() {
        let tape = Tape::default();
        let req = |p: &str| TapedRequest::http("m3", &get(p));
        tape.keep(req("MI/Get?ITNO=A"), ok("a"));
        tape.keep(req("MI/Get?ITNO=B"), ok("b"));
        tape.keep(req("MI/Add?YREF=x"), ok("added"));
        // The very same request first, wherever it is on the tape.
        assert_eq!(body(tape.answer(req("MI/Get?ITNO=B"))), "b");
        // A request that differs in its query only: the first unused one to the same place.
        assert_eq!(body(tape.answer(req("MI/Add?YREF=X"))), "added");
        assert_eq!(body(tape.answer(req("MI/Get?ITNO=Z"))), "a");
        // Each live answer serves once; a request the live call never made is refused.
        let refused = body(tape.answer(req("MI/Get?ITNO=A")));
        assert!(refused.contains("never sends"), "{refused}");
        let elsewhere = body(tape.answer(TapedRequest::http("qw", &get("MI/Add?YREF=x"))));
        assert!(elsewhere.contains("on 'qw'"), "{elsewhere}");
        assert_eq!(tape.shadow_requests().len(), 5);
        assert_eq!(tape.live_requests().len(), 3);
    }

    #[test]
    fn sql_is_matched_on_its_whole_text_not_cut_at_its_first_placeholder() {
        let statement = |sql: &str| Statement {
            sql: sql.into(),
            params: Vec::new(),
        };
        let query = |sql: &str| TapedRequest::sql("qw", "QUERY", &[statement(sql)]);
        let tape = Tape::default();
        tape.keep(
            query("SELECT a FROM t WHERE id = ? AND x = 1"),
            Answer::Count(Ok(1)),
        );
        let other = tape.answer(query("SELECT a FROM t WHERE id = ? AND x = 2"));
        assert!(
            matches!(&other, Err(Error::Fatal(m)) if m.contains("never sends")),
            "{other:?}"
        );
        let same = tape.answer(query("SELECT a FROM t WHERE id = ? AND x = 1"));
        assert!(matches!(same, Ok(Answer::Count(Ok(1)))), "{same:?}");
    }
}
