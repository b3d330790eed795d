//! Plugins: install, activate, roll back and list a tenant's (the registry), check and run a
//! component (for plugin authors, no tenant needed). Whatever makes a component serve a
//! tenant's role (install with activate, activate, rollback) first checks it against the
//! grants the tenant's config gives that role, so a plugin needing an ungranted connection
//! never serves, with or without a server running.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use url::Url;

use super::{Context, ServiceError, read_file};
use crate::runtime::connections::http::{HttpConnection, HttpSettings};
use crate::runtime::connections::sql::{SqlConnection, SqliteSettings};
use crate::runtime::dynamic::DynamicError;
use crate::runtime::registry::Installed;
use crate::runtime::{ContractReport, Grants, Plugin, Registry, Role, Runtime};

/// What `install` did.
pub struct InstallOutcome {
    pub installed: Installed,
    pub activated: bool,
}

/// One installed component: who it serves, what it is, and whether it is active.
#[derive(Debug, Clone, Serialize)]
pub struct PluginRow {
    pub tenant: String,
    pub role: String,
    pub digest: String,
    /// The component's own name and version, when it carries them (its `component-name`
    /// and `version` metadata).
    pub name: Option<String>,
    pub version: Option<String>,
    /// The contract package it was built against (`ferry:erp@1.1.0`).
    pub contract: Option<String>,
    pub installed_at: String,
    pub active: bool,
}

/// The registry over the data directory's store and blobs (created on first use).
pub async fn open_registry(ctx: &Context) -> Result<Arc<Registry>, ServiceError> {
    if let Some(registry) = ctx.registry() {
        return Ok(registry);
    }
    std::fs::create_dir_all(&ctx.data_dir).map_err(|source| ServiceError::Read {
        path: ctx.data_dir.clone(),
        source,
    })?;
    let runtime = Runtime::new(ctx.config.runtime_settings(&ctx.data_dir))?;
    let files = ferry_layout::DataDir::new(&ctx.data_dir);
    // The context's store when it has one (a server's, a test's), else the configured one.
    let store = match &ctx.store {
        Some(store) => store.clone(),
        None => {
            ferry_store::open(&ctx.config.store_location(&ctx.data_dir)?)
                .await?
                .store
        }
    };
    Ok(Registry::open(runtime, store, &files.plugins()).await?)
}

/// Stores a component, or the component of a plugin package, for the tenant's role (checked
/// against the tenant's trust policy, the contract and the role's grants), and activates it
/// when asked. A package's manifest is kept beside the component.
pub async fn install(
    ctx: &Context,
    file: &Path,
    tenant: &str,
    role: Role,
    activate: bool,
) -> Result<InstallOutcome, ServiceError> {
    ctx.tenant(tenant)?;
    install_bytes(ctx, read_file(file)?, tenant, role, activate).await
}

/// [`install`] of bytes already read (or downloaded and checked against a pin).
pub async fn install_bytes(
    ctx: &Context,
    bytes: Vec<u8>,
    tenant: &str,
    role: Role,
    activate: bool,
) -> Result<InstallOutcome, ServiceError> {
    ctx.tenant(tenant)?;
    let registry = open_registry(ctx).await?;
    let admitted = super::packages::admit(ctx, tenant, role, bytes)?;
    let bytes = admitted.component;
    check_grants(ctx, &registry, tenant, role, &bytes).await?;
    if let Some(package) = &admitted.package {
        super::packages::check_packaged(&registry, role, package).await?;
        if activate {
            super::packages::check_manifest(&ctx.config, tenant, role, &package.manifest)
                .map_err(|e| ServiceError::Input(e.to_string()))?;
        }
    }
    let installed = registry.install(bytes, tenant, role).await?;
    if let Some(package) = &admitted.package {
        super::packages::keep(&registry, tenant, &installed.digest, package).await?;
    }
    if activate {
        registry.activate(tenant, role, &installed.digest).await?;
    }
    Ok(InstallOutcome {
        installed,
        activated: activate,
    })
}

/// Makes an installed component (digest or unique prefix) serve the tenant's role, once it
/// passed the grant check.
pub async fn activate(
    ctx: &Context,
    tenant: &str,
    role: Role,
    digest: &str,
) -> Result<Arc<Plugin>, ServiceError> {
    ctx.tenant(tenant)?;
    let registry = open_registry(ctx).await?;
    let prefix = digest.trim().trim_start_matches("sha256:");
    let mut candidates = registry
        .list(Some(tenant))
        .await?
        .into_iter()
        .filter(|r| r.role == role.as_str() && r.digest.starts_with(prefix));
    // None or several: `activate` below refuses and says why.
    if let (Some(row), None) = (candidates.next(), candidates.next()) {
        let bytes = registry.localize(&row.digest, tenant).await?;
        check_grants(ctx, &registry, tenant, role, &bytes).await?;
        super::packages::check_installed(ctx, &registry, tenant, role, &row.digest, &bytes)?;
    }
    Ok(registry.activate(tenant, role, digest).await?)
}

/// Goes back to the previously active component of the tenant's role, if it still passes
/// the grant check (the config may have changed since it served).
pub async fn rollback(
    ctx: &Context,
    tenant: &str,
    role: Role,
) -> Result<Arc<Plugin>, ServiceError> {
    ctx.tenant(tenant)?;
    let registry = open_registry(ctx).await?;
    let store = ctx.open_store().await?;
    if let Some(previous) = store.previous(tenant, role.as_str()).await? {
        let bytes = registry.localize(&previous.digest, tenant).await?;
        check_grants(ctx, &registry, tenant, role, &bytes).await?;
        super::packages::check_installed(ctx, &registry, tenant, role, &previous.digest, &bytes)?;
    }
    Ok(registry.rollback(tenant, role).await?)
}

/// The component a rollback of the tenant's role would go back to, if any.
pub async fn previous(
    ctx: &Context,
    tenant: &str,
    role: Role,
) -> Result<Option<ferry_store::Activation>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    Ok(store.previous(tenant, role.as_str()).await?)
}

/// Installed components (one tenant's, or all), with what each is.
pub async fn list(ctx: &Context, tenant: Option<&str>) -> Result<Vec<PluginRow>, ServiceError> {
    if let Some(t) = tenant {
        ctx.tenant(t)?;
    }
    let registry = open_registry(ctx).await?;
    let mut rows = Vec::new();
    for r in registry.list(tenant).await? {
        let bytes = registry.fetch(&r.digest).await.ok();
        let meta = bytes
            .as_deref()
            .map(super::metadata::read)
            .unwrap_or_default();
        let contract = match (bytes, Role::parse(&r.role)) {
            (Some(bytes), Some(role)) => {
                let runtime = registry.runtime().clone();
                tokio::task::spawn_blocking(move || runtime.inspect(&bytes, Some(role)))
                    .await?
                    .ok()
                    .and_then(|report| Some(format!("{}@{}", role.package().name, report.version?)))
            }
            _ => None,
        };
        rows.push(PluginRow {
            tenant: r.tenant,
            role: r.role,
            digest: r.digest,
            name: meta.name,
            version: meta.version,
            contract,
            installed_at: r.installed_at,
            active: r.active,
        });
    }
    Ok(rows)
}

/// The component's (or a package's component's) world, contract version, exports and
/// imports, and why it would be refused.
pub async fn check(
    ctx: &Context,
    file: &Path,
    role: Option<Role>,
) -> Result<ContractReport, ServiceError> {
    let runtime = Runtime::new(ctx.config.runtime_settings(&ctx.data_dir))?;
    let bytes = super::packages::component_of(read_file(file)?)?;
    Ok(tokio::task::spawn_blocking(move || runtime.inspect(&bytes, role)).await??)
}

/// One call of `plugin run`: a component, the function and its JSON input, and what it may
/// reach.
pub struct RunRequest {
    pub file: PathBuf,
    pub role: Role,
    pub call: String,
    pub input: serde_json::Value,
    /// Use this configured tenant's grants and settings for the role.
    pub tenant: Option<String>,
    pub settings: Vec<(String, String)>,
    /// HTTP connections without credentials: name and base URL.
    pub http: Vec<(String, String)>,
    /// SQLite connections: name and file.
    pub sqlite: Vec<(String, PathBuf)>,
    pub deadline_ms: Option<u64>,
    pub memory_mib: Option<u64>,
}

/// How a `plugin run` call ended.
pub enum RunOutcome {
    /// The plugin answered (`{"ok": …}` or `{"err": …}`).
    Answered(serde_json::Value),
    /// The call was stopped (deadline, memory cap, trap), with why.
    Stopped(String),
}

/// Calls one export of a component under the normal limits.
pub async fn run(ctx: &Context, req: RunRequest) -> Result<RunOutcome, ServiceError> {
    if let Some(t) = &req.tenant {
        ctx.tenant(t)?;
    }
    let mut rs = ctx.config.runtime_settings(&ctx.data_dir);
    if let Some(ms) = req.deadline_ms {
        rs.call_deadline_ms = ms;
    }
    if let Some(mib) = req.memory_mib {
        rs.memory_limit_mib = mib;
    }
    let runtime = Runtime::new(rs)?;
    let file = read_file(&req.file)?;
    // A package runs as installed: its component, with its declared setting defaults.
    let manifest = super::packages::manifest_of(&file)?;
    let bytes = super::packages::component_of(file)?;
    let (loader, role) = (runtime.clone(), req.role);
    let plugin = tokio::task::spawn_blocking(move || loader.load(&bytes, Some(role))).await??;
    let mut grants = run_grants(ctx, &req, &plugin.label())?;
    if let Some(manifest) = &manifest {
        grants.settings = super::packages::with_defaults(grants.settings, manifest);
    }
    match runtime
        .call_json(&plugin, Arc::new(grants), &req.call, &req.input)
        .await
    {
        Ok(output) => Ok(RunOutcome::Answered(output)),
        Err(DynamicError::Call(stopped)) => Ok(RunOutcome::Stopped(stopped.to_string())),
        Err(other) => Err(ServiceError::Input(other.to_string())),
    }
}

/// Refuses a component that needs a connection the tenant's config does not grant its role.
async fn check_grants(
    ctx: &Context,
    registry: &Registry,
    tenant: &str,
    role: Role,
    bytes: &[u8],
) -> Result<(), ServiceError> {
    let (runtime, bytes) = (registry.runtime().clone(), bytes.to_vec());
    let report = tokio::task::spawn_blocking(move || runtime.inspect(&bytes, Some(role))).await??;
    ctx.config
        .check_plugin(tenant, role, Some(&report.imports))?;
    Ok(())
}

fn run_grants(ctx: &Context, req: &RunRequest, label: &str) -> Result<Grants, ServiceError> {
    let (base, mut settings) = match &req.tenant {
        Some(t) => (
            ctx.config.plugin_grants(t, req.role)?,
            ctx.config.plugin_settings(t, req.role),
        ),
        None => (Arc::new(Grants::for_tenant("cli")), Default::default()),
    };
    settings.extend(req.settings.iter().cloned());
    let mut grants = base.with_plugin(label, settings);
    for (name, url) in &req.http {
        let url = Url::parse(url)
            .map_err(|e| ServiceError::Input(format!("--http {name}: bad URL: {e}")))?;
        let conn = HttpConnection::new(&grants.tenant, name, HttpSettings::new(url), None)
            .map_err(crate::config::ConfigError::from)?;
        grants.http.insert(name.clone(), Arc::new(conn));
    }
    for (name, path) in &req.sqlite {
        let conn = SqlConnection::sqlite(
            name,
            &SqliteSettings {
                path: path.clone(),
                max_rows: 10_000,
                busy_timeout_ms: 5_000,
            },
        )
        .map_err(crate::config::ConfigError::from)?;
        grants.sql.insert(name.clone(), Arc::new(conn));
    }
    Ok(grants)
}
