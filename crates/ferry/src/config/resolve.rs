//! Stage two: a parsed tenant becomes what the runtime needs. Secrets are read by reference,
//! HTTP connections get their OAuth clients (`.ionapi`), SQL connections are opened; then each
//! role's plugin gets [`Grants`] holding only the connections and secrets it names, and the
//! host keeps its own credentials apart in [`HostCredentials`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderName;

use super::{ConfigError, ConnectionConfig, FerryConfig, SecretRef, TenantConfig};
use crate::runtime::Role;
use crate::runtime::connections::ConnectionError;
use crate::runtime::connections::http::{HttpConnection, HttpSettings};
use crate::runtime::connections::oauth::{IonApiFile, TokenProvider};
use crate::runtime::connections::sql::{SqlConnection, SqlServerSettings};
use crate::runtime::grants::{Grants, Secret};

/// One tenant, resolved: each role's grants and the host's credentials.
pub struct ResolvedTenant {
    pub name: String,
    pub host: HostCredentials,
    grants: BTreeMap<Role, Arc<Grants>>,
}

impl ResolvedTenant {
    /// What the tenant's `role` plugin may use (nothing, for a role it did not configure).
    pub fn grants(&self, role: Role) -> Arc<Grants> {
        self.grants.get(&role).cloned().unwrap_or_else(|| {
            Arc::new(
                Grants::for_tenant(&self.name)
                    .with_plugin(&label(&self.name, role), BTreeMap::new()),
            )
        })
    }
}

/// The credentials the host checks itself, before any plugin code runs.
pub struct HostCredentials {
    /// The quoting webhook's shared secret; None refuses every webhook.
    pub webhook_secret: Option<Secret>,
    /// The header that carries it (removed before the plugin sees the request).
    pub webhook_header: HeaderName,
    /// ION's bearer token; None refuses every ION event.
    pub ion_token: Option<Secret>,
}

impl HostCredentials {
    /// Whether a webhook presented the tenant's secret (constant time).
    pub fn webhook_matches(&self, presented: &str) -> bool {
        self.webhook_secret
            .as_ref()
            .is_some_and(|s| s.matches(presented))
    }

    /// Whether ION presented the tenant's bearer token (constant time).
    pub fn ion_token_matches(&self, presented: &str) -> bool {
        self.ion_token
            .as_ref()
            .is_some_and(|s| s.matches(presented))
    }
}

impl FerryConfig {
    /// Stage two for one tenant: reads its secrets and builds its connections, then hands
    /// each role's plugin only what it is granted.
    pub fn resolve_tenant(&self, tenant: &str) -> Result<ResolvedTenant, ConfigError> {
        let tc = self.tenant(tenant)?;
        let pool = Pool::build(tenant, tc, &self.base_dir)?;
        let grants = tc
            .plugins
            .iter()
            .map(|(role, plugin)| {
                let mut g = Grants::for_tenant(tenant)
                    .with_plugin(&label(tenant, *role), plugin.settings.clone());
                for name in &plugin.connections {
                    if let Some(c) = pool.http.get(name) {
                        g.http.insert(name.clone(), c.clone());
                    }
                    if let Some(c) = pool.sql.get(name) {
                        g.sql.insert(name.clone(), c.clone());
                    }
                }
                for name in &plugin.secrets {
                    if let Some(s) = pool.secrets.get(name) {
                        g.secrets.insert(name.clone(), s.clone());
                    }
                }
                (*role, Arc::new(g))
            })
            .collect();
        let read = |what: &str, r: &Option<SecretRef>| -> Result<Option<Secret>, ConfigError> {
            r.as_ref()
                .map(|r| {
                    r.resolve(&self.base_dir)
                        .map(Secret::new)
                        .map_err(|message| ConfigError::Secret {
                            tenant: tenant.to_string(),
                            name: format!("host.{what}"),
                            message,
                        })
                })
                .transpose()
        };
        let host = HostCredentials {
            webhook_secret: read("webhook_secret", &tc.host.webhook_secret)?,
            // Checked at parse (validate), so this only fails on a config built by hand.
            webhook_header: HeaderName::from_bytes(tc.host.webhook_header.as_bytes()).map_err(
                |_| ConfigError::Secret {
                    tenant: tenant.to_string(),
                    name: "host.webhook_header".into(),
                    message: "not an HTTP header name".into(),
                },
            )?,
            ion_token: read("ion_token", &tc.host.ion_token)?,
        };
        Ok(ResolvedTenant {
            name: tenant.to_string(),
            host,
            grants,
        })
    }

    /// The grants of the tenant's `role` plugin alone (tools and tests; a server resolves the
    /// whole tenant once with [`FerryConfig::resolve_tenant`]).
    pub fn plugin_grants(&self, tenant: &str, role: Role) -> Result<Arc<Grants>, ConfigError> {
        Ok(self.resolve_tenant(tenant)?.grants(role))
    }
}

/// The plugin's name in logs and errors.
fn label(tenant: &str, role: Role) -> String {
    format!("{tenant}/{role}")
}

/// Every connection and secret of a tenant, built once and shared by the plugins granted
/// them. All are resolved, granted or not, so a broken reference is found at start-up.
struct Pool {
    http: BTreeMap<String, Arc<HttpConnection>>,
    sql: BTreeMap<String, Arc<SqlConnection>>,
    secrets: BTreeMap<String, Secret>,
}

impl Pool {
    fn build(tenant: &str, tc: &TenantConfig, base: &Path) -> Result<Self, ConfigError> {
        let secret = |name: String, r: &SecretRef| {
            r.resolve(base).map_err(|message| ConfigError::Secret {
                tenant: tenant.to_string(),
                name,
                message,
            })
        };
        let mut pool = Pool {
            http: BTreeMap::new(),
            sql: BTreeMap::new(),
            secrets: BTreeMap::new(),
        };
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
                    rate_per_sec,
                    rate_burst,
                } => {
                    let cfg_err = |message: String| ConnectionError::Config {
                        connection: name.clone(),
                        message,
                    };
                    let timeout = timeout_ms.unwrap_or(30_000);
                    let auth = match ionapi {
                        Some(r) => {
                            let text = secret(format!("{name}.ionapi"), r)?;
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
                    let url = match (base_url, &auth) {
                        (Some(u), _) => u.clone(),
                        (None, Some(a)) => a.base_url().map_err(cfg_err)?,
                        (None, None) => {
                            return Err(cfg_err("needs base_url or ionapi".into()).into());
                        }
                    };
                    let mut settings = HttpSettings::new(url);
                    settings.allow = allow.clone();
                    settings.timeout_ms = timeout;
                    if let Some(n) = max_response_bytes {
                        settings.max_response_bytes = *n;
                    }
                    if let Some(n) = max_request_bytes {
                        settings.max_request_bytes = *n;
                    }
                    settings.allow_insecure_http = *allow_insecure_http;
                    settings.rate_per_sec = *rate_per_sec;
                    settings.rate_burst = *rate_burst;
                    pool.http.insert(
                        name.clone(),
                        Arc::new(HttpConnection::new(tenant, name, settings, auth)?),
                    );
                }
                ConnectionConfig::Sqlite(s) => {
                    let mut s = s.clone();
                    s.path = base.join(&s.path);
                    pool.sql
                        .insert(name.clone(), Arc::new(SqlConnection::sqlite(name, &s)?));
                }
                ConnectionConfig::SqlServer {
                    connection_string,
                    max_rows,
                    timeout_ms,
                } => {
                    let text = secret(format!("{name}.connection_string"), connection_string)?;
                    let mut settings = SqlServerSettings::default();
                    if let Some(n) = max_rows {
                        settings.max_rows = *n;
                    }
                    if let Some(t) = timeout_ms {
                        settings.timeout_ms = *t;
                    }
                    pool.sql.insert(
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
            pool.secrets
                .insert(name.clone(), Secret::new(secret(name.clone(), r)?));
        }
        Ok(pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT: &str = r#"
[tenants.acme.connections.m3]
kind = "http"
base_url = "https://m3.example/"
[tenants.acme.connections.qw]
kind = "sqlite"
path = "qw.db"
[tenants.acme.secrets]
shared = { file = "shared.secret" }
[tenants.acme.host]
webhook_secret = { file = "webhook.secret" }
ion_token = { file = "ion.secret" }
[tenants.acme.plugins.erp]
connections = ["m3"]
settings = { connection = "m3" }
[tenants.acme.plugins.quoting]
connections = ["qw"]
secrets = ["shared"]
"#;

    fn resolved(dir: &Path) -> ResolvedTenant {
        for (file, value) in [
            ("shared.secret", "s1"),
            ("webhook.secret", "w1\n"),
            ("ion.secret", "i1"),
        ] {
            std::fs::write(dir.join(file), value).expect("secret");
        }
        FerryConfig::parse(TENANT, dir)
            .expect("parse")
            .resolve_tenant("acme")
            .expect("resolve")
    }

    #[test]
    fn each_plugin_gets_only_the_connections_and_secrets_it_is_granted() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = resolved(dir.path());
        let erp = t.grants(Role::Erp);
        assert_eq!(erp.http.keys().collect::<Vec<_>>(), ["m3"]);
        assert!(erp.sql.is_empty() && erp.secrets.is_empty());
        assert_eq!(
            erp.settings.get("connection").map(String::as_str),
            Some("m3")
        );
        assert_eq!(erp.plugin, "acme/erp");
        let quoting = t.grants(Role::Quoting);
        assert!(quoting.http.is_empty());
        assert_eq!(quoting.sql.keys().collect::<Vec<_>>(), ["qw"]);
        assert_eq!(quoting.secrets.keys().collect::<Vec<_>>(), ["shared"]);
        let transform = t.grants(Role::Transform);
        assert!(transform.http.is_empty() && transform.sql.is_empty());
        assert!(transform.secrets.is_empty() && transform.settings.is_empty());
    }

    #[test]
    fn the_hosts_credentials_are_read_by_reference_and_in_no_plugins_grants() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = resolved(dir.path());
        assert!(
            t.host.webhook_matches("w1"),
            "a file's newline is not part of it"
        );
        assert!(!t.host.webhook_matches("w1\n") && !t.host.webhook_matches(""));
        assert!(t.host.ion_token_matches("i1") && !t.host.ion_token_matches("w1"));
        assert_eq!(t.host.webhook_header.as_str(), "x-quotewerks-secret");
        for role in Role::ALL {
            let g = t.grants(role);
            assert!(
                g.secrets
                    .values()
                    .all(|s| s.expose() != "w1" && s.expose() != "i1"),
                "{role} was handed a host credential"
            );
        }
        // No host table: both endpoints refuse everything.
        let bare = FerryConfig::parse("[tenants.acme]\n", dir.path())
            .expect("parse")
            .resolve_tenant("acme")
            .expect("resolve");
        assert!(!bare.host.webhook_matches("") && !bare.host.ion_token_matches(""));
    }

    #[test]
    fn an_unreadable_host_credential_fails_resolve_naming_its_key() {
        let dir = tempfile::tempdir().expect("tmp");
        let config = FerryConfig::parse(
            "[tenants.acme.host]\nion_token = { env = \"FERRY_TEST_NEVER_SET_4712\" }\n",
            dir.path(),
        )
        .expect("parse");
        let err = config
            .resolve_tenant("acme")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            "tenant 'acme', secret 'host.ion_token': environment variable FERRY_TEST_NEVER_SET_4712 is not set"
        );
    }
}
