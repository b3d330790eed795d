//! `ferry.toml`: data directory, runtime limits, and per tenant its connections, secrets (by
//! reference only) and plugin settings. Turned into the `Grants` plugins run with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::runtime::connections::ConnectionError;
use crate::runtime::connections::http::{HttpConnection, HttpSettings};
use crate::runtime::connections::oauth::{IonApiFile, TokenProvider};
use crate::runtime::connections::sql::{SqlConnection, SqlServerSettings, SqliteSettings};
use crate::runtime::grants::{Grants, Secret};
use crate::runtime::{Role, RuntimeSettings};

pub mod validate;

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
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FerryConfig {
    /// Registry, compile cache and database live here (relative to the config file).
    pub data_dir: Option<PathBuf>,
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
    #[serde(default)]
    pub connections: BTreeMap<String, ConnectionConfig>,
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Non-secret settings per role (`erp`, `quoting`, `transform`), handed to the plugin.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginSettings>,
    #[serde(default)]
    pub quote_to_order: QuoteToOrderPolicy,
    #[serde(default)]
    pub retry: crate::flows::RetryPolicy,
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
        }
    }
}

/// The tenant's policy for quote -> order.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuoteToOrderPolicy {
    /// The quoting status that means "send to the ERP" (match the connector's setting). A
    /// webhook for another status is stored but starts nothing. None: every event starts one.
    pub ready_status: Option<String>,
    /// Poll the quoting system for ready quotes this often (catches missed webhooks); 0 = off.
    pub poll_interval_secs: u64,
    /// Create an ERP customer from the mapping when none matches; else hold for review.
    pub create_customers: bool,
    /// Status written to the quote with the order number (None: the connector's setting).
    pub transferred_status: Option<String>,
    /// Poll ERP order status for push-back this often; 0 = off (ION events still push).
    pub status_poll_secs: u64,
    /// The quote status to write for each ERP order status (unlisted: "ERP status N").
    pub status_names: BTreeMap<String, String>,
    /// ERP statuses after which an order is no longer polled.
    pub final_statuses: Vec<String>,
    /// The secret (by name, under `secrets`) ION must present as a bearer token on
    /// `/ion/{tenant}/events`. Unset: the endpoint refuses everything.
    pub ion_token_secret: Option<String>,
    /// The secret (by name, under `secrets`) a quoting webhook must present in
    /// `webhook_header` on `/hooks/{tenant}/quotewerks`. The host checks it in constant time
    /// before any plugin code runs and removes the header; no such secret: every webhook is
    /// refused.
    pub webhook_secret: String,
    pub webhook_header: String,
}

impl Default for QuoteToOrderPolicy {
    fn default() -> Self {
        Self {
            ready_status: None,
            poll_interval_secs: 60,
            create_customers: false,
            transferred_status: None,
            status_poll_secs: 0,
            status_names: BTreeMap::new(),
            // M3's last order statuses: invoiced, and deleted/cancelled. Tenants may differ.
            final_statuses: vec!["77".into(), "90".into(), "99".into()],
            ion_token_secret: None,
            webhook_secret: "quotewerks_webhook".into(),
            webhook_header: "X-QuoteWerks-Secret".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PluginSettings {
    /// A component to install and activate at start-up when the role has no active plugin.
    pub file: Option<PathBuf>,
    /// Transforms only: snapshot the plugin after `describe` under these settings and run
    /// every call from the snapshot (the declarative mapping then parses its files once per
    /// configuration, not per call).
    #[serde(default)]
    pub prepare: bool,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

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

/// A secret is never written in the config: it is read from an environment variable or a
/// file when Ferry starts.
#[derive(Debug, Clone)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

const SECRET_INLINE: &str =
    "secrets are given by reference: { env = \"VAR\" } or { file = \"PATH\" }, never inline";

// Hand-written so that a secret typed inline is refused without echoing its value.
impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Repr {
            env: Option<String>,
            file: Option<PathBuf>,
        }

        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(SECRET_INLINE)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretRef, A::Error> {
                let r = Repr::deserialize(MapAccessDeserializer::new(map))?;
                Ok(SecretRef {
                    env: r.env,
                    file: r.file,
                })
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
        }
        d.deserialize_any(RefVisitor)
    }
}

impl SecretRef {
    fn resolve(&self, base: &Path) -> Result<String, String> {
        match (&self.env, &self.file) {
            (Some(var), None) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
            }
            (None, Some(file)) => {
                let path = base.join(file);
                std::fs::read_to_string(&path)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                    .map_err(|e| format!("reading {}: {e}", path.display()))
            }
            _ => Err("give exactly one of `env = \"VAR\"` or `file = \"PATH\"`".into()),
        }
    }
}

impl FerryConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // toml's Display quotes the offending source line, which may hold a secret typed
        // inline: report the line number and message only.
        let mut config: FerryConfig = toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            ConfigError::Parse {
                path: path.to_path_buf(),
                message: match line {
                    Some(l) => format!("line {l}: {}", e.message()),
                    None => e.message().to_string(),
                },
            }
        })?;
        config.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        // Nonsense is refused here, with its reason, rather than found out under load.
        validate::check(&config).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })?;
        Ok(config)
    }

    /// The runtime settings, with the compile cache under `data_dir` unless set.
    pub fn runtime_settings(&self, data_dir: &Path) -> RuntimeSettings {
        let mut settings = self.runtime.clone();
        settings
            .cache_dir
            .get_or_insert_with(|| data_dir.join("cache"));
        settings
    }

    pub fn data_dir(&self) -> Option<PathBuf> {
        self.data_dir.as_ref().map(|d| self.base_dir.join(d))
    }

    /// Builds the tenant's connections and secrets: what its plugins may use.
    pub fn grants(&self, tenant: &str) -> Result<Grants, ConfigError> {
        let tc = self
            .tenants
            .get(tenant)
            .ok_or_else(|| ConfigError::UnknownTenant(tenant.to_string()))?;
        let mut grants = Grants::for_tenant(tenant);
        for (name, conn) in &tc.connections {
            match conn {
                ConnectionConfig::Http {
                    base_url,
                    ionapi,
                    allow,
                    timeout_ms,
                    max_response_bytes,
                    max_request_bytes,
                    allow_insecure_http,
                } => {
                    let cfg_err = |message: String| ConnectionError::Config {
                        connection: name.clone(),
                        message,
                    };
                    let timeout = timeout_ms.unwrap_or(30_000);
                    let auth = match ionapi {
                        Some(r) => {
                            let text = r.resolve(&self.base_dir).map_err(|message| {
                                ConfigError::Secret {
                                    tenant: tenant.to_string(),
                                    name: format!("{name}.ionapi"),
                                    message,
                                }
                            })?;
                            let file = IonApiFile::parse(&text).map_err(|message| {
                                ConnectionError::Credentials {
                                    source_name: format!("connection '{name}' ionapi"),
                                    message,
                                }
                            })?;
                            Some(Arc::new(TokenProvider::new(
                                file,
                                Duration::from_millis(timeout),
                            )?))
                        }
                        None => None,
                    };
                    let base = match (base_url, &auth) {
                        (Some(u), _) => u.clone(),
                        (None, Some(a)) => a.base_url().map_err(cfg_err)?,
                        (None, None) => {
                            return Err(cfg_err("needs base_url or ionapi".into()).into());
                        }
                    };
                    let mut settings = HttpSettings::new(base);
                    settings.allow = allow.clone();
                    settings.timeout_ms = timeout;
                    if let Some(n) = max_response_bytes {
                        settings.max_response_bytes = *n;
                    }
                    if let Some(n) = max_request_bytes {
                        settings.max_request_bytes = *n;
                    }
                    settings.allow_insecure_http = *allow_insecure_http;
                    grants.http.insert(
                        name.clone(),
                        Arc::new(HttpConnection::new(tenant, name, settings, auth)?),
                    );
                }
                ConnectionConfig::Sqlite(s) => {
                    let mut s = s.clone();
                    s.path = self.base_dir.join(&s.path);
                    grants
                        .sql
                        .insert(name.clone(), Arc::new(SqlConnection::sqlite(name, &s)?));
                }
                ConnectionConfig::SqlServer {
                    connection_string,
                    max_rows,
                    timeout_ms,
                } => {
                    let text = connection_string
                        .resolve(&self.base_dir)
                        .map_err(|message| ConfigError::Secret {
                            tenant: tenant.to_string(),
                            name: format!("{name}.connection_string"),
                            message,
                        })?;
                    let mut settings = SqlServerSettings::default();
                    if let Some(n) = max_rows {
                        settings.max_rows = *n;
                    }
                    if let Some(t) = timeout_ms {
                        settings.timeout_ms = *t;
                    }
                    grants.sql.insert(
                        name.clone(),
                        Arc::new(SqlConnection::sql_server(
                            name,
                            &settings,
                            Secret::new(text),
                        )?),
                    );
                }
            }
        }
        for (name, r) in &tc.secrets {
            let value = r
                .resolve(&self.base_dir)
                .map_err(|message| ConfigError::Secret {
                    tenant: tenant.to_string(),
                    name: name.clone(),
                    message,
                })?;
            grants.secrets.insert(name.clone(), Secret::new(value));
        }
        Ok(grants)
    }

    /// Whether the tenant asked for its `role` plugin to be prepared (snapshotted).
    pub fn plugin_prepare(&self, tenant: &str, role: Role) -> bool {
        self.tenants
            .get(tenant)
            .and_then(|t| t.plugins.get(role.as_str()))
            .is_some_and(|p| p.prepare)
    }

    /// The settings the tenant gave its `role` plugin.
    pub fn plugin_settings(&self, tenant: &str, role: Role) -> BTreeMap<String, String> {
        self.tenants
            .get(tenant)
            .and_then(|t| t.plugins.get(role.as_str()))
            .map(|p| p.settings.clone())
            .unwrap_or_default()
    }
}
