//! `ferry.toml`, in two stages. [`FerryConfig::parse`] turns the text into typed config and
//! refuses nonsense, naming the key, with no file, environment or network access.
//! [`FerryConfig::resolve_tenant`] (in [`resolve`]) then reads secrets by reference and builds
//! connections and OAuth clients: what the runtime needs for one tenant.
//!
//! Per tenant: a pool of named `connections` and `secrets`; `plugins` keyed by role (`erp`,
//! `quoting`, `transform`), each granted the connections and secrets it names and nothing
//! else; and `host`, the credentials only the host reads (webhook secret, ION token), never
//! part of any plugin's grants.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

use crate::runtime::connections::ConnectionError;
use crate::runtime::connections::sql::SqliteSettings;
use crate::runtime::grants::{ConnectionKind, Ungranted};
use crate::runtime::{Role, RuntimeSettings};

pub mod alerts;
pub mod resolve;
pub mod secret;
pub mod settings;
pub mod store;
pub mod trust;
pub mod validate;

pub use resolve::{HostCredentials, ResolvedTenant};
pub use secret::SecretRef;
pub use store::StoreSetting;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("tenant '{0}' is not configured")]
    UnknownTenant(String),
    #[error("tenant '{tenant}', secret '{name}': {message}")]
    Secret {
        tenant: String,
        name: String,
        message: String,
    },
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("{path}: {}", validate::joined(.problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<validate::Invalid>,
    },
    #[error(transparent)]
    Ungranted(#[from] Ungranted),
    #[error("store: {0}")]
    Store(String),
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FerryConfig {
    /// Registry, compile cache and database live here (relative to the config file).
    pub data_dir: Option<PathBuf>,
    /// Where the durable state is: absent, SQLite in `data_dir`; else a PostgreSQL URL, inline
    /// or by reference (see [`store`]).
    pub store: Option<StoreSetting>,
    #[serde(default)]
    pub runtime: RuntimeSettings,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
    #[serde(default)]
    pub server: ServerConfig,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The tenant's connections; each plugin gets only those its `connections` names.
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
    /// The tenant's plugin secrets (by reference); each plugin may check values against only
    /// those its `secrets` names.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Credentials the host itself checks; no plugin ever sees them.
    #[serde(default)]
    pub host: HostConfig,
    /// One plugin per role; a misspelled role is a parse error.
    #[serde(default, deserialize_with = "by_role")]
    pub plugins: BTreeMap<Role, PluginConfig>,
    #[serde(default)]
    pub quote_to_order: QuoteToOrderPolicy,
    #[serde(default)]
    pub retry: ferry_flows::RetryPolicy,
    /// `[tenants.T.sync.*]`: the syncs besides quote → order (the catalog today).
    #[serde(default)]
    pub sync: SyncConfig,
    /// `[tenants.T.alerts]`: the rules `ferry serve` evaluates and where it sends them.
    #[serde(default)]
    pub alerts: alerts::TenantAlerts,
    /// `[tenants.T.trust]`: which plugin packages install accepts (signatures, vendor keys).
    #[serde(default)]
    pub trust: trust::TrustPolicy,
    /// Days the tenant's audit entries are kept (`ferry serve` deletes older ones hourly);
    /// absent: kept forever.
    #[serde(default)]
    pub audit_retention_days: Option<std::num::NonZeroU32>,
}

/// `[tenants.T.sync]`: each sync's policy and schedule (off unless `every` is set).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    pub catalog: ferry_flows::catalog::CatalogPolicy,
    pub customers: ferry_flows::customers::CustomerPolicy,
    pub prices: ferry_flows::prices::PricesPolicy,
    pub stock: ferry_flows::stock::StockPolicy,
}

/// `[tenants.T.host]`: what the host checks before any plugin code runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// The shared secret a quoting webhook must present in `webhook_header` on
    /// `/hooks/{tenant}/quotewerks`, compared in constant time; the header is removed before
    /// the plugin sees the request. Unset: every webhook is refused.
    pub webhook_secret: Option<SecretRef>,
    pub webhook_header: String,
    /// The bearer token ION must present on `/ion/{tenant}/events`. Unset: the endpoint
    /// refuses everything.
    pub ion_token: Option<SecretRef>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            webhook_secret: None,
            webhook_header: "X-QuoteWerks-Secret".into(),
            ion_token: None,
        }
    }
}

/// `[tenants.T.plugins.ROLE]`: the plugin serving one role, its grants and settings.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// A component to install and activate at start-up when the role has no active plugin.
    pub file: Option<PathBuf>,
    /// Transforms only: snapshot the plugin after `describe` under these settings and run
    /// every call from the snapshot (the declarative mapping then parses its files once per
    /// configuration, not per call).
    #[serde(default)]
    pub prepare: bool,
    /// Non-secret settings handed to the plugin (`config` import): strings, numbers, booleans.
    #[serde(default, deserialize_with = "settings::scalars")]
    pub settings: BTreeMap<String, String>,
    /// The tenant's connections this plugin may use, by name.
    #[serde(default)]
    pub connections: Vec<String>,
    /// The tenant's secrets this plugin may check values against, by name.
    #[serde(default)]
    pub secrets: Vec<String>,
}

/// `ferry serve`: where it listens and how hard it works.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    /// Bearer token for the admin API (by reference). Without it, admin routes are closed.
    pub admin_token: Option<SecretRef>,
    /// Concurrent jobs.
    pub workers: usize,
    /// Largest accepted request body (webhooks, ION events).
    pub max_body_bytes: usize,
    /// How often the registry looks for activations made elsewhere (CLI, other nodes).
    pub registry_refresh_ms: u64,
    /// A request's headers must be complete this long after their first byte arrives, or the
    /// connection is closed unanswered (slow-header attacks).
    pub header_timeout_ms: u64,
    /// A request's whole body must arrive this long after its headers, or it is answered 408
    /// and the connection closed (slow-body attacks).
    pub body_timeout_ms: u64,
    /// A connection with no request in progress is closed after this long (idle keep-alive,
    /// or a client that connects and sends nothing).
    pub idle_timeout_ms: u64,
    /// Open connections at most; one more is answered 503 and closed at once.
    pub max_connections: usize,
    /// Intake requests (`/hooks/{tenant}/…`, `/ion/{tenant}/…`) per second per tenant, on
    /// average; above it 429 with Retry-After. 0: no rate limit.
    pub tenant_rate_per_sec: u32,
    /// How many intake requests a tenant may send at once before the rate applies.
    pub tenant_burst: u32,
    /// How long `/readyz` waits for the store's test write before answering 503.
    pub ready_timeout_ms: u64,
    /// How long a worker's claim holds a job without renewal (renewed every third of it). A
    /// node that restarts takes its own jobs back at once; other nodes wait this long.
    pub lease_ms: u64,
    /// How often each tenant's connections are tried (OAuth grant, `SELECT 1`) for the
    /// Health screen, in seconds; 0: never.
    pub connection_check_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8640".into(),
            admin_token: None,
            workers: 4,
            max_body_bytes: 256 << 10,
            registry_refresh_ms: 1_000,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            max_connections: 1024,
            tenant_rate_per_sec: 20,
            tenant_burst: 100,
            ready_timeout_ms: 2_000,
            lease_ms: 15_000,
            connection_check_secs: 60,
        }
    }
}

/// The tenant's policy for quote -> order lives with the flows that follow it.
pub use ferry_flows::QuoteToOrderPolicy;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ConnectionConfig {
    Http {
        /// Optional when `ionapi` is given: then `{iu}/{ti}/`.
        base_url: Option<Url>,
        /// Credentials: an Infor `.ionapi` file, by reference.
        ionapi: Option<SecretRef>,
        #[serde(default)]
        allow: Vec<String>,
        timeout_ms: Option<u64>,
        max_response_bytes: Option<usize>,
        max_request_bytes: Option<usize>,
        #[serde(default)]
        allow_insecure_http: bool,
        /// Sends per second the other side allows the tenant on this connection (M3's
        /// gateway limits a tenant): held across every node on a shared PostgreSQL store.
        rate_per_sec: Option<f64>,
        /// Sends that may go at once after a quiet while (default 1).
        rate_burst: Option<u32>,
    },
    Sqlite(SqliteSettings),
    /// Microsoft SQL Server (where QuoteWerks usually keeps its data). The ADO.NET connection
    /// string carries the password, so it is a secret given by reference:
    /// `{ kind = "sqlserver", connection_string = { env = "QW_SQL" } }`.
    #[serde(rename = "sqlserver")]
    SqlServer {
        connection_string: SecretRef,
        max_rows: Option<usize>,
        timeout_ms: Option<u64>,
    },
}

impl ConnectionConfig {
    /// Which import reaches this connection.
    pub fn kind(&self) -> ConnectionKind {
        match self {
            ConnectionConfig::Http { .. } => ConnectionKind::Http,
            ConnectionConfig::Sqlite(_) | ConnectionConfig::SqlServer { .. } => ConnectionKind::Sql,
        }
    }
}

impl FerryConfig {
    /// Stage one: TOML text to typed, checked config. Reads nothing (no file, environment or
    /// network); `base_dir` is only recorded, for the resolve stage's relative paths. Every
    /// error names the key (`tenants.acme.plugins.quotin: unknown variant ...`).
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        // `load` puts the file's real path in; text given directly is just "ferry.toml".
        let source = PathBuf::from("ferry.toml");
        let mut config = parse_toml(text).map_err(|message| ConfigError::Parse {
            path: source.clone(),
            message,
        })?;
        config.base_dir = base_dir.to_path_buf();
        // Nonsense is refused here, with its reason, rather than found out under load.
        validate::check(&config).map_err(|problems| ConfigError::Invalid {
            path: source,
            problems,
        })?;
        Ok(config)
    }

    /// Reads the file and parses it (relative paths in it are relative to its directory).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, &base).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            ConfigError::Invalid { problems, .. } => ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            },
            other => other,
        })
    }

    /// The runtime settings, with the compile cache under `data_dir` unless set.
    pub fn runtime_settings(&self, data_dir: &Path) -> RuntimeSettings {
        let mut settings = self.runtime.clone();
        settings
            .cache_dir
            .get_or_insert_with(|| ferry_layout::DataDir::new(data_dir).compile_cache());
        settings
    }

    pub fn data_dir(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| self.base_dir.join(d))
    }

    pub fn tenant(&self, tenant: &str) -> Result<&TenantConfig, ConfigError> {
        self.tenants
            .get(tenant)
            .ok_or_else(|| ConfigError::UnknownTenant(tenant.to_string()))
    }

    /// Whether the tenant asked for its `role` plugin to be prepared (snapshotted).
    pub fn plugin_prepare(&self, tenant: &str, role: Role) -> bool {
        self.tenants
            .get(tenant)
            .and_then(|t| t.plugins.get(&role))
            .is_some_and(|p| p.prepare)
    }

    /// The settings the tenant gave its `role` plugin.
    pub fn plugin_settings(&self, tenant: &str, role: Role) -> BTreeMap<String, String> {
        self.tenants
            .get(tenant)
            .and_then(|t| t.plugins.get(&role))
            .map(|p| p.settings.clone())
            .unwrap_or_default()
    }

    /// Checks the tenant's `role` plugin against its grants (see
    /// [`crate::runtime::grants::check_plugin`]); `imports` is the component's import list,
    /// when one is known. Called when a tenant is built and when a plugin is installed or
    /// activated for a role, so a plugin that needs an ungranted connection never runs.
    pub fn check_plugin(
        &self,
        tenant: &str,
        role: Role,
        imports: Option<&[String]>,
    ) -> Result<(), ConfigError> {
        let tc = self.tenant(tenant)?;
        let plugin = tc.plugins.get(&role);
        let granted: BTreeMap<String, ConnectionKind> = plugin
            .map(|p| p.connections.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|name| Some((name.clone(), tc.connections.get(name)?.kind())))
            .collect();
        let settings = plugin.map(|p| p.settings.clone()).unwrap_or_default();
        crate::runtime::grants::check_plugin(tenant, role, &granted, &settings, imports)?;
        Ok(())
    }
}

/// `plugins` keyed by [`Role`]. The key is read as a string first, so that an error names it
/// (`tenants.acme.plugins.quotin: unknown variant ...`): an enum key alone leaves a `?` there.
fn by_role<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<Role, PluginConfig>, D::Error> {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Key(Role);
    impl<'de> Deserialize<'de> for Key {
        fn deserialize<K: serde::Deserializer<'de>>(d: K) -> Result<Self, K::Error> {
            let name = String::deserialize(d)?;
            Role::deserialize(serde::de::value::StrDeserializer::<K::Error>::new(&name)).map(Key)
        }
    }
    let map = BTreeMap::<Key, PluginConfig>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k.0, v)).collect())
}

/// toml's own Display quotes the offending source line, which may hold a secret typed
/// inline: the message here is the key path, the line number and toml's message only.
fn parse_toml(text: &str) -> Result<FerryConfig, String> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|e| match line_of(e.span()) {
        Some(l) => format!("line {l}: {}", e.message()),
        None => e.message().to_string(),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let at = match line_of(inner.span()) {
            Some(l) => format!("line {l}: "),
            None => String::new(),
        };
        if key == "." {
            format!("{at}{}", inner.message())
        } else {
            format!("{at}{key}: {}", inner.message())
        }
    })
}
