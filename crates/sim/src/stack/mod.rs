//! The stack harness: both simulators, seeded alike, and the one `ferry.toml` that wires a
//! tenant of Ferry to them, for the three places that run the whole story: `ferry sandbox`
//! (the demo serves Ferry in-process), the end-to-end tests (they spawn the real `ferry serve`
//! on the config) and the quote-to-order benchmark.
//!
//! [`SimStack::start`] starts M3 and QuoteWerks in the calling tokio runtime, writes the secrets
//! and the config under [`StackOptions::dir`], and hands back the simulators' handles, Ferry's
//! address (already bound: QuoteWerks needs its webhook target before it starts), paths and
//! tokens. It never links Ferry: it writes Ferry's config, Ferry reads it.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use ferry_sim::stack::{SimStack, StackOptions};
//! let mut stack = SimStack::start(StackOptions::demo(None, "target/plugins")).await?;
//! let listener = stack.ferry_listener.take(); // serve Ferry on it, or drop it and spawn `ferry serve`
//! println!("ferry --config {} serve", stack.config_path.display());
//! # drop(listener); Ok(()) }
//! ```

mod config;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::m3::{M3Sim, M3SimConfig, M3SimHandle};
use crate::quotewerks::{QuoteWerksSim, QuoteWerksSimConfig, QuoteWerksSimHandle};

pub use config::{
    CONFIG_FILE, DATA_DIR, FerrySettings, ION_TOKEN_FILE, IONAPI_FILE, M3_STATE_DIR, QUOTEWERKS_DB,
    READY, Retry, STATUS_NAMES, TRANSFERRED, WEBHOOK_SECRET_FILE,
};

/// The demo's tenant.
pub const DEMO_TENANT: &str = "demo";

/// The components a stack tenant runs, by role, as `cargo xtask build-plugins` names them.
pub const COMPONENTS: [(&str, &str); 3] = [
    ("erp", "m3_connector"),
    ("quoting", "quotewerks_connector"),
    ("transform", "ferry_mapping"),
];

/// The master data both simulators draw from (`seed.rs`): QuoteWerks' quotes name M3's
/// customers and items only when both are seeded with the same three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog {
    pub seed: u64,
    pub items: usize,
    pub customers: usize,
}

/// What to start.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where everything goes: config, secrets, simulator state, Ferry's data directory;
    /// `None`: a temporary directory, removed with the stack.
    pub dir: Option<PathBuf>,
    /// The built components (`ferry_layout::component_dir()`); each of [`COMPONENTS`] must be
    /// there.
    pub plugins: PathBuf,
    pub tenant: String,
    pub catalog: Catalog,
    /// Quotes QuoteWerks seeds (`--quotes`).
    pub quotes: usize,
    /// Also seed FRYQ9001-9003: an unknown item, a discontinued item, a preliminary customer.
    pub bad_quotes: bool,
    /// The M3 simulator's other knobs (faults, latency…), as `ferry sim m3` takes them
    /// ([`m3_from_flags`]); the harness sets its state, catalog and BOD target.
    pub m3: M3SimConfig,
    /// Whether M3 posts its BODs to Ferry's ION endpoint (else they wait in its outbox).
    pub bods_to_ferry: bool,
    /// The bearer token ION presents to Ferry; `None`: a random one.
    pub ion_token: Option<String>,
    /// QuoteWerks' webhook secret; `None`: a random one.
    pub webhook_secret: Option<String>,
    pub ferry: FerrySettings,
}

impl StackOptions {
    /// The sandbox demo: tenant `demo`, M3's default catalog, seeded quotes with the three bad
    /// ones, BODs flowing to Ferry, random secrets.
    pub fn demo(dir: Option<PathBuf>, plugins: impl Into<PathBuf>) -> Self {
        let m3 = M3SimConfig::default();
        Self {
            dir,
            plugins: plugins.into(),
            tenant: DEMO_TENANT.into(),
            catalog: Catalog {
                seed: m3.seed,
                items: m3.items,
                customers: m3.customers,
            },
            quotes: QuoteWerksSimConfig::default().quotes,
            bad_quotes: true,
            m3,
            bods_to_ferry: true,
            ion_token: None,
            webhook_secret: None,
            ferry: FerrySettings::demo(),
        }
    }
}

/// Both simulators running, the config written.
pub struct SimStack {
    pub m3: M3SimHandle,
    pub qw: QuoteWerksSimHandle,
    pub tenant: String,
    pub catalog: Catalog,
    pub dir: PathBuf,
    /// `<dir>/ferry.toml`.
    pub config_path: PathBuf,
    /// Ferry's data directory, as the config names it.
    pub data_dir: PathBuf,
    /// Where Ferry listens (the config's `server.listen`).
    pub ferry_addr: SocketAddr,
    /// `http://{ferry_addr}`.
    pub ferry_url: String,
    /// Bound on `ferry_addr`: serve Ferry in-process on it, or drop it before a `ferry serve`
    /// process binds the address.
    pub ferry_listener: Option<TcpListener>,
    pub ion_token: String,
    pub webhook_secret: String,
    _temp: Option<tempfile::TempDir>,
}

impl SimStack {
    /// Starts both simulators (in the calling tokio runtime) and writes the config.
    pub async fn start(opts: StackOptions) -> anyhow::Result<SimStack> {
        let (dir, temp) = match &opts.dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = tempfile::tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let [erp, quoting, transform] = components(&opts.plugins)?;
        // Ferry's address must be known before QuoteWerks starts: it is the webhook target.
        let listener = TcpListener::bind("127.0.0.1:0").context("binding Ferry's address")?;
        let ferry_addr = listener.local_addr()?;
        let ferry_url = format!("http://{ferry_addr}");
        let tenant = opts.tenant.clone();
        let ion_token = opts
            .ion_token
            .clone()
            .unwrap_or_else(|| crate::util::random_token(24));
        let webhook_secret = opts
            .webhook_secret
            .clone()
            .unwrap_or_else(|| crate::util::random_token(24));
        let Catalog {
            seed,
            items,
            customers,
        } = opts.catalog;

        let m3 = M3Sim::start(M3SimConfig {
            state: Some(dir.join(M3_STATE_DIR)),
            ionapi_out: Some(dir.join(IONAPI_FILE)),
            seed,
            items,
            customers,
            bod_endpoint: opts
                .bods_to_ferry
                .then(|| format!("{ferry_url}/ion/{tenant}/events")),
            bod_token: opts.bods_to_ferry.then(|| ion_token.clone()),
            ..opts.m3.clone()
        })
        .await
        .context("starting the M3 simulator")?;
        let qw = QuoteWerksSim::start(QuoteWerksSimConfig {
            db: Some(dir.join(QUOTEWERKS_DB)),
            webhook: Some(format!("{ferry_url}/hooks/{tenant}/quotewerks")),
            secret: Some(webhook_secret.clone()),
            quotes: opts.quotes,
            bad_quotes: opts.bad_quotes,
            seed,
            m3_items: items,
            m3_customers: customers,
            ..QuoteWerksSimConfig::default()
        })
        .await
        .context("starting the QuoteWerks simulator")?;

        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
        };
        write(WEBHOOK_SECRET_FILE, &webhook_secret)?;
        write(ION_TOKEN_FILE, &ion_token)?;
        let product_db = qw.product_table.trim_end_matches("_Products").to_string();
        let secret_header = QuoteWerksSimConfig::default().secret_header;
        write(
            CONFIG_FILE,
            &config::render(&config::Wiring {
                tenant: &tenant,
                listen: ferry_addr,
                erp,
                quoting,
                transform,
                secret_header: &secret_header,
                product_db: &product_db,
                ferry: &opts.ferry,
            }),
        )?;
        Ok(SimStack {
            m3,
            qw,
            tenant,
            catalog: opts.catalog,
            config_path: dir.join(CONFIG_FILE),
            data_dir: dir.join(DATA_DIR),
            dir,
            ferry_addr,
            ferry_url,
            ferry_listener: Some(listener),
            ion_token,
            webhook_secret,
            _temp: temp,
        })
    }

    /// Stops both simulators; their state stays on disk.
    pub async fn shutdown(self) {
        self.m3.shutdown().await;
        self.qw.shutdown().await;
    }
}

/// The M3 simulator as `ferry sim m3 FLAGS` configures it (e.g. `["--fault-503-rate", "0.2"]`),
/// for callers that take faults the way a user types them.
pub fn m3_from_flags<S: AsRef<str>>(flags: &[S]) -> Result<M3SimConfig, clap::Error> {
    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        m3: M3SimConfig,
    }
    let argv = std::iter::once("m3").chain(flags.iter().map(AsRef::as_ref));
    <Flags as clap::Parser>::try_parse_from(argv).map(|f| f.m3)
}

/// The components' absolute paths (the config may be read from anywhere), in
/// [`COMPONENTS`]' order; refuses to start without one.
fn components(plugins: &Path) -> anyhow::Result<[PathBuf; 3]> {
    let find = |name: &str| {
        let path = ferry_layout::component_path(plugins, name);
        std::fs::canonicalize(&path).with_context(|| {
            format!(
                "{} is missing: build the plugins first (`cargo xtask build-plugins`; `cargo xtask demo` does it)",
                path.display()
            )
        })
    };
    Ok([
        find(COMPONENTS[0].1)?,
        find(COMPONENTS[1].1)?,
        find(COMPONENTS[2].1)?,
    ])
}
