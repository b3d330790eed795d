//! `ferry doctor`: everything a tenant needs, tried one by one, each with what to do when it
//! fails. Every secret is read by its reference, every `.ionapi` file gets a real OAuth grant,
//! every SQL connection a `SELECT 1`, and each configured plugin file is compared with the
//! component serving its role (a changed file that was never activated is reported, not
//! silently ignored). `ferry serve` runs the same checks when it starts and logs failures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Context, ServiceError};
use crate::config::{ConnectionConfig, SecretRef, TenantConfig};
use crate::runtime::connections::oauth::{IonApiFile, TokenProvider};
use crate::runtime::connections::sql::{SqlConnection, SqlServerSettings};
use crate::runtime::grants::Secret;
use crate::runtime::{Role, digest_of};
use ferry_store::Store;

/// How long one network check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// None: about the whole installation (config, data directory).
    pub tenant: Option<String>,
    /// What was checked (`secret host.webhook_secret`, `connection m3: OAuth grant`).
    pub what: String,
    pub ok: bool,
    /// What was found (`ok`, or why it failed).
    pub detail: String,
    /// What to do about a failure.
    pub fix: Option<String>,
}

impl Check {
    fn ok(tenant: Option<&str>, what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            tenant: tenant.map(str::to_string),
            what: what.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn failed(
        tenant: Option<&str>,
        what: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            tenant: tenant.map(str::to_string),
            what: what.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Runs every check for `tenant` (or every configured tenant). Fails only when there is
/// nothing to check (no config, or an unknown tenant); every problem found is a failed check.
pub async fn run(ctx: &Context, tenant: Option<&str>) -> Result<Vec<Check>, ServiceError> {
    let Some(path) = &ctx.config_path else {
        return Err(ServiceError::Input(
            "ferry doctor needs --config FILE (or FERRY_CONFIG)".into(),
        ));
    };
    let names: Vec<&String> = match tenant {
        Some(t) => {
            ctx.tenant(t)?;
            ctx.config.tenants.keys().filter(|n| *n == t).collect()
        }
        None => ctx.config.tenants.keys().collect(),
    };
    let mut checks = vec![Check::ok(
        None,
        "config",
        format!(
            "{} parsed: {} tenant(s)",
            path.display(),
            ctx.config.tenants.len()
        ),
    )];
    let store = match ctx.open_store().await {
        Ok(s) => {
            checks.push(Check::ok(None, "store", "opens"));
            Some(s)
        }
        // A data directory `ferry serve` has not used yet: nothing is active anywhere.
        Err(ServiceError::NoDatabase(path)) => {
            checks.push(Check::ok(
                None,
                "store",
                format!("none yet at {} (ferry serve creates it)", path.display()),
            ));
            None
        }
        Err(e) => {
            checks.push(Check::failed(
                None,
                "store",
                e.to_string(),
                "check the config's store (its URL or reference, the server answering) or the data directory's permissions and free space (--data-dir)",
            ));
            None
        }
    };
    for name in names {
        let tc = ctx.tenant(name)?;
        checks.extend(secrets(ctx, name, tc));
        checks.extend(connections(ctx, name, tc).await);
        checks.extend(plugins(ctx, name, tc, store.as_deref()).await);
    }
    Ok(checks)
}

/// Every secret the tenant names, read by reference.
fn secrets(ctx: &Context, tenant: &str, tc: &TenantConfig) -> Vec<Check> {
    let mut refs: BTreeMap<String, &SecretRef> = BTreeMap::new();
    if let Some(r) = &tc.host.webhook_secret {
        refs.insert("host.webhook_secret".into(), r);
    }
    if let Some(r) = &tc.host.ion_token {
        refs.insert("host.ion_token".into(), r);
    }
    for (name, r) in &tc.secrets {
        refs.insert(format!("secrets.{name}"), r);
    }
    for (name, conn) in &tc.connections {
        match conn {
            ConnectionConfig::Http {
                ionapi: Some(r), ..
            } => {
                refs.insert(format!("connections.{name}.ionapi"), r);
            }
            ConnectionConfig::SqlServer {
                connection_string, ..
            } => {
                refs.insert(
                    format!("connections.{name}.connection_string"),
                    connection_string,
                );
            }
            _ => {}
        }
    }
    refs.into_iter()
        .map(|(key, r)| match r.resolve(&ctx.config.base_dir) {
            Ok(_) => Check::ok(Some(tenant), format!("secret {key}"), "readable"),
            Err(why) => Check::failed(
                Some(tenant),
                format!("secret {key}"),
                why,
                format!("set what [tenants.{tenant}] {key} refers to, or point it elsewhere"),
            ),
        })
        .collect()
}

/// Each connection tried: an OAuth grant for an HTTP connection with an `.ionapi` file, a
/// `SELECT 1` for a SQL one.
async fn connections(ctx: &Context, tenant: &str, tc: &TenantConfig) -> Vec<Check> {
    let mut checks = Vec::new();
    for (name, conn) in &tc.connections {
        let what = format!("connection {name}");
        checks.push(
            match try_connection(&ctx.config.base_dir, tenant, name, conn).await {
                Ok(detail) => Check::ok(Some(tenant), what, detail),
                Err((why, fix)) => Check::failed(Some(tenant), what, why, fix),
            },
        );
    }
    checks
}

/// One connection tried (`ferry doctor`, and `ferry serve`'s periodic connection checks):
/// what was found, or why it failed and what to do about it. Never a secret's value.
pub async fn try_connection(
    base: &Path,
    tenant: &str,
    name: &str,
    conn: &ConnectionConfig,
) -> Result<String, (String, String)> {
    match conn {
        ConnectionConfig::Http { ionapi: None, .. } => {
            Ok("no credentials to try (no ionapi)".into())
        }
        ConnectionConfig::Http {
            ionapi: Some(r),
            timeout_ms,
            ..
        } => oauth(base, r, *timeout_ms).await,
        ConnectionConfig::Sqlite(s) => {
            let path = base.join(&s.path);
            if path.is_file() {
                let mut s = s.clone();
                s.path = path;
                match SqlConnection::sqlite(name, &s) {
                    Ok(c) => ping(&c).await,
                    Err(e) => Err((e.to_string(), "check the file is a SQLite database".into())),
                }
            } else {
                Err((
                    format!("no database file at {}", path.display()),
                    format!("fix [tenants.{tenant}.connections.{name}] path"),
                ))
            }
        }
        ConnectionConfig::SqlServer {
            connection_string,
            timeout_ms,
            ..
        } => match connection_string.resolve(base) {
            Err(why) => Err((why, "see the connection_string secret above".into())),
            Ok(text) => {
                let mut settings = SqlServerSettings::default();
                if let Some(t) = timeout_ms {
                    settings.timeout_ms = *t;
                }
                match SqlConnection::sql_server(name, &settings, Secret::new(text)) {
                    Ok(c) => ping(&c).await,
                    Err(e) => Err((e.to_string(), "check the connection string".into())),
                }
            }
        },
    }
}

async fn oauth(
    base: &Path,
    r: &SecretRef,
    timeout_ms: Option<u64>,
) -> Result<String, (String, String)> {
    grant(&ionapi_provider(base, r, timeout_ms)?).await
}

/// The token provider for an `.ionapi` file given by reference (read and parsed, no call yet).
pub fn ionapi_provider(
    base: &Path,
    r: &SecretRef,
    timeout_ms: Option<u64>,
) -> Result<TokenProvider, (String, String)> {
    let text = r
        .resolve(base)
        .map_err(|why| (why, "see the ionapi secret above".to_string()))?;
    let file = IonApiFile::parse(&text).map_err(|why| {
        (
            format!("the .ionapi file: {why}"),
            "download the service account's .ionapi file again from ION API".to_string(),
        )
    })?;
    let timeout = Duration::from_millis(timeout_ms.unwrap_or(30_000)).min(CHECK_TIMEOUT);
    TokenProvider::new(file, timeout).map_err(|e| {
        (
            e.to_string(),
            "check the .ionapi file's pu and ot".to_string(),
        )
    })
}

/// A valid token from `provider`: its cached one while that is not due for renewal, else a
/// new OAuth grant.
pub async fn grant(provider: &TokenProvider) -> Result<String, (String, String)> {
    match provider.token().await.map_err(ferry_domain::RoleError::from) {
        Ok(_) => Ok("OAuth grant ok".into()),
        Err(e) => Err((
            format!("OAuth grant failed: {e}"),
            "check the .ionapi file's credentials (ci, cs, saak, sask) and that its pu/ot URL answers from here".into(),
        )),
    }
}

async fn ping(conn: &SqlConnection) -> Result<String, (String, String)> {
    conn.ping(Instant::now() + CHECK_TIMEOUT)
        .await
        .map(|()| "SELECT 1 ok".to_string())
        .map_err(|why| {
            (
                why,
                "check the database is reachable from here and the credentials".to_string(),
            )
        })
}

/// Each configured plugin file against the component serving its role.
async fn plugins(
    ctx: &Context,
    tenant: &str,
    tc: &TenantConfig,
    store: Option<&dyn Store>,
) -> Vec<Check> {
    let (active, installs) = match store {
        Some(s) => (
            s.active().await.unwrap_or_default(),
            s.installs(Some(tenant)).await.unwrap_or_default(),
        ),
        None => Default::default(),
    };
    let mut checks = Vec::new();
    for (role, pc) in &tc.plugins {
        let what = format!("plugin {role}");
        let serving = active
            .iter()
            .find(|a| a.tenant == tenant && a.role == role.as_str())
            .map(|a| a.digest.clone());
        let Some(file) = &pc.file else {
            checks.push(match serving {
                Some(d) => Check::ok(Some(tenant), what, format!("active {}", short(&d))),
                None => Check::failed(
                    Some(tenant),
                    what,
                    "no file configured and none active",
                    install_hint(tenant, *role, None),
                ),
            });
            continue;
        };
        let path = ctx.config.base_dir.join(file);
        let digest = match std::fs::read(&path) {
            Ok(bytes) => digest_of(&bytes),
            Err(e) => {
                checks.push(Check::failed(
                    Some(tenant),
                    what,
                    format!("reading {}: {e}", path.display()),
                    format!("fix [tenants.{tenant}.plugins.{role}] file"),
                ));
                continue;
            }
        };
        let installed = installs
            .iter()
            .any(|i| i.role == role.as_str() && i.digest == digest);
        checks.push(match serving {
            None => Check::ok(
                Some(tenant),
                what,
                format!(
                    "{} not active yet (ferry serve activates it at start)",
                    short(&digest)
                ),
            ),
            Some(d) if d == digest => {
                Check::ok(Some(tenant), what, format!("active {}", short(&d)))
            }
            Some(d) if installed => Check::ok(
                Some(tenant),
                what,
                format!(
                    "active {} (chosen with ferry plugin); the file is installed as {}",
                    short(&d),
                    short(&digest)
                ),
            ),
            Some(d) => Check::failed(
                Some(tenant),
                what,
                format!(
                    "{} changed ({}) and was never activated: {} still serves",
                    path.display(),
                    short(&digest),
                    short(&d)
                ),
                install_hint(tenant, *role, Some(&path)),
            ),
        });
    }
    checks
}

fn short(digest: &str) -> &str {
    &digest[..12.min(digest.len())]
}

fn install_hint(tenant: &str, role: Role, file: Option<&PathBuf>) -> String {
    let file = file.map_or("FILE".to_string(), |f| f.display().to_string());
    format!("ferry plugin install {file} --tenant {tenant} --role {role} --activate")
}
