//! QuoteWerks simulator: QuoteWerks' own tables in a SQLite file (what integrators read and
//! write), seeded with quotes for the M3 simulator's customers and items, a webhook emitter that
//! fires on status changes, and a control API to act as a sales rep.
//! Start it in-process with [`QuoteWerksSim::start`] or from the CLI with [`run_quotewerks`].

pub mod contacts;
mod control;
mod documents;
pub mod samples;
pub mod schema;
pub mod seed;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::Notify;

pub use control::{QwError, StatusChange, WebhookDelivery};
pub use documents::{
    DocRef, DocSummary, Document, NewLine, NewQuote, SoldTo, apply_price_modifier,
};
pub use webhook::{DEFAULT_EVENT, DEFAULT_SECRET_HEADER, DEFAULT_TEMPLATE, WebhookConfig};

use control::{Qw, QwState};

/// `ferry sim quotewerks` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct QuoteWerksSimArgs {
    /// The QuoteWerks database file (SQLite). Default: a temp file. Kept across restarts.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Webhook URL: a webhook fires when a document's status changes.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Shared secret sent in the webhook's custom header.
    #[arg(long, env = "FERRY_SANDBOX_QW_SECRET")]
    pub secret: Option<String>,
    /// Name of the custom header that carries the secret.
    #[arg(long, default_value = DEFAULT_SECRET_HEADER)]
    pub secret_header: String,
    /// Webhook event name (Context.EventName).
    #[arg(long, default_value = DEFAULT_EVENT)]
    pub webhook_event: String,
    /// File with the webhook body template ({{Macro}} placeholders). Default: a JSON body.
    #[arg(long)]
    pub webhook_template: Option<PathBuf>,
    /// Content type of the webhook body (decides how macro values are escaped).
    #[arg(long, default_value = "application/json")]
    pub webhook_content_type: String,
    /// Quotes to seed.
    #[arg(long, default_value_t = 12)]
    pub quotes: usize,
    /// Also seed quotes that must fail in M3 (unknown item, discontinued item, preliminary customer).
    #[arg(long)]
    pub bad_quotes: bool,
    /// Control API port (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Seed shared with `ferry sim m3`, so quotes use its customers and items.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How many items the M3 simulator seeded (quotes only use these).
    #[arg(long, default_value_t = 50)]
    pub m3_items: usize,
    /// How many customers the M3 simulator seeded.
    #[arg(long, default_value_t = 20)]
    pub m3_customers: usize,
    /// Product database name; its table is `<name>_Products`.
    #[arg(long, default_value = "M3")]
    pub product_db: String,
    /// Bearer token for /_control (generated when not given).
    #[arg(long, env = "FERRY_SANDBOX_CONTROL_TOKEN")]
    pub control_token: Option<String>,
    /// Largest accepted control request body.
    #[arg(long, default_value_t = 1_048_576)]
    pub max_body_bytes: usize,
    /// The contact manager table's columns (comma-separated; `AccountNo` and `LastModified`
    /// are always added). Default: the Sold-to fields without their prefix.
    #[arg(long)]
    pub contact_columns: Option<String>,
}

impl Default for QuoteWerksSimArgs {
    fn default() -> Self {
        Self {
            db: None,
            webhook: None,
            secret: None,
            secret_header: DEFAULT_SECRET_HEADER.into(),
            webhook_event: DEFAULT_EVENT.into(),
            webhook_template: None,
            webhook_content_type: "application/json".into(),
            quotes: 12,
            bad_quotes: false,
            port: 0,
            bind: "127.0.0.1".into(),
            seed: 42,
            m3_items: 50,
            m3_customers: 20,
            product_db: "M3".into(),
            control_token: None,
            max_body_bytes: 1_048_576,
            contact_columns: None,
        }
    }
}

pub type QuoteWerksSimConfig = QuoteWerksSimArgs;

pub struct QuoteWerksSim;

/// A running QuoteWerks simulator.
pub struct QuoteWerksSimHandle {
    /// Control API base, `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The QuoteWerks database (SQLite), for the connector's `sql` connection.
    pub db_path: PathBuf,
    /// `<ProductDb>_Products`.
    pub product_table: String,
    pub control_token: String,
    /// The webhook secret (given or generated when a webhook URL is set).
    pub webhook_secret: Option<String>,
    pub addr: SocketAddr,
    qw: QwState,
    shutdown: Arc<Notify>,
    task: Option<tokio::task::JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl QuoteWerksSimHandle {
    pub fn create_quote(&self, q: &NewQuote) -> Result<DocRef, QwError> {
        self.qw.create_quote(q)
    }

    /// Change a document's status as a sales rep would; fires the webhook.
    pub fn set_status(&self, id: i64, status: &str) -> Result<StatusChange, QwError> {
        self.qw.set_status(id, status)
    }

    pub fn set_status_by_doc_no(
        &self,
        doc_no: &str,
        status: &str,
    ) -> Result<StatusChange, QwError> {
        let id = self.qw.find_doc_no(doc_no)?;
        self.qw.set_status(id, status)
    }

    pub fn document(&self, id: i64) -> Result<Document, QwError> {
        self.qw.document(id)
    }

    pub fn find_doc_no(&self, doc_no: &str) -> Result<i64, QwError> {
        self.qw.find_doc_no(doc_no)
    }

    pub fn documents(&self, status: Option<&str>) -> Result<Vec<DocSummary>, QwError> {
        self.qw.documents(status)
    }

    pub fn webhook_log(&self) -> Result<Vec<WebhookDelivery>, QwError> {
        self.qw.webhook_log()
    }

    /// The contact manager's rows, column → text.
    pub fn contacts(&self) -> Result<Vec<std::collections::BTreeMap<String, String>>, QwError> {
        let db = self.qw.db.lock().map_err(|_| QwError::Poisoned)?;
        Ok(contacts::list(&db)?)
    }

    /// The product table's rows (`<ProductDb>_Products`), column → text (numbers as written).
    pub fn products(&self) -> Result<Vec<std::collections::BTreeMap<String, String>>, QwError> {
        let db = self.qw.db.lock().map_err(|_| QwError::Poisoned)?;
        let mut st = db.prepare(&format!("SELECT * FROM [{}]", self.product_table))?;
        let names: Vec<String> = st.column_names().map(str::to_string).collect();
        let rows = st
            .query_map([], |r| {
                let mut row = std::collections::BTreeMap::new();
                for (i, n) in names.iter().enumerate() {
                    let text = match r.get::<_, rusqlite::types::Value>(i)? {
                        rusqlite::types::Value::Text(s) => s,
                        rusqlite::types::Value::Integer(n) => n.to_string(),
                        rusqlite::types::Value::Real(x) => x.to_string(),
                        _ => String::new(),
                    };
                    row.insert(n.clone(), text);
                }
                Ok(row)
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// A rep's edit of one contact column (stamped now); false: no such contact.
    pub fn edit_contact(&self, account: &str, column: &str, value: &str) -> Result<bool, QwError> {
        let db = self.qw.db.lock().map_err(|_| QwError::Poisoned)?;
        Ok(contacts::edit(&db, account, column, value)?)
    }

    pub fn ready_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sim": "quotewerks",
            "base_url": self.base_url,
            "db_path": self.db_path,
            "product_table": self.product_table,
            "control_token": self.control_token,
            "webhook_secret": self.webhook_secret,
        })
    }

    pub async fn shutdown(mut self) {
        self.shutdown.notify_waiters();
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }
}

impl Drop for QuoteWerksSimHandle {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

impl QuoteWerksSim {
    pub async fn start(config: QuoteWerksSimConfig) -> anyhow::Result<QuoteWerksSimHandle> {
        let (db_path, temp) = match &config.db {
            Some(p) => {
                if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)?;
                }
                (p.clone(), None)
            }
            None => {
                let t = tempfile::tempdir()?;
                (t.path().join("quotewerks.sqlite"), Some(t))
            }
        };
        // The name becomes part of a table name in SQL, so only plain identifiers are allowed.
        if config.product_db.is_empty()
            || !config
                .product_db
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            anyhow::bail!(
                "--product-db must be letters, digits or '_', not {:?}",
                config.product_db
            );
        }
        let plan = seed::SeedPlan {
            seed: config.seed,
            m3_items: config.m3_items,
            m3_customers: config.m3_customers,
            quotes: config.quotes,
        };
        let contact_columns = contacts::columns_from(config.contact_columns.as_deref())
            .map_err(|e| anyhow::anyhow!("--contact-columns: {e}"))?;
        let (path, product_db, bad) = (
            db_path.clone(),
            config.product_db.clone(),
            config.bad_quotes,
        );
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<rusqlite::Connection> {
            let mut conn = rusqlite::Connection::open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            conn.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
            )?;
            schema::create(&conn, &product_db)?;
            contacts::create(&conn, &contact_columns)?;
            seed::seed_if_empty(&mut conn, &product_db, &plan, bad)?;
            contacts::backfill(&conn)?;
            Ok(conn)
        })
        .await??;
        let webhook_secret = config.webhook.as_ref().map(|_| {
            config
                .secret
                .clone()
                .unwrap_or_else(|| crate::util::random_token(32))
        });
        let webhook = match &config.webhook {
            Some(url) => {
                let mut cfg = WebhookConfig::new(
                    url,
                    &config.secret_header,
                    webhook_secret.as_deref().unwrap_or_default(),
                );
                cfg.event = config.webhook_event.clone();
                cfg.content_type = config.webhook_content_type.clone();
                if let Some(t) = &config.webhook_template {
                    cfg.template = std::fs::read_to_string(t)
                        .with_context(|| format!("reading {}", t.display()))?;
                }
                Some(cfg)
            }
            None => None,
        };
        let control_token = config
            .control_token
            .clone()
            .unwrap_or_else(|| crate::util::random_token(24));
        let qw: QwState = Arc::new(Qw {
            db: Mutex::new(conn),
            product_db: config.product_db.clone(),
            webhook,
            control_token: control_token.clone(),
        });
        let listener = tokio::net::TcpListener::bind((config.bind.as_str(), config.port))
            .await
            .with_context(|| format!("binding {}:{}", config.bind, config.port))?;
        let addr = listener.local_addr()?;
        let app = control::router(qw.clone(), config.max_body_bytes);
        let shutdown = Arc::new(Notify::new());
        let sd = shutdown.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(async move { sd.notified().await })
                .await
            {
                tracing::error!(error = %e, "QuoteWerks simulator server stopped");
            }
        });
        Ok(QuoteWerksSimHandle {
            base_url: format!("http://{addr}"),
            db_path,
            product_table: schema::product_table(&config.product_db),
            control_token,
            webhook_secret,
            addr,
            qw,
            shutdown,
            task: Some(task),
            _temp: temp,
        })
    }
}

/// `ferry sim quotewerks`: start, print `READY {json}`, serve until Ctrl-C.
pub async fn run_quotewerks(args: QuoteWerksSimArgs) -> anyhow::Result<()> {
    let webhook = args.webhook.clone();
    let h = QuoteWerksSim::start(args).await?;
    crate::util::print_ready(&h.ready_json());
    let docs = h.documents(None)?;
    println!(
        "QuoteWerks simulator: database {} ({} documents)",
        h.db_path.display(),
        docs.len()
    );
    println!(
        "  tables:   DocumentHeaders, DocumentItems, LookupItems, {}",
        h.product_table
    );
    match webhook {
        Some(url) => println!("  webhook:  status changes POST to {url}"),
        None => println!("  webhook:  none (pass --webhook URL --secret S)"),
    }
    println!(
        "  control:  {}/_control/documents  (Authorization: Bearer {})",
        h.base_url, h.control_token
    );
    crate::util::shutdown_signal().await;
    h.shutdown().await;
    Ok(())
}
