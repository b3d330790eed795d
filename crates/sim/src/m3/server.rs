//! The M3 simulator's HTTP surface, laid out as the ION API gateway exposes M3:
//! `/{ti}/M3/m3api-rest/execute/{PGM}/{TRN}` (v1, matrix parameters),
//! `/{ti}/M3/m3api-rest/v2/execute/{PGM}/{TRN}` (v2), `POST /{ti}/M3/m3api-rest/v2/execute`
//! (bulk), and the authorization server under `/{ti}/as/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tower_http::limit::RequestBodyLimitLayer;

use super::faults::Faults;
use super::format::{self, OutputOpts};
use super::metadata::{Catalog, TransactionDef};
use super::oauth::{self, Credentials};
use super::transactions::{self, Ctx, Input, MiError, Record};
use super::{bods, control};

/// Records a List transaction returns when the caller gives no maxrecs (clients default to
/// 100; the server-side default is UNVERIFIED).
pub const DEFAULT_MAXRECS: usize = 100;

pub struct Sim {
    pub db: Mutex<Connection>,
    pub catalog: Catalog,
    pub tenant: String,
    pub credentials: Credentials,
    pub token_lifetime: Duration,
    pub refresh_lifetime: Duration,
    pub control_token: String,
    pub faults: Faults,
    pub bod_notify: Notify,
    /// MI REST requests received (v1, v2 and bulk POSTs alike): M3 round trips, for benchmarks.
    pub mi_requests: std::sync::atomic::AtomicU64,
}

pub type SimState = Arc<Sim>;

impl Sim {
    pub fn with_db<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> anyhow::Result<T> {
        let mut g = self
            .db
            .lock()
            .map_err(|_| anyhow::anyhow!("simulator database lock poisoned"))?;
        Ok(f(&mut g)?)
    }

    /// Run one MI transaction: metadata checks, program logic and BODs in one SQLite
    /// transaction. A failed batch-order call is also logged for LstErrMsgOrder.
    pub fn execute(
        &self,
        program: &str,
        transaction: &str,
        input: &Input,
        max_records: Option<usize>,
    ) -> Result<(&TransactionDef, Vec<Record>), MiError> {
        let def = transactions::precheck(&self.catalog, program, transaction, input)?;
        let mut guard = self
            .db
            .lock()
            .map_err(|_| MiError::nok("XSY0001", "", "Sandbox database unavailable"))?;
        let tx = guard.transaction()?;
        let mut ctx = Ctx {
            tx: &tx,
            events: Vec::new(),
            max_records,
        };
        match transactions::run(&mut ctx, def, input) {
            Ok(records) => {
                let events = std::mem::take(&mut ctx.events);
                let sent = bods::enqueue(&tx, &events)?;
                tx.commit()?;
                if sent > 0 {
                    self.bod_notify.notify_one();
                }
                Ok((def, records))
            }
            Err(err) => {
                drop(tx);
                if let Some(orno) = &err.batch_orno {
                    let tx60: String = err.message.chars().take(60).collect();
                    let _ = guard.execute(
                        "INSERT INTO batch_errors (orno, levl, msid, mdta, tx60) VALUES (?1, '1', ?2, ?3, ?4)",
                        params![orno, err.code, err.message, tx60],
                    );
                    if err.code == transactions::CREDIT_STOP {
                        let _ = guard.execute(
                            "UPDATE batch_heads SET state = 'credit-stop' WHERE orno = ?1 AND state = 'open'",
                            [orno],
                        );
                    }
                }
                Err(err)
            }
        }
    }

    /// Apply a change outside MI (control API, status clock) with the same BOD handling.
    pub fn change<T>(
        &self,
        f: impl FnOnce(&mut Ctx<'_, '_>) -> Result<T, MiError>,
    ) -> Result<T, MiError> {
        let mut guard = self
            .db
            .lock()
            .map_err(|_| MiError::nok("XSY0001", "", "Sandbox database unavailable"))?;
        let tx = guard.transaction()?;
        let mut ctx = Ctx {
            tx: &tx,
            events: Vec::new(),
            max_records: None,
        };
        let out = f(&mut ctx)?;
        let events = std::mem::take(&mut ctx.events);
        let sent = bods::enqueue(&tx, &events)?;
        tx.commit()?;
        if sent > 0 {
            self.bod_notify.notify_one();
        }
        Ok(out)
    }
}

async fn count_mi_requests(
    axum::extract::State(sim): axum::extract::State<SimState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    if req.uri().path().contains("/m3api-rest/") {
        sim.mi_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    next.run(req).await
}

pub fn router(state: SimState, max_body_bytes: usize) -> Router {
    let api = Router::new()
        .route("/{ti}/as/token.oauth2", post(oauth::token))
        .route("/{ti}/as/revoke_token.oauth2", post(oauth::revoke))
        .route("/{ti}/M3/m3api-rest/execute/{pgm}/{trn}", get(v1))
        .route("/{ti}/M3/m3api-rest/v2/execute/{pgm}/{trn}", get(v2))
        .route("/{ti}/M3/m3api-rest/v2/execute", post(bulk))
        .route("/{ti}/M3/m3api-rest/v2/execute/{pgm}", post(bulk_program))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::faults::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_mi_requests,
        ));
    Router::new()
        .merge(api)
        .merge(control::router(state.clone()))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .with_state(state)
}

/// Lower-case keys are MI options (maxrecs, returncols, …); upper-case keys are input fields.
fn split_params(
    pairs: impl IntoIterator<Item = (String, String)>,
) -> (HashMap<String, String>, HashMap<String, String>) {
    let mut opts = HashMap::new();
    let mut fields = HashMap::new();
    for (k, v) in pairs {
        if k.starts_with('_') {
            continue; // cache busters such as ODIN's _rid
        }
        if k.chars().any(|c| c.is_ascii_lowercase()) {
            opts.insert(k.to_ascii_lowercase(), v);
        } else {
            fields.insert(k, v);
        }
    }
    (opts, fields)
}

fn flag(opts: &HashMap<String, String>, names: &[&str], default: bool) -> bool {
    names
        .iter()
        .find_map(|n| opts.get(*n))
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(default)
}

/// maxrecs: absent = [`DEFAULT_MAXRECS`], 0 = all.
fn max_records(raw: Option<&String>) -> Result<Option<usize>, String> {
    match raw {
        None => Ok(Some(DEFAULT_MAXRECS)),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(format!("maxrecs must be a number, not '{v}'")),
        },
    }
}

fn return_cols(opts: &HashMap<String, String>) -> Option<Vec<String>> {
    opts.get("returncols").map(|c| {
        c.split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

fn bad_request(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "bad_request", "message": msg})),
    )
        .into_response()
}

fn check_tenant_and_token(
    state: &SimState,
    ti: &str,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    if ti != state.tenant {
        return Err(Box::new(
            (StatusCode::NOT_FOUND, "Unknown tenant\n").into_response(),
        ));
    }
    oauth::check_bearer(state, headers)
}

type Executed = Result<(TransactionDef, Vec<Record>), MiError>;

/// Run a transaction off the async runtime (a 100,000-item list takes a while).
async fn execute_blocking(
    state: &SimState,
    pgm: String,
    trn: String,
    input: Input,
    max: Option<usize>,
) -> Executed {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        st.execute(&pgm, &trn, &input, max)
            .map(|(d, r)| (d.clone(), r))
    })
    .await
    .unwrap_or_else(|_| Err(MiError::nok("XSY0001", "", "Sandbox transaction panicked")))
}

async fn v1(
    State(state): State<SimState>,
    Path((ti, pgm, trn_and_matrix)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_tenant_and_token(&state, &ti, &headers) {
        return *r;
    }
    let mut parts = trn_and_matrix.split(';');
    let trn = parts.next().unwrap_or("").to_string();
    let matrix = parts.filter_map(|p| {
        p.split_once('=')
            .map(|(k, v)| (k.to_string(), v.to_string()))
    });
    let (opts, fields) = split_params(matrix.chain(query));
    let max = match max_records(opts.get("maxrecs")) {
        Ok(m) => m,
        Err(e) => return bad_request(&e),
    };
    let out = OutputOpts {
        return_cols: return_cols(&opts),
        exclude_empty: flag(&opts, &["excludempty", "excludeempty"], false),
        pad: true,
        metadata: flag(&opts, &["metadata"], true),
    };
    // v1 reports a NOK with HTTP 200 (INFERRED in reference/m3-api.md §1.4).
    match execute_blocking(&state, pgm, trn, Input::new(fields), max).await {
        Ok((def, records)) => Json(format::v1_ok(&def, &records, &out)).into_response(),
        Err(err) => Json(format::v1_nok(&err)).into_response(),
    }
}

async fn v2(
    State(state): State<SimState>,
    Path((ti, pgm, trn)): Path<(String, String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_tenant_and_token(&state, &ti, &headers) {
        return *r;
    }
    let (opts, fields) = split_params(query);
    let max = match max_records(opts.get("maxrecs")) {
        Ok(m) => m,
        Err(e) => return bad_request(&e),
    };
    let out = OutputOpts {
        return_cols: return_cols(&opts),
        exclude_empty: flag(&opts, &["excludeempty", "excludempty"], false),
        pad: !flag(&opts, &["righttrim"], false),
        metadata: false,
    };
    match execute_blocking(&state, pgm, trn.clone(), Input::new(fields), max).await {
        Ok((def, records)) => {
            let recs = format::v2_records(&def, records, &out);
            Json(format::v2_envelope(
                vec![format::v2_result_ok(&trn, recs)],
                1,
                0,
            ))
            .into_response()
        }
        Err(err) => (
            StatusCode::BAD_REQUEST,
            Json(format::v2_single_error(&trn, &err)),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkRequest {
    program: Option<String>,
    exclude_empty_values: Option<bool>,
    right_trim: Option<bool>,
    max_returned_records: Option<usize>,
    #[serde(default)]
    transactions: Vec<BulkTransaction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkTransaction {
    transaction: String,
    #[serde(default)]
    record: serde_json::Map<String, Value>,
    selected_columns: Option<Vec<String>>,
}

async fn bulk(
    State(state): State<SimState>,
    Path(ti): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    run_bulk(state, ti, None, query, headers, body).await
}

/// `POST …/v2/execute/{PGM}` with the program in the path: accepted, though whether the real
/// gateway serves it is UNVERIFIED.
async fn bulk_program(
    State(state): State<SimState>,
    Path((ti, pgm)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    run_bulk(state, ti, Some(pgm), query, headers, body).await
}

async fn run_bulk(
    state: SimState,
    ti: String,
    path_program: Option<String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = check_tenant_and_token(&state, &ti, &headers) {
        return *r;
    }
    let req: BulkRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("invalid bulk request body: {e}")),
    };
    let Some(program) = req.program.clone().or(path_program) else {
        return bad_request("program is missing");
    };
    let (opts, _) = split_params(query);
    let max = match req.max_returned_records {
        Some(0) => None,
        Some(n) => Some(n),
        None => match max_records(opts.get("maxrecs")) {
            Ok(m) => m,
            Err(e) => return bad_request(&e),
        },
    };
    let exclude_empty = req
        .exclude_empty_values
        .unwrap_or_else(|| flag(&opts, &["excludeempty"], false));
    let pad = !req
        .right_trim
        .unwrap_or_else(|| flag(&opts, &["righttrim"], false));
    // Transactions run one by one, each committed on its own: a bulk call is not atomic and one
    // failure does not stop the rest (both UNVERIFIED, but the most plausible reading). All of
    // them in one blocking task: a task per transaction cost more than the transactions.
    let st = state.clone();
    let ran = tokio::task::spawn_blocking(move || {
        let (mut ok, mut failed, mut results) = (0, 0, Vec::new());
        for t in req.transactions {
            let fields: HashMap<String, String> = t
                .record
                .into_iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k, s)
                })
                .collect();
            let out = OutputOpts {
                return_cols: t.selected_columns,
                exclude_empty,
                pad,
                metadata: false,
            };
            // One transaction's panic is that transaction's error, as when each ran apart.
            let executed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                st.execute(&program, &t.transaction, &Input::new(fields), max)
            }))
            .unwrap_or_else(|_| Err(MiError::nok("XSY0001", "", "Sandbox transaction panicked")));
            match executed {
                Ok((def, records)) => {
                    ok += 1;
                    results.push(format::v2_result_ok(
                        &t.transaction,
                        format::v2_records(def, records, &out),
                    ));
                }
                Err(err) => {
                    failed += 1;
                    results.push(format::v2_result_err(&t.transaction, &err));
                }
            }
        }
        (ok, failed, results)
    })
    .await;
    let Ok((ok, failed, results)) = ran else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the bulk request stopped (simulator panic)\n",
        )
            .into_response();
    };
    Json(format::v2_envelope(results, ok, failed)).into_response()
}
