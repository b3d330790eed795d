//! Each tenant's connections, tried in the background under `ferry serve` with `ferry
//! doctor`'s own checks (an OAuth grant, a `SELECT 1`), the last result of each kept in
//! memory for the Health screen and the admin API's health answer. Per node: each node shows
//! what it can reach itself.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::StreamExt;
use serde::Serialize;

use super::{Context, ServiceError, doctor};
use crate::config::ConnectionConfig;
use crate::runtime::connections::oauth::TokenProvider;

/// One connection's last check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConnectionStatus {
    /// The connection's name in `[tenants.T.connections]`.
    pub name: String,
    /// What it is and how it is tried: `http (OAuth grant)`, `sqlite`, `sqlserver`.
    pub kind: String,
    /// None: not checked yet.
    pub ok: Option<bool>,
    /// What was found (`SELECT 1 ok`), or why it failed; never a secret's value.
    pub detail: Option<String>,
    /// What to do about a failure.
    pub fix: Option<String>,
    /// When it was last tried (RFC 3339).
    pub checked_at: Option<String>,
}

/// The last result per (tenant, connection); shared by the checker and the readers.
#[derive(Clone, Default)]
pub struct Board(Arc<RwLock<BTreeMap<(String, String), ConnectionStatus>>>);

impl Board {
    fn record(&self, tenant: &str, status: ConnectionStatus) {
        // A panicked writer left whole entries behind; reading them on is fine.
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        map.insert((tenant.to_string(), status.name.clone()), status);
    }

    fn get(&self, tenant: &str, name: &str) -> Option<ConnectionStatus> {
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(&(tenant.to_string(), name.to_string())).cloned()
    }
}

fn kind(conn: &ConnectionConfig) -> &'static str {
    match conn {
        ConnectionConfig::Http {
            ionapi: Some(_), ..
        } => "http (OAuth grant)",
        ConnectionConfig::Http { ionapi: None, .. } => "http",
        ConnectionConfig::Sqlite(_) => "sqlite",
        ConnectionConfig::SqlServer { .. } => "sqlserver",
    }
}

/// The tenant's configured connections, by name, each with its last check (if any yet).
pub fn tenant_status(ctx: &Context, tenant: &str) -> Result<Vec<ConnectionStatus>, ServiceError> {
    let tc = ctx.tenant(tenant)?;
    Ok(tc
        .connections
        .iter()
        .map(|(name, conn)| {
            ctx.connections
                .get(tenant, name)
                .unwrap_or(ConnectionStatus {
                    name: name.clone(),
                    kind: kind(conn).to_string(),
                    ok: None,
                    detail: None,
                    fix: None,
                    checked_at: None,
                })
        })
        .collect())
}

/// Tries every tenant's connections, keeping each `.ionapi` connection's token provider
/// between rounds: M3's token is fetched once and again when due for renewal, as the flows'
/// own connection does, rather than a new grant every round.
#[derive(Default)]
pub struct Checker {
    providers: HashMap<(String, String), Arc<TokenProvider>>,
}

/// Connections tried at once: one tenant's silent host (each check waits up to doctor's
/// timeout) must not hold back the other tenants' rows, nor a round open hundreds at once.
const AT_ONCE: usize = 16;

impl Checker {
    /// Tries every tenant's every connection once, up to `AT_ONCE` at a time, recording
    /// each result as it comes.
    pub async fn check_all(&mut self, ctx: &Context) {
        let base = &ctx.config.base_dir;
        let mut checks = Vec::new();
        for (tenant, tc) in &ctx.config.tenants {
            for (name, conn) in &tc.connections {
                let provider = match conn {
                    ConnectionConfig::Http {
                        ionapi: Some(r),
                        timeout_ms,
                        ..
                    } => match self.providers.entry((tenant.clone(), name.clone())) {
                        Entry::Occupied(p) => Some(Ok(p.get().clone())),
                        Entry::Vacant(v) => Some(
                            doctor::ionapi_provider(base, r, *timeout_ms)
                                .map(|p| v.insert(Arc::new(p)).clone()),
                        ),
                    },
                    _ => None,
                };
                checks.push(async move {
                    let outcome = match provider {
                        Some(Ok(p)) => doctor::grant(&p).await,
                        Some(Err(e)) => Err(e),
                        None => doctor::try_connection(base, tenant, name, conn).await,
                    };
                    record(ctx, tenant, name, conn, outcome);
                });
            }
        }
        futures_util::stream::iter(checks)
            .for_each_concurrent(AT_ONCE, |check| check)
            .await;
    }
}

fn record(
    ctx: &Context,
    tenant: &str,
    name: &str,
    conn: &ConnectionConfig,
    outcome: Result<String, (String, String)>,
) {
    let checked_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    // Logged when it changes, not at every check.
    let was = ctx.connections.get(tenant, name).and_then(|s| s.ok);
    match (&outcome, was) {
        (Err((why, _)), Some(true) | None) => {
            tracing::warn!(%tenant, connection = %name, "connection check failed: {why}");
        }
        (Ok(_), Some(false)) => {
            tracing::info!(%tenant, connection = %name, "connection check ok again");
        }
        _ => {}
    }
    let (ok, detail, fix) = match outcome {
        Ok(detail) => (true, detail, None),
        Err((why, fix)) => (false, why, Some(fix)),
    };
    ctx.connections.record(
        tenant,
        ConnectionStatus {
            name: name.to_string(),
            kind: kind(conn).to_string(),
            ok: Some(ok),
            detail: Some(detail),
            fix,
            checked_at: Some(checked_at),
        },
    );
}

/// `ferry serve`'s checker: every connection now, then every `every`.
pub async fn watch(ctx: Arc<Context>, every: Duration) {
    let mut checker = Checker::default();
    loop {
        checker.check_all(&ctx).await;
        tokio::time::sleep(every).await;
    }
}

/// A tenant whose QuoteWerks database answers and whose M3 doesn't, for the health tests.
#[cfg(test)]
#[path = "connections_tests.rs"]
pub(crate) mod fixture;
