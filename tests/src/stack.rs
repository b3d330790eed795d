//! The whole system as a user runs it: `ferry sim m3`, `ferry sim quotewerks` and `ferry serve`
//! as separate processes on loopback, wired by a generated config.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_sim::m3::OrderRecord;
use ferry_sim::quotewerks::NewQuote;

use crate::{Running, plugin, spawn_raw};

pub const TENANT: &str = "acme";
pub const READY: &str = "3-Manager Approved";
pub const TRANSFERRED: &str = "5-Order Created in M3";
pub const SEED: u64 = 42;
pub const ITEMS: usize = 120;
pub const CUSTOMERS: usize = 30;
/// The bearer token ION must present on `/ion/{tenant}/events`.
pub const ION_TOKEN: &str = "test-ion-token-9876543210";

pub struct Stack {
    pub dir: tempfile::TempDir,
    pub m3: Running,
    pub qw: Running,
    pub ferry: Option<Running>,
    pub config: PathBuf,
    pub data: PathBuf,
    ferry_port: u16,
    http: reqwest::blocking::Client,
}

pub struct Options<'a> {
    pub m3_flags: &'a [&'a str],
    pub create_customers: bool,
    /// The M3 connector's order entry: `batch` (a call per line) or `bulk` (lines in one POST).
    pub order_entry: &'a str,
}

impl Stack {
    pub fn start(opts: Options<'_>) -> Stack {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path().to_path_buf();
        let s = |p: &Path| p.to_str().expect("utf-8 path").to_string();
        let (items, customers, seed) = (ITEMS.to_string(), CUSTOMERS.to_string(), SEED.to_string());
        let mut m3_args = vec![
            "sim".to_string(),
            "m3".into(),
            "--state".into(),
            s(&d.join("m3")),
            "--ionapi-out".into(),
            s(&d.join("m3.ionapi")),
            "--items".into(),
            items.clone(),
            "--customers".into(),
            customers.clone(),
            "--seed".into(),
            seed.clone(),
        ];
        m3_args.extend(opts.m3_flags.iter().map(|f| f.to_string()));
        let m3 = spawn_raw(&d, &m3_args);
        // Ferry's port is fixed before QuoteWerks starts: it is the webhook target.
        let ferry_port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let secret = "test-webhook-secret-0123456789";
        std::fs::write(d.join("webhook.secret"), secret).expect("secret");
        std::fs::write(d.join("ion.secret"), ION_TOKEN).expect("ion secret");
        let qw = spawn_raw(
            &d,
            &[
                "sim".into(),
                "quotewerks".into(),
                "--db".into(),
                s(&d.join("qw.db")),
                "--quotes".into(),
                "0".into(),
                "--webhook".into(),
                format!("http://127.0.0.1:{ferry_port}/hooks/{TENANT}/quotewerks"),
                "--secret".into(),
                secret.into(),
                "--m3-items".into(),
                items,
                "--m3-customers".into(),
                customers,
                "--seed".into(),
                seed,
            ],
        );
        let config = d.join("ferry.toml");
        std::fs::write(
            &config,
            format!(
                r#"
data_dir = "data"
[server]
listen = "127.0.0.1:{ferry_port}"
workers = 8
[runtime]
call_deadline_ms = 20000
[tenants.{TENANT}.connections.m3]
kind = "http"
ionapi = {{ file = "m3.ionapi" }}
timeout_ms = 5000
[tenants.{TENANT}.connections.quotewerks]
kind = "sqlite"
path = "qw.db"
[tenants.{TENANT}.host]
webhook_secret = {{ file = "webhook.secret" }}
webhook_header = "X-QuoteWerks-Secret"
ion_token = {{ file = "ion.secret" }}
[tenants.{TENANT}.quote_to_order]
ready_status = "{READY}"
poll_interval_secs = 2
create_customers = {create}
transferred_status = "{TRANSFERRED}"
status_poll_secs = 1
status_names = {{ "33" = "6-M3 Allocated", "44" = "7-M3 Picked", "66" = "8-M3 Delivered", "77" = "9-M3 Invoiced" }}
[tenants.{TENANT}.retry]
initial_interval_ms = 50
maximum_interval_ms = 1000
maximum_attempts = 40
[tenants.{TENANT}.plugins.erp]
file = "{erp}"
connections = ["m3"]
settings = {{ customer_template = "TEMPLATE", order_entry = "{entry}" }}
[tenants.{TENANT}.plugins.quoting]
file = "{quoting}"
connections = ["quotewerks"]
settings = {{ ready_status = "{READY}", transferred_status = "{TRANSFERRED}" }}
[tenants.{TENANT}.plugins.transform]
file = "{transform}"
prepare = true
"#,
                create = opts.create_customers,
                entry = opts.order_entry,
                erp = plugin("m3_connector").display(),
                quoting = plugin("quotewerks_connector").display(),
                transform = plugin("ferry_mapping").display(),
            ),
        )
        .expect("config");
        let mut stack = Stack {
            data: d.join("data"),
            dir,
            m3,
            qw,
            ferry: None,
            config,
            ferry_port,
            http: reqwest::blocking::Client::new(),
        };
        stack.start_ferry();
        stack
    }

    pub fn start_ferry(&mut self) {
        let config = self.config.to_str().expect("utf-8").to_string();
        self.ferry = Some(spawn_raw(
            self.dir.path(),
            &["--config".into(), config, "serve".into()],
        ));
    }

    /// SIGKILL, as a crash would.
    pub fn kill_ferry(&mut self) {
        if let Some(mut f) = self.ferry.take() {
            f.kill();
        }
    }

    pub fn ferry_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ferry_port)
    }

    fn qw_control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let url = format!(
            "{}{path}",
            self.qw.ready["base_url"].as_str().unwrap_or_default()
        );
        let token = self.qw.ready["control_token"].as_str().unwrap_or_default();
        let mut req = self.http.request(method, url).bearer_auth(token);
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
        let url = format!(
            "{}{path}",
            self.m3.ready["base_url"].as_str().unwrap_or_default()
        );
        let token = self.m3.ready["control_token"].as_str().unwrap_or_default();
        let resp = self
            .http
            .request(method, url)
            .bearer_auth(token)
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
        ferry_sim::m3::read_orders_from_state_dir(&self.dir.path().join("m3")).expect("m3 orders")
    }

    /// Job states in Ferry's store: (key, state, hold reason).
    pub fn jobs(&self) -> Vec<(String, String, Option<String>)> {
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
