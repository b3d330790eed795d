//! The whole system as a user runs it: the stack harness (`ferry_sim::stack`) starts M3 and
//! QuoteWerks and writes the config; this layer runs the real `ferry serve` on it as a process
//! of its own (so a test can kill -9 it and start it again) and reads the outcome.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferry_sim::m3::{M3SimHandle, OrderRecord};
use ferry_sim::quotewerks::{NewQuote, QuoteWerksSimHandle};
use ferry_sim::stack::{Catalog, FerrySettings, Retry, SimStack, StackOptions};
use ferry_store::testing::pg::PgCluster;
use ferry_store::{Jobs, PgStore};

use crate::{Running, spawn_raw, spawn_raw_env};

pub use ferry_sim::stack::{READY, TRANSFERRED};

pub const TENANT: &str = "acme";
pub const SEED: u64 = 42;
pub const ITEMS: usize = 120;
pub const CUSTOMERS: usize = 30;
/// The bearer token ION must present on `/ion/{tenant}/events`.
pub const ION_TOKEN: &str = "test-ion-token-9876543210";

/// Where `ferry serve` keeps its jobs: the SQLite file in its data directory (the default), or
/// a fresh database in the test process's throwaway PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

pub struct Stack {
    /// Dropped first: a test never leaks a server.
    pub ferry: Option<Running>,
    /// On PostgreSQL: the database's URL (`FERRY_DATABASE_URL` for every start) and the test's
    /// own handle on it, to read the jobs back.
    pg: Option<(String, PgStore)>,
    pub m3: M3SimHandle,
    pub qw: QuoteWerksSimHandle,
    pub config: PathBuf,
    pub data: PathBuf,
    ferry_url: String,
    http: reqwest::blocking::Client,
    /// Runs the simulators; dropped after them.
    _runtime: tokio::runtime::Runtime,
    /// Removed last, once nothing writes into it.
    pub dir: tempfile::TempDir,
}

pub struct Options<'a> {
    /// `ferry sim m3` flags: faults, latency.
    pub m3_flags: &'a [&'a str],
    pub create_customers: bool,
    /// The M3 connector's order entry: `batch` (a call per line) or `bulk` (lines in one POST).
    pub order_entry: &'a str,
}

impl Options<'_> {
    /// The e2e tenant: a bigger catalog than the demo's, no seeded quotes (each test makes its
    /// own), fast polls and retries, M3's status polled every second and its BODs left in its
    /// outbox (tests post them themselves).
    fn stack(&self, dir: PathBuf) -> StackOptions {
        StackOptions {
            dir: Some(dir),
            plugins: crate::plugin_dir(),
            tenant: TENANT.into(),
            catalog: Catalog {
                seed: SEED,
                items: ITEMS,
                customers: CUSTOMERS,
            },
            quotes: 0,
            bad_quotes: false,
            m3: ferry_sim::stack::m3_from_flags(self.m3_flags)
                .unwrap_or_else(|e| panic!("m3 flags {:?}: {e}", self.m3_flags)),
            bods_to_ferry: false,
            ion_token: Some(ION_TOKEN.into()),
            webhook_secret: None,
            ferry: FerrySettings {
                workers: 8,
                call_deadline_ms: Some(20_000),
                m3_timeout_ms: Some(5000),
                poll_interval_secs: 2,
                status_poll_secs: Some(1),
                create_customers: self.create_customers,
                retry: Retry {
                    initial_interval_ms: 50,
                    maximum_interval_ms: 1000,
                    maximum_attempts: 40,
                },
                erp_settings: vec![
                    ("customer_template".into(), "TEMPLATE".into()),
                    ("order_entry".into(), self.order_entry.into()),
                ],
            },
        }
    }
}

impl Stack {
    pub fn start(opts: Options<'_>) -> Stack {
        Stack::start_on(opts, StoreKind::Sqlite)
    }

    /// As [`Stack::start`], with `ferry serve`'s store on `store`.
    pub fn start_on(opts: Options<'_>, store: StoreKind) -> Stack {
        let (mut stack, listener) = Stack::simulators(opts);
        // `ferry serve` binds the address itself.
        drop(listener);
        if store == StoreKind::Postgres {
            stack.use_postgres();
        }
        stack.start_ferry();
        stack
    }

    /// Points the config at a fresh database of the process's throwaway PostgreSQL, by
    /// reference as README shows (`store = { env = "FERRY_DATABASE_URL" }`).
    fn use_postgres(&mut self) {
        let url = self
            .runtime()
            .block_on(PgCluster::shared().database())
            .expect("a database");
        let store = self
            .runtime()
            .block_on(PgStore::open(&url))
            .expect("the database");
        let config = std::fs::read_to_string(&self.config).expect("config");
        std::fs::write(
            &self.config,
            format!("store = {{ env = \"FERRY_DATABASE_URL\" }}\n{config}"),
        )
        .expect("config");
        self.pg = Some((url, store));
    }

    /// The simulators and the config, without a `ferry serve`: for tests that run nodes of
    /// their own. The listener is bound on the config's Ferry address, where QuoteWerks sends
    /// its webhooks (serve it, or drop it).
    pub fn simulators(opts: Options<'_>) -> (Stack, std::net::TcpListener) {
        Stack::simulators_with_items(opts, ITEMS)
    }

    /// [`Stack::simulators`] with `items` items seeded in both simulators (the scale tests).
    pub fn simulators_with_items(
        opts: Options<'_>,
        items: usize,
    ) -> (Stack, std::net::TcpListener) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut options = opts.stack(dir.path().to_path_buf());
        options.catalog.items = items;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let SimStack {
            m3,
            qw,
            config_path,
            data_dir,
            ferry_url,
            ferry_listener,
            ..
        } = runtime
            .block_on(SimStack::start(options))
            .expect("the stack's simulators");
        let stack = Stack {
            ferry: None,
            pg: None,
            m3,
            qw,
            config: config_path,
            data: data_dir,
            ferry_url,
            http: reqwest::blocking::Client::new(),
            _runtime: runtime,
            dir,
        };
        (
            stack,
            ferry_listener.expect("the stack binds Ferry's address"),
        )
    }

    /// The runtime the simulators run on, for a test's own tasks beside them.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self._runtime.handle()
    }

    pub fn start_ferry(&mut self) {
        let config = self.config.to_str().expect("utf-8").to_string();
        let args = ["--config".into(), config, "serve".into()];
        self.ferry = Some(match &self.pg {
            Some((url, _)) => spawn_raw_env(
                self.dir.path(),
                &args,
                &[("FERRY_DATABASE_URL", url.as_ref())],
            ),
            None => spawn_raw(self.dir.path(), &args),
        });
    }

    /// SIGKILL, as a crash would.
    pub fn kill_ferry(&mut self) {
        if let Some(mut f) = self.ferry.take() {
            f.kill();
        }
    }

    /// `ferry --config <the stack's config> ARGS` on the stack's data directory (what an
    /// operator runs beside the server).
    pub fn ferry(&self, args: &[&str]) -> crate::Run {
        let config = self.config.to_str().expect("utf-8");
        let mut all = vec!["--config", config];
        all.extend_from_slice(args);
        crate::ferry(&self.data, &all)
    }

    /// [`Stack::ferry`], which must exit 0.
    pub fn cli(&self, args: &[&str]) -> crate::Run {
        self.ferry(args).expect_code(0)
    }

    /// `ferry plugin install FILE` for the stack's tenant and `role` (not activated): the
    /// installed component's digest.
    pub fn install(&self, file: &std::path::Path, role: &str) -> String {
        let installed = self.cli(&[
            "plugin",
            "install",
            file.to_str().expect("utf-8"),
            "--tenant",
            TENANT,
            "--role",
            role,
        ]);
        installed
            .stdout
            .split_whitespace()
            .nth(1)
            .expect("installed DIGEST")
            .to_string()
    }

    pub fn ferry_url(&self) -> String {
        self.ferry_url.clone()
    }

    /// Posts a BOD to the tenant's ERP events endpoint as ION does (bearer token, bare XML):
    /// the status and the JSON answer; Err when Ferry is not listening.
    pub fn post_bod(&self, bod: &str) -> reqwest::Result<(u16, serde_json::Value)> {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/ion/{TENANT}/events", self.ferry_url()))
            .bearer_auth(ION_TOKEN)
            .header("content-type", "application/xml")
            .body(bod.to_string())
            .send()?;
        let status = r.status().as_u16();
        Ok((status, r.json().unwrap_or(serde_json::Value::Null)))
    }

    fn qw_control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let url = format!("{}{path}", self.qw.base_url);
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.qw.control_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("quotewerks control");
        let status = resp.status();
        let json: serde_json::Value = resp.json().unwrap_or(serde_json::Value::Null);
        assert!(
            status.is_success(),
            "quotewerks control {path}: {status} {json}"
        );
        json
    }

    /// Creates a quote in QuoteWerks; returns (document id, DocNo).
    pub fn create_quote(&self, quote: &NewQuote) -> (i64, String) {
        let body = serde_json::to_value(quote).expect("quote json");
        let r = self.qw_control(reqwest::Method::POST, "/_control/quotes", Some(body));
        (
            r["id"].as_i64().expect("id"),
            r["doc_no"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// A sales rep sets the document's status (QuoteWerks fires its webhook).
    pub fn set_status(&self, id: i64, status: &str) {
        self.qw_control(
            reqwest::Method::POST,
            &format!("/_control/documents/{id}/status"),
            Some(serde_json::json!({"status": status})),
        );
    }

    pub fn document(&self, id: i64) -> serde_json::Value {
        self.qw_control(
            reqwest::Method::GET,
            &format!("/_control/documents/{id}"),
            None,
        )
    }

    pub fn m3_control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let url = format!("{}{path}", self.m3.base_url);
        let resp = self
            .http
            .request(method, url)
            .bearer_auth(&self.m3.control_token)
            .json(&body)
            .send()
            .expect("m3 control");
        let status = resp.status();
        let json: serde_json::Value = resp.json().unwrap_or(serde_json::Value::Null);
        assert!(status.is_success(), "m3 control {path}: {status} {json}");
        json
    }

    /// M3's orders, read from its state database (works whatever Ferry is doing).
    pub fn m3_orders(&self) -> Vec<OrderRecord> {
        ferry_sim::m3::read_orders_from_state_dir(&self.m3.state_dir).expect("m3 orders")
    }

    /// Job states in Ferry's store: (key, state, hold reason).
    pub fn jobs(&self) -> Vec<(String, String, Option<String>)> {
        if let Some((_, store)) = &self.pg {
            let mut jobs = self
                .runtime()
                .block_on(store.jobs(None, None))
                .expect("jobs");
            jobs.sort_by_key(|j| j.id);
            return jobs
                .into_iter()
                .map(|j| {
                    let state = j.state.as_str().to_string();
                    let why = j
                        .hold_reason
                        .or(if state == "dead" { j.last_error } else { None });
                    (j.key, state, why)
                })
                .collect();
        }
        let path = ferry_layout::DataDir::new(&self.data).db();
        if !path.exists() {
            return Vec::new();
        }
        let db = rusqlite::Connection::open(path).expect("open the job database");
        let mut st = db.prepare("SELECT key, state, coalesce(hold_reason, CASE WHEN state = 'dead' THEN last_error END) FROM jobs ORDER BY id").expect("prepare");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Waits until `n` jobs are finished (done, held or dead) or `limit` passes.
    pub fn settle(&self, n: usize, limit: Duration) -> Vec<(String, String, Option<String>)> {
        let start = Instant::now();
        loop {
            let jobs = self.jobs();
            let finished = jobs
                .iter()
                .filter(|(_, s, _)| s == "done" || s == "held" || s == "dead")
                .count();
            if finished >= n {
                return jobs;
            }
            assert!(
                start.elapsed() < limit,
                "only {finished} of {n} jobs finished in {limit:?}: {:?}",
                jobs.iter()
                    .filter(|j| j.1 != "done")
                    .take(5)
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
