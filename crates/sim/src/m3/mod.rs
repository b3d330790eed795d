//! Infor M3 simulator: MI REST v1/v2/bulk behind an ION-API-style OAuth server, seeded master
//! data, batch order entry, order status progression, BOD publishing and fault injection.
//! Start it in-process with [`M3Sim::start`] or from the CLI with [`run_m3`].

mod bods;
mod conn;
mod control;
mod data;
mod depth;
mod faults;
mod format;
mod master;
pub mod metadata;
mod oauth;
mod server;
mod transactions;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;

pub use control::{BodRecord, CreditChange, CustomerChange, ItemChange, StateSummary, StockChange};
pub use data::{DB_FILE, OrderLineRecord, OrderRecord, read_orders_from_state_dir};
pub use depth::{
    OrderAddress, OrderCharge, OrderDepth, OrderText, read_order_depth_from_state_dir,
};
pub use faults::{FaultConfig, FaultKind, Latency, QueuedFault};
pub use master::{BalanceRecord, CustomerRecord, ItemRecord};
pub use oauth::IonApi;
pub use server::DEFAULT_MAXRECS;

use oauth::Credentials;
use server::{Sim, SimState};

/// `ferry sim m3` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct M3SimArgs {
    /// Port to listen on (0 = pick a free one; the READY line tells which).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Directory for the simulator's SQLite state (kept across restarts). Default: a temp dir.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Write a matching .ionapi file here.
    #[arg(long)]
    pub ionapi_out: Option<PathBuf>,
    /// Items to seed (50 = demo; up to 100,000 and more).
    #[arg(long, default_value_t = 50)]
    pub items: usize,
    /// Customers to seed.
    #[arg(long, default_value_t = 20)]
    pub customers: usize,
    /// Seed for the deterministic data (share it with `ferry sim quotewerks`).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Tenant id (`ti`), the first path segment.
    #[arg(long, default_value = "FERRY_TST")]
    pub tenant: String,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_lifetime_secs: u64,
    /// Refresh token lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub refresh_lifetime_secs: u64,
    /// Bearer token for /_control (generated when not given).
    #[arg(long, env = "FERRY_SANDBOX_CONTROL_TOKEN")]
    pub control_token: Option<String>,
    /// Where to POST BODs (an IMS-compatible multipart endpoint). None = BODs stay in the outbox.
    #[arg(long)]
    pub bod_endpoint: Option<String>,
    /// Bearer token sent with BODs.
    #[arg(long, env = "FERRY_SANDBOX_BOD_TOKEN")]
    pub bod_token: Option<String>,
    /// Advance every open order one status step this often (0 = only on a control call).
    #[arg(long, default_value_t = 0)]
    pub status_clock_secs: u64,
    /// Largest accepted request body.
    #[arg(long, default_value_t = 1_048_576)]
    pub max_body_bytes: usize,
    /// Added latency per MI call: MS or MIN-MAX (uniform).
    #[arg(long)]
    pub fault_latency_ms: Option<Latency>,
    /// Probability (0..1) of answering 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub fault_429_rate: f64,
    /// Probability of answering 500.
    #[arg(long, default_value_t = 0.0)]
    pub fault_500_rate: f64,
    /// Probability of answering 503.
    #[arg(long, default_value_t = 0.0)]
    pub fault_503_rate: f64,
    /// Probability of resetting the connection before processing.
    #[arg(long, default_value_t = 0.0)]
    pub fault_reset_rate: f64,
    /// Probability of processing the call, then resetting instead of answering.
    #[arg(long, default_value_t = 0.0)]
    pub fault_drop_response_rate: f64,
    /// Probability of processing the call, then answering 503 (a gateway after a performed write).
    #[arg(long, default_value_t = 0.0)]
    pub fault_503_after_write_rate: f64,
    /// Retry-After seconds sent with 429/503.
    #[arg(long, default_value_t = 2)]
    pub fault_retry_after_secs: u64,
    /// Restrict rate/latency faults to a target: PGM/TRN, PGM, bulk, oauth or *.
    #[arg(long)]
    pub fault_target: Option<String>,
    /// Seed for the fault dice.
    #[arg(long, default_value_t = 1)]
    pub fault_seed: u64,
    /// Answer this transaction (PGM/TRN) TransactionNotFound, as an older M3 without it does
    /// (repeatable).
    #[arg(long = "without-transaction", value_name = "PGM/TRN")]
    pub without_transactions: Vec<String>,
}

impl Default for M3SimArgs {
    fn default() -> Self {
        Self {
            port: 0,
            bind: "127.0.0.1".into(),
            state: None,
            ionapi_out: None,
            items: 50,
            customers: 20,
            seed: 42,
            tenant: "FERRY_TST".into(),
            token_lifetime_secs: 3600,
            refresh_lifetime_secs: 86_400,
            control_token: None,
            bod_endpoint: None,
            bod_token: None,
            status_clock_secs: 0,
            max_body_bytes: 1_048_576,
            fault_latency_ms: None,
            fault_429_rate: 0.0,
            fault_500_rate: 0.0,
            fault_503_rate: 0.0,
            fault_reset_rate: 0.0,
            fault_drop_response_rate: 0.0,
            fault_503_after_write_rate: 0.0,
            fault_retry_after_secs: 2,
            fault_target: None,
            fault_seed: 1,
            without_transactions: Vec::new(),
        }
    }
}

impl M3SimArgs {
    fn fault_config(&self) -> FaultConfig {
        FaultConfig {
            latency: self.fault_latency_ms,
            rate_429: self.fault_429_rate,
            rate_500: self.fault_500_rate,
            rate_503: self.fault_503_rate,
            rate_reset: self.fault_reset_rate,
            rate_drop_response: self.fault_drop_response_rate,
            rate_503_after_write: self.fault_503_after_write_rate,
            retry_after_secs: Some(self.fault_retry_after_secs),
            target: self.fault_target.clone(),
            queue: Vec::new(),
        }
    }
}

/// In-process configuration: the same knobs as the CLI.
pub type M3SimConfig = M3SimArgs;

pub struct M3Sim;

/// A running M3 simulator.
pub struct M3SimHandle {
    /// `http://127.0.0.1:PORT` (the `.ionapi` `iu`).
    pub base_url: String,
    pub tenant: String,
    pub ionapi: IonApi,
    /// Where the `.ionapi` file was written (`--ionapi-out`, else `<state>/sandbox.ionapi`).
    pub ionapi_path: PathBuf,
    pub control_token: String,
    pub state_dir: PathBuf,
    pub addr: SocketAddr,
    sim: SimState,
    shutdown: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl M3SimHandle {
    /// `{base}/{ti}/M3/m3api-rest` — append `/execute/…` (v1) or `/v2/execute/…`.
    pub fn api_base(&self) -> String {
        format!("{}/{}/M3/m3api-rest", self.base_url, self.tenant)
    }

    pub fn token_url(&self) -> String {
        self.ionapi.token_url()
    }

    pub fn ionapi_json(&self) -> String {
        serde_json::to_string_pretty(&self.ionapi).unwrap_or_default()
    }

    pub fn db_path(&self) -> PathBuf {
        self.state_dir.join(DB_FILE)
    }

    /// MI REST requests served so far (M3 round trips), faults included.
    pub fn mi_requests(&self) -> u64 {
        self.sim
            .mi_requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// MI requests per wall-clock second, `(unix second, requests)` (M3's per-tenant limit
    /// counts these).
    pub fn requests_per_second(&self) -> Vec<(u64, u64)> {
        self.sim.faults.per_second()
    }

    pub fn orders(&self) -> anyhow::Result<Vec<OrderRecord>> {
        self.sim.orders()
    }

    /// Every item with its balances (the syncs' source).
    pub fn items(&self) -> anyhow::Result<Vec<ItemRecord>> {
        self.sim.with_db(|db| master::read_items(db))
    }

    /// Every customer but the templates.
    pub fn customers(&self) -> anyhow::Result<Vec<CustomerRecord>> {
        self.sim.with_db(|db| master::read_customers(db))
    }

    pub fn order_count(&self) -> anyhow::Result<usize> {
        Ok(self.sim.summary()?.orders as usize)
    }

    /// Orders whose CUOR (customer's PO number) is `cuor`; exactly-once tests expect one.
    pub fn orders_by_cuor(&self, cuor: &str) -> anyhow::Result<Vec<OrderRecord>> {
        Ok(self
            .orders()?
            .into_iter()
            .filter(|o| o.cuor == cuor)
            .collect())
    }

    pub fn summary(&self) -> anyhow::Result<StateSummary> {
        self.sim.summary()
    }

    pub fn bods(&self) -> anyhow::Result<Vec<BodRecord>> {
        self.sim.bods()
    }

    pub fn set_faults(&self, config: FaultConfig) {
        self.sim.faults.set(config);
    }

    pub fn push_fault(&self, fault: QueuedFault) {
        self.sim.faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.sim.faults.set(FaultConfig::default());
    }

    pub fn expire_tokens(&self) -> anyhow::Result<usize> {
        oauth::expire_all(&self.sim)
    }

    /// Advance an order one status step (or to `to`); returns the new status.
    pub fn advance_order(&self, orno: &str, to: Option<&str>) -> anyhow::Result<String> {
        self.sim
            .advance_order(orno, to)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub fn advance_all_orders(&self) -> anyhow::Result<usize> {
        self.sim.advance_all_orders()
    }

    pub fn change_item(&self, itno: &str, change: &ItemChange) -> anyhow::Result<()> {
        self.sim
            .change_item(itno, change)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    pub fn change_customer(&self, cuno: &str, change: &CustomerChange) -> anyhow::Result<()> {
        self.sim
            .change_customer(cuno, change)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Sets a customer's credit limit 3 and outstanding invoices.
    pub fn set_credit(&self, cuno: &str, change: &CreditChange) -> anyhow::Result<()> {
        self.sim
            .set_credit(cuno, change)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The READY payload printed by the CLI.
    pub fn ready_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sim": "m3",
            "base_url": self.base_url,
            "tenant": self.tenant,
            "api_base": self.api_base(),
            "token_url": self.token_url(),
            "ionapi_path": self.ionapi_path,
            "control_token": self.control_token,
            "state_dir": self.state_dir,
        })
    }

    /// Stop serving and wait for the server to finish; the state stays on disk.
    pub async fn shutdown(mut self) {
        self.shutdown.notify_waiters();
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for M3SimHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn load_or_create_credentials(
    conn: &rusqlite::Connection,
    tenant: &str,
) -> anyhow::Result<Credentials> {
    let get = |key: &str, make: &dyn Fn() -> String| -> anyhow::Result<String> {
        if let Some(v) = data::meta_get(conn, key)? {
            return Ok(v);
        }
        let v = make();
        data::meta_set(conn, key, &v)?;
        Ok(v)
    };
    use crate::util::random_token;
    Ok(Credentials {
        client_id: get("oauth.client_id", &|| {
            format!("{tenant}~{}", random_token(20))
        })?,
        client_secret: get("oauth.client_secret", &|| random_token(32))?,
        saak: get("oauth.saak", &|| format!("{tenant}#{}", random_token(24)))?,
        sask: get("oauth.sask", &|| random_token(32))?,
    })
}

impl M3Sim {
    /// Seed (first time only), bind, and serve in the background.
    pub async fn start(config: M3SimConfig) -> anyhow::Result<M3SimHandle> {
        let (state_dir, temp) = match &config.state {
            Some(d) => {
                std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let db_path = state_dir.join(DB_FILE);
        let (seed, items, customers) = (config.seed, config.items, config.customers);
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<rusqlite::Connection> {
            let mut conn = data::open(&db_path)?;
            data::seed_if_empty(&mut conn, seed, items, customers)?;
            Ok(conn)
        })
        .await??;
        let credentials = load_or_create_credentials(&conn, &config.tenant)?;
        let listener = tokio::net::TcpListener::bind((config.bind.as_str(), config.port))
            .await
            .with_context(|| format!("binding {}:{}", config.bind, config.port))?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let ionapi = IonApi {
            ti: config.tenant.clone(),
            cn: "Ferry M3 sandbox".into(),
            dt: "12".into(),
            ci: credentials.client_id.clone(),
            cs: credentials.client_secret.clone(),
            iu: base_url.clone(),
            pu: format!("{base_url}/{}/as/", config.tenant),
            oa: "authorization.oauth2".into(),
            ot: "token.oauth2".into(),
            or: "revoke_token.oauth2".into(),
            ev: "U00000001".into(),
            v: "1.0".into(),
            saak: credentials.saak.clone(),
            sask: credentials.sask.clone(),
        };
        let ionapi_path = config
            .ionapi_out
            .clone()
            .unwrap_or_else(|| state_dir.join("sandbox.ionapi"));
        write_ionapi(&ionapi_path, &ionapi)?;
        let control_token = config
            .control_token
            .clone()
            .unwrap_or_else(|| crate::util::random_token(24));
        let catalog = metadata::Catalog::load();
        // A misspelt transaction would leave the simulator serving it: an "older M3" that is not.
        if let Some(unknown) = config
            .without_transactions
            .iter()
            .find(|p| catalog.get_path(p).is_none())
        {
            anyhow::bail!(
                "--without-transaction {unknown}: no such transaction (PGM/TRN, for example OIS100MI/LstNewBalances)"
            );
        }
        let sim: SimState = Arc::new(Sim {
            db: Mutex::new(conn),
            catalog: catalog.without(&config.without_transactions),
            tenant: config.tenant.clone(),
            credentials,
            token_lifetime: Duration::from_secs(config.token_lifetime_secs),
            refresh_lifetime: Duration::from_secs(config.refresh_lifetime_secs),
            control_token: control_token.clone(),
            faults: faults::Faults::new(config.fault_config(), config.fault_seed),
            bod_notify: Notify::new(),
            mi_requests: std::sync::atomic::AtomicU64::new(0),
        });
        let app = server::router(sim.clone(), config.max_body_bytes);
        let shutdown = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        let sd = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let make = app.into_make_service_with_connect_info::<conn::ConnKill>();
            let serve = axum::serve(conn::KillableListener(listener), make)
                .with_graceful_shutdown(async move { sd.notified().await });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "M3 simulator server stopped");
            }
        }));
        if let Some(endpoint) = config.bod_endpoint.clone() {
            tasks.push(tokio::spawn(bods::publisher(
                sim.clone(),
                endpoint,
                config.bod_token.clone(),
            )));
        }
        if config.status_clock_secs > 0 {
            let s = sim.clone();
            let every = Duration::from_secs(config.status_clock_secs);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let s2 = s.clone();
                    match tokio::task::spawn_blocking(move || s2.advance_all_orders()).await {
                        Ok(Ok(n)) if n > 0 => {
                            tracing::info!(orders = n, "status clock advanced orders")
                        }
                        Ok(Err(e)) => tracing::warn!(error = %e, "status clock failed"),
                        _ => {}
                    }
                }
            }));
        }
        Ok(M3SimHandle {
            base_url,
            tenant: config.tenant.clone(),
            ionapi,
            ionapi_path,
            control_token,
            state_dir,
            addr,
            sim,
            shutdown,
            tasks,
            _temp: temp,
        })
    }
}

fn write_ionapi(path: &Path, ionapi: &IonApi) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(ionapi)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// `ferry sim m3`: start, print `READY {json}`, serve until Ctrl-C.
pub async fn run_m3(args: M3SimArgs) -> anyhow::Result<()> {
    let h = M3Sim::start(args).await?;
    crate::util::print_ready(&h.ready_json());
    let s = h.summary()?;
    println!(
        "M3 simulator listening on {} (tenant {})",
        h.base_url, h.tenant
    );
    println!(
        "  MI REST:   {}/execute/{{PGM}}/{{TRN}}  and  {}/v2/execute",
        h.api_base(),
        h.api_base()
    );
    println!("  .ionapi:   {}", h.ionapi_path.display());
    println!(
        "  state:     {} ({} items, {} customers, {} orders)",
        h.state_dir.display(),
        s.items,
        s.customers,
        s.orders
    );
    println!(
        "  control:   {}/_control/state  (Authorization: Bearer {})",
        h.base_url, h.control_token
    );
    crate::util::shutdown_signal().await;
    h.shutdown().await;
    Ok(())
}
