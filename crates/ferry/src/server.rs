//! `ferry serve`: the store, the runtime and registry, tenants, workers, pollers and the HTTP
//! API in one process.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiState, ConnLimits, Readiness, RequestLimits, router};
use crate::config::FerryConfig;
use crate::flows::now_ms;
use crate::flows::poller::poll_ready_quotes;
use crate::flows::worker::Workers;
use crate::node::Node;
use crate::runtime::{Registry, Runtime};
use crate::tenant::TenantEnv;
use ferry_store::Store;

/// Runs until `shutdown` resolves, announcing itself with one `READY {json}` line on stdout.
pub async fn serve(
    config: FerryConfig,
    data_dir: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let server = start(config, data_dir, None).await?;
    // One machine-readable line for scripts and tests, then people's lines.
    println!(
        "READY {}",
        serde_json::json!({ "server": "ferry", "base_url": server.base_url(), "tenants": server.tenants })
    );
    tracing::info!("ferry serving on {}", server.base_url());
    shutdown.await;
    server.stop().await
}

/// A server running in this process.
pub struct RunningServer {
    pub addr: std::net::SocketAddr,
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    pub tenants: Vec<String>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and background work; waits for the HTTP server to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await.context("server task")?
    }
}

/// Starts everything and returns once the listener is bound. `listener`: an already-bound
/// socket (so a caller can know the address before the server exists), else the config's.
pub async fn start(
    config: FerryConfig,
    data_dir: &Path,
    listener: Option<std::net::TcpListener>,
) -> anyhow::Result<RunningServer> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let settings = config.runtime_settings(data_dir);
    let files = ferry_layout::DataDir::new(data_dir);
    crate::api::install_metrics();
    let runtime = Runtime::new(settings)?;
    // One code path for every backend: the config says where (SQLite in the data directory
    // unless `store` names a PostgreSQL database).
    let location = config.store_location(data_dir)?;
    let opened = ferry_store::open(&location)
        .await
        .with_context(|| format!("opening the store ({location})"))?;
    if opened.schema.from != opened.schema.to {
        tracing::info!(
            "store {location}: schema migrated from version {} to {}",
            opened.schema.from,
            opened.schema.to
        );
    }
    let store: Arc<dyn Store> = opened.store;
    // Connections' rate limits hold across every node sharing this store.
    crate::runtime::connections::rate::share_buckets(store.clone());
    let registry = Registry::open(runtime, store.clone(), &files.plugins()).await?;
    bootstrap_plugins(&config, &registry).await?;
    recheck_active_plugins(&config, &registry).await?;

    let mut tenants = HashMap::new();
    for name in config.tenants.keys() {
        tenants.insert(
            name.clone(),
            Arc::new(
                TenantEnv::build(&config, name, registry.clone())?.with_shadows(store.clone()),
            ),
        );
    }
    for env in tenants.values() {
        env.start_preparing();
    }
    let tenants = Arc::new(tenants);
    let wake = Arc::new(Notify::new());
    let jobs = store.clone();

    let node = Node::boot(data_dir)?;
    if node.owns_earlier_claims {
        // Claims this node made before it died: resumed now, not when their leases run out.
        let resumed = jobs.release_claims_of(&node.id, now_ms()).await?;
        if resumed > 0 {
            tracing::info!(node = %node.id, "resuming {resumed} jobs this node had claimed before it restarted");
        }
    }
    tracing::info!(node = %node.id, "node id");
    let mut background = Vec::new();
    // The flows' view of each tenant: its roles resolve the active plugin at every call, so
    // one view serves for the process's life.
    let flow_tenants: Arc<HashMap<String, Arc<ferry_flows::Tenant>>> = Arc::new(
        tenants
            .iter()
            .map(|(name, env)| (name.clone(), Arc::new(env.flow_tenant())))
            .collect(),
    );
    let workers = Arc::new(Workers {
        store: jobs.clone(),
        tenants: flow_tenants.clone(),
        wake: wake.clone(),
        node: node.id.clone(),
        lease_ms: i64::try_from(config.server.lease_ms).unwrap_or(i64::MAX),
        customers: Arc::new(
            tenants
                .iter()
                .map(|(name, env)| {
                    (
                        name.clone(),
                        crate::services::customer_sync::roles(env.clone()),
                    )
                })
                .collect(),
        ),
    });
    background.push(tokio::spawn(workers.run(config.server.workers)));
    for env in flow_tenants.values() {
        background.push(tokio::spawn(poll_ready_quotes(
            env.clone(),
            jobs.clone(),
            wake.clone(),
            node.id.clone(),
        )));
        background.push(tokio::spawn(crate::flows::status::poll_order_status(
            env.clone(),
            jobs.clone(),
            node.id.clone(),
        )));
    }
    for (name, tenant) in &config.tenants {
        background.push(tokio::spawn(crate::flows::catalog::schedule(
            name.clone(),
            tenant.sync.catalog.clone(),
            jobs.clone(),
            node.id.clone(),
        )));
        for policy in [
            crate::flows::prices::Policy::Prices(tenant.sync.prices.clone()),
            crate::flows::prices::Policy::Stock(tenant.sync.stock.clone()),
        ] {
            background.push(tokio::spawn(crate::flows::prices::schedule(
                name.clone(),
                policy,
                jobs.clone(),
                node.id.clone(),
            )));
        }
        if let Some(env) = tenants.get(name) {
            background.push(tokio::spawn(crate::services::customer_sync::schedule(
                env.clone(),
                tenant.sync.customers.clone(),
                jobs.clone(),
                node.id.clone(),
            )));
        }
    }
    background.push(tokio::spawn(crate::api::sample_store_metrics(
        store.clone(),
        config.tenants.keys().cloned().collect(),
    )));
    background.push(tokio::spawn(crate::alerts::run(
        config.clone(),
        data_dir.to_path_buf(),
        store.clone(),
        node.id.clone(),
    )));
    let refresh = Duration::from_millis(config.server.registry_refresh_ms.max(100));
    let reg = registry.clone();
    background.push(tokio::spawn(async move {
        loop {
            tokio::time::sleep(refresh).await;
            match reg.refresh().await {
                Ok(0) => {}
                Ok(n) => tracing::info!("registry: {n} plugin bindings changed"),
                Err(e) => tracing::warn!("registry refresh failed: {e}"),
            }
        }
    }));

    let admin = Arc::new(crate::services::Context::for_server(
        config.clone(),
        data_dir,
        store.clone(),
        registry.clone(),
    ));
    // Each connection tried in the background for the Health screen; old audit pruned.
    if config.server.connection_check_secs > 0 {
        background.push(tokio::spawn(crate::services::connections::watch(
            admin.clone(),
            Duration::from_secs(config.server.connection_check_secs),
        )));
    }
    background.push(tokio::spawn(crate::services::retention::run(
        config.clone(),
        store.clone(),
    )));
    let app = router(
        ApiState {
            store: jobs,
            tenants: tenants.clone(),
            wake,
            admin: Some(admin),
        },
        RequestLimits::from_config(&config.server),
        Readiness::new(
            store.clone(),
            Duration::from_millis(config.server.ready_timeout_ms),
        ),
    );
    let listener = match listener {
        Some(l) => {
            l.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(l)?
        }
        None => tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?,
    };
    let addr = listener.local_addr()?;
    background.push(tokio::spawn(crate::node::announce(
        store.clone(),
        node.id.clone(),
        addr,
    )));
    let stop = CancellationToken::new();
    let limits = ConnLimits::from_config(&config.server);
    let task = tokio::spawn(crate::api::serve(listener, app, limits, stop.clone()).map(
        move |served| {
            for task in background {
                task.abort();
            }
            // The node's id stays locked until the server is done.
            drop(node);
            served.context("HTTP server")
        },
    ));
    Ok(RunningServer {
        addr,
        store,
        registry,
        tenants: tenants.keys().cloned().collect(),
        stop,
        task,
    })
}

/// Checks every active plugin as an activation would: the tenant's trust policy and a
/// package's needs against the config, which may have changed while the server was stopped
/// (`require_signature` turned on, a grant taken away). A refusal stops start-up, naming
/// tenant, role, component and reason, as a refused plugin file does.
async fn recheck_active_plugins(config: &FerryConfig, registry: &Registry) -> anyhow::Result<()> {
    for tenant in config.tenants.keys() {
        for role in crate::runtime::Role::ALL {
            let Some(active) = registry.active(tenant, role) else {
                continue;
            };
            let bytes = registry
                .localize(&active.digest, tenant)
                .await
                .with_context(|| format!("tenant '{tenant}', plugin {role} ({})", active.digest))?;
            crate::services::packages::check_installed_under(
                config,
                registry,
                tenant,
                role,
                &active.digest,
                &bytes,
            )
            .map_err(|e| {
                anyhow::anyhow!(
                    "tenant '{tenant}', plugin {role} ({}): not started: {e}",
                    active.digest
                )
            })?;
        }
    }
    Ok(())
}

/// Installs and activates the config's plugin files for roles that have no active plugin
/// (first start); never overrides an activation made with `ferry plugin`.
async fn bootstrap_plugins(config: &FerryConfig, registry: &Registry) -> anyhow::Result<()> {
    for (tenant, tc) in &config.tenants {
        for (&role, ps) in &tc.plugins {
            let Some(file) = &ps.file else { continue };
            if registry.active(tenant, role).is_some() {
                continue;
            }
            let path = config.base_dir.join(file);
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            // The tenant's trust policy holds here as at `ferry plugin install`; a package's
            // needs are checked against the config before anything is stored.
            let refused = |e: &dyn std::fmt::Display| {
                anyhow::anyhow!(
                    "tenant '{tenant}', plugin {role} ({}): not started: {e}",
                    path.display()
                )
            };
            let admitted = crate::services::packages::admit_under(&tc.trust, tenant, role, bytes)
                .map_err(|e| refused(&e))?;
            if let Some(package) = &admitted.package {
                crate::services::packages::check_packaged(registry, role, package)
                    .await
                    .map_err(|e| refused(&e))?;
                crate::services::packages::check_manifest(config, tenant, role, &package.manifest)
                    .map_err(|e| refused(&e))?;
            }
            let installed = registry.install(admitted.component, tenant, role).await?;
            if let Some(package) = &admitted.package {
                crate::services::packages::keep(registry, tenant, &installed.digest, package)
                    .await?;
            }
            // Never activate a plugin that needs more than its grants.
            config.check_plugin(tenant, role, Some(&installed.report.imports))?;
            registry.activate(tenant, role, &installed.digest).await?;
            tracing::info!(%tenant, %role, digest = %installed.digest, "plugin activated from config");
        }
    }
    Ok(())
}
