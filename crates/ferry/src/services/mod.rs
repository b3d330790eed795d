//! The operations an operator runs, shared by the command line and the admin API / console to
//! come: plugins (install, activate, roll back, list, check, run), the durable work (dead
//! letters, holds, a quote's journey). The CLI only parses arguments and prints what these
//! return; every failure is a [`ServiceError`].
//!
//! Every operation about a tenant needs that tenant in the config ([`Context::tenant`]): a
//! plugin is only ever activated after its grants were checked against the config the server
//! runs with. Where that config is: `--config` / `FERRY_CONFIG`, else the one `ferry serve`
//! last ran with on the same data directory ([`remember_served_config`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferry::services::ServiceError> {
//! use ferry::services::{Context, journeys};
//! let ctx = Context::load(None, Some("ferry-data".into()))?;
//! let journey = journeys::trace(&ctx, "acme", "Q1042").await?;
//! println!("{} at step {}", journey.quote_id, journey.job.step);
//! # Ok(()) }
//! ```

pub mod alerts;
pub mod connections;
pub mod controls;
pub mod customer_sync;
pub mod doctor;
pub mod edit;
pub mod export;
pub mod fixes;
pub mod health;
pub mod journeys;
pub mod mappings;
pub mod mappings_versions;
mod metadata;
pub mod packages;
pub mod plugins;
pub mod replay;
pub mod retention;
pub mod run_query;
pub mod shadow;
pub mod shadow_connectors;
pub mod shadow_run;
pub mod sync;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ConfigError, FerryConfig, TenantConfig};
use crate::runtime::{LoadError, Registry, RegistryError, RuntimeError};
use ferry_store::{Location, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(
        "tenant '{tenant}' is not configured{}",
        match .config { Some(p) => format!(" in {}", p.display()), None => " (no config: give --config FILE or set FERRY_CONFIG)".into() }
    )]
    UnknownTenant {
        tenant: String,
        config: Option<PathBuf>,
    },
    #[error("no Ferry database at {0} (wrong --data-dir?)")]
    NoDatabase(PathBuf),
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
    #[error("no dead letter {0}")]
    NoDeadLetter(i64),
    #[error("no record of quote '{quote}' for tenant '{tenant}'")]
    NoQuote { tenant: String, quote: String },
    #[error("'{quote}' matches several quotes of tenant '{tenant}' (ids {ids}): give the id")]
    AmbiguousQuote {
        tenant: String,
        quote: String,
        ids: String,
    },
    #[error("quote '{quote}' of tenant '{tenant}' has no dead letter")]
    QuoteNotDead { tenant: String, quote: String },
    #[error("quote '{quote}' of tenant '{tenant}' is not held (it is {state})")]
    QuoteNotHeld {
        tenant: String,
        quote: String,
        state: String,
    },
    #[error("dead letter {0} was already retried")]
    AlreadyRetried(i64),
    /// An edit-and-retry refused: why the run can't be edited (M3 may hold its order).
    #[error("{0}")]
    NotEditable(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("a background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The config and data directory every operation works against, and, inside a server (the
/// admin API and console), the store and registry it already holds, so its calls share them
/// instead of opening their own.
#[derive(Clone)]
pub struct Context {
    pub config: FerryConfig,
    /// The file `config` was read from; None: no config (no tenant is configured).
    pub config_path: Option<PathBuf>,
    pub data_dir: PathBuf,
    store: Option<Arc<dyn Store>>,
    registry: Option<Arc<Registry>>,
    /// Each connection's last check (`ferry serve` keeps it current; elsewhere empty).
    pub connections: connections::Board,
}

impl Context {
    /// `config`: the file given (`--config`); `data_dir`: the directory given (`--data-dir`).
    /// Without a config file, the one `ferry serve` last ran with on the data directory is
    /// used, if it still exists; without a data directory, the config's, else `ferry-data`.
    pub fn load(config: Option<PathBuf>, data_dir: Option<PathBuf>) -> Result<Self, ServiceError> {
        let config_path = config.or_else(|| {
            let dir = data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("ferry-data"));
            served_config(&dir)
        });
        let config = match &config_path {
            Some(path) => FerryConfig::load(path)?,
            None => FerryConfig::default(),
        };
        let data_dir = data_dir
            .or_else(|| config.data_dir())
            .unwrap_or_else(|| PathBuf::from("ferry-data"));
        Ok(Self {
            config,
            config_path,
            data_dir,
            store: None,
            registry: None,
            connections: Default::default(),
        })
    }

    /// A server's context: its config, data directory, store and registry (the admin API's
    /// calls share them).
    pub fn for_server(
        config: FerryConfig,
        data_dir: &Path,
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
    ) -> Self {
        Self {
            config,
            config_path: None,
            data_dir: data_dir.to_path_buf(),
            store: Some(store),
            registry: Some(registry),
            connections: Default::default(),
        }
    }

    /// A context over `config` and `data_dir` with no file behind the config (tests).
    pub fn from_config(config: FerryConfig, data_dir: &Path) -> Self {
        Self {
            config,
            config_path: None,
            data_dir: data_dir.to_path_buf(),
            store: None,
            registry: None,
            connections: Default::default(),
        }
    }

    /// A context for tests: one tenant, `acme`, with nothing configured, on `store`.
    #[cfg(test)]
    pub(crate) fn acme_on(store: Arc<dyn Store>) -> Self {
        let config = FerryConfig::parse("[tenants.acme]\n", Path::new(".")).expect("config");
        Context::from_config(config, Path::new("unused")).with_store(store)
    }

    /// Operations on this context use `store` (a server's own) rather than opening one.
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Plugin operations on this context use `registry` (a server's own, so an activation
    /// swaps the serving plugin at once) rather than opening one.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The registry given with [`Context::with_registry`], if any.
    pub(crate) fn registry(&self) -> Option<Arc<Registry>> {
        self.registry.clone()
    }

    /// The tenant's config; a tenant the config doesn't name is an error for every operation.
    pub fn tenant(&self, tenant: &str) -> Result<&TenantConfig, ServiceError> {
        self.config
            .tenants
            .get(tenant)
            .ok_or_else(|| ServiceError::UnknownTenant {
                tenant: tenant.to_string(),
                config: self.config_path.clone(),
            })
    }

    /// The store `ferry serve` uses (the config's `store`, else SQLite in the data
    /// directory); a SQLite file must exist (a typo'd data directory is not created).
    pub async fn open_store(&self) -> Result<Arc<dyn Store>, ServiceError> {
        if let Some(store) = &self.store {
            return Ok(store.clone());
        }
        let location = self.config.store_location(&self.data_dir)?;
        if let Location::Sqlite(path) = &location
            && !path.exists()
        {
            return Err(ServiceError::NoDatabase(path.clone()));
        }
        Ok(ferry_store::open(&location).await?.store)
    }
}

/// The file in a data directory naming the config `ferry serve` last ran with there.
fn served_config_file(data_dir: &Path) -> PathBuf {
    ferry_layout::DataDir::new(data_dir).served_config()
}

/// Records, for the commands run later on the same data directory without `--config`, which
/// config the server runs with (so they check grants and tenants against it).
pub fn remember_served_config(data_dir: &Path, config: &Path) -> Result<(), ServiceError> {
    let absolute = std::path::absolute(config).map_err(|source| ServiceError::Read {
        path: config.to_path_buf(),
        source,
    })?;
    let file = served_config_file(data_dir);
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&file, absolute.as_os_str().as_encoded_bytes()))
        .map_err(|source| ServiceError::Read { path: file, source })
}

/// The config `ferry serve` last ran with on `data_dir`, if recorded and still there.
fn served_config(data_dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(served_config_file(data_dir)).ok()?;
    let path = PathBuf::from(text.trim_end_matches('\n'));
    path.is_file().then_some(path)
}

/// Reads a file an operator named, saying which on failure.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ServiceError> {
    std::fs::read(path).map_err(|source| ServiceError::Read {
        path: path.to_path_buf(),
        source,
    })
}
