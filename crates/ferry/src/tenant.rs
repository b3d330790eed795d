//! A tenant as the server runs it: its grants per role (the connections and secrets its
//! config grants that role's plugin, and the plugin's settings), the host's own credentials,
//! its policies, and the registry that says which plugin serves each role.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{FerryConfig, HostCredentials, QuoteToOrderPolicy};
use crate::runtime::{Grants, Plugin, Registry, Role, Runtime};
use ferry_flows::RetryPolicy;

pub struct TenantEnv {
    pub name: String,
    pub policy: QuoteToOrderPolicy,
    pub retry: RetryPolicy,
    /// The header a quoting webhook carries its shared secret in (`host.webhook_header`).
    pub webhook_header: axum::http::HeaderName,
    /// The host's own credentials (webhook secret, ION token): never in any plugin's grants.
    pub host: HostCredentials,
    registry: Arc<Registry>,
    grants: HashMap<Role, Arc<Grants>>,
    /// The prepared (snapshotted) transform, for the digest it was made from.
    prepared: Option<Prepared>,
    served: ServedGrants,
    /// Where shadow runs are found and recorded (a server's store); none: no shadowing.
    shadows: Option<Arc<dyn ferry_store::Store>>,
    candidate: crate::services::shadow_run::LoadedCandidate,
    connector_shadows: crate::services::shadow_connectors::ConnectorShadows,
}

/// Per role, the grants the active component is given (narrowed to its package's manifest),
/// by the digest they were made for: worked out once per activation, not per call.
type ServedGrants = Arc<Mutex<HashMap<Role, (String, Arc<Grants>)>>>;

/// The digest a prepared plugin was made from, and the plugin to serve for it.
type PreparedSlot = Arc<Mutex<Option<(String, Arc<Plugin>)>>>;

#[derive(Default, Clone)]
struct Prepared {
    slot: PreparedSlot,
    busy: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "tenant '{tenant}' has no active {role} plugin (install one: ferry plugin install FILE --tenant {tenant} --role {role} --activate)"
)]
pub struct NoPlugin {
    pub tenant: String,
    pub role: Role,
}

impl TenantEnv {
    /// Resolves the tenant's config (secrets, connections, each role's grants) and checks
    /// every active plugin against its grants: a plugin whose settings or imports need a
    /// connection it is not granted fails here, naming tenant, role and what is missing.
    pub fn build(
        config: &FerryConfig,
        name: &str,
        registry: Arc<Registry>,
    ) -> anyhow::Result<Self> {
        let tc = config.tenant(name)?;
        for role in Role::ALL {
            let active = registry.active(name, role);
            config.check_plugin(
                name,
                role,
                active.as_ref().map(|p| p.report.imports.as_slice()),
            )?;
        }
        let resolved = config.resolve_tenant(name)?;
        let grants = Role::ALL
            .into_iter()
            .map(|role| (role, resolved.grants(role)))
            .collect();
        if resolved.host.webhook_secret.is_none() {
            tracing::warn!(
                tenant = %name,
                "no host.webhook_secret: every webhook to /hooks/{name}/quotewerks will be refused"
            );
        }
        Ok(Self {
            name: name.to_string(),
            policy: tc.quote_to_order.clone(),
            webhook_header: resolved.host.webhook_header.clone(),
            host: resolved.host,
            retry: tc.retry.clone(),
            registry,
            grants,
            prepared: config
                .plugin_prepare(name, Role::Transform)
                .then(Prepared::default),
            served: ServedGrants::default(),
            shadows: None,
            candidate: Default::default(),
            connector_shadows: Default::default(),
        })
    }

    /// Runs the tenant's shadow transform or connector (when one is started) beside the live
    /// one and records both answers in `store` (see `services::shadow_run`,
    /// `services::shadow_connectors`).
    pub fn with_shadows(mut self, store: Arc<dyn ferry_store::Store>) -> Self {
        self.shadows = Some(store);
        self
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        self.registry.runtime()
    }

    /// The plugin serving `role` now; hold the `Arc` for the whole call. A transform the
    /// tenant asked to prepare is served from its snapshot once that is ready (the snapshot is
    /// made in the background; calls meanwhile use the plain component).
    pub fn plugin(&self, role: Role) -> Result<Arc<Plugin>, NoPlugin> {
        self.plugins().plugin(role)
    }

    /// Starts making the transform's snapshot (when the tenant asked for one) on the prepare
    /// thread, without waiting for it: `ferry serve` calls it at start, so the first run after
    /// a start is not the one that pays for it (about a second of CPU, and its calls served
    /// meanwhile by the plain component).
    pub fn start_preparing(&self) {
        if self.prepared.is_some() {
            // Asking for the transform is what starts it; the plain component answers now.
            let _ = self.plugin(Role::Transform);
        }
    }

    /// What finds this tenant's plugins, detached from `self` (the role adapters keep one).
    fn plugins(&self) -> TenantPlugins {
        TenantPlugins {
            tenant: self.name.clone(),
            registry: self.registry.clone(),
            grants: self.grants.clone(),
            prepared: self.prepared.clone(),
            served: self.served.clone(),
        }
    }

    /// What the active `role` plugin is given (see [`TenantPlugins::grants`]).
    pub fn grants(&self, role: Role) -> Arc<Grants> {
        self.plugins().grants(role)
    }
}

/// The roles a flow or the API asks: adapters that resolve this tenant's active plugin (and
/// its grants) at every call, so an activation or a finished transform snapshot serves the
/// next call.
impl TenantEnv {
    /// The tenant as the flows see it: name, policies and the roles its plugins serve.
    pub fn flow_tenant(&self) -> ferry_flows::Tenant {
        ferry_flows::Tenant {
            name: self.name.clone(),
            policy: self.policy.clone(),
            retry: self.retry.clone(),
            roles: self.roles(),
            transform_settings: self.transform_settings(),
        }
    }

    pub fn roles(&self) -> ferry_domain::Roles {
        let mut roles = crate::runtime::roles::roles_with_default_transform(
            Arc::new(self.plugins()),
            Arc::new(crate::mapping::DefaultMappings),
        );
        if let Some(store) = &self.shadows {
            // A mapping version saved from the console or admin API serves before the
            // configured transform (services::mappings_versions).
            roles.transform = Arc::new(crate::services::mappings_versions::SavedMappings::new(
                &self.name,
                store.clone(),
                roles.transform,
            ));
            roles.transform = Arc::new(crate::services::shadow_run::ShadowedTransform {
                tenant: self.name.clone(),
                live: roles.transform,
                store: store.clone(),
                registry: self.registry.clone(),
                grants: self.grants(Role::Transform),
                loaded: self.candidate.clone(),
            });
            use crate::services::shadow_connectors::Shadowed;
            roles.erp = Arc::new(Shadowed::new(
                &self.name,
                Role::Erp,
                roles.erp,
                store.clone(),
                self.registry.clone(),
                self.plugins().config_grants(Role::Erp),
                self.connector_shadows.clone(),
            ));
            roles.quoting = Arc::new(Shadowed::new(
                &self.name,
                Role::Quoting,
                roles.quoting,
                store.clone(),
                self.registry.clone(),
                self.plugins().config_grants(Role::Quoting),
                self.connector_shadows.clone(),
            ));
        }
        roles
    }

    /// The transform's settings, as a transform's context carries them.
    pub fn transform_settings(&self) -> Vec<(String, String)> {
        self.grants(Role::Transform)
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// The registry, grants and transform snapshot of one tenant: which plugin serves a role now.
#[derive(Clone)]
struct TenantPlugins {
    tenant: String,
    registry: Arc<Registry>,
    grants: HashMap<Role, Arc<Grants>>,
    prepared: Option<Prepared>,
    served: ServedGrants,
}

impl TenantPlugins {
    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, NoPlugin> {
        let active = self.registry.active(&self.tenant, role).ok_or(NoPlugin {
            tenant: self.tenant.clone(),
            role,
        })?;
        let (Role::Transform, Some(prepared)) = (role, &self.prepared) else {
            return Ok(active);
        };
        if let Ok(slot) = prepared.slot.lock()
            && let Some((digest, plugin)) = slot.as_ref()
            && *digest == active.digest
        {
            return Ok(plugin.clone());
        }
        if !prepared.busy.swap(true, Ordering::SeqCst) {
            self.prepare_in_background(active.clone(), prepared);
        }
        Ok(active)
    }

    /// What the tenant's config gives its `role` plugin, before a package's manifest narrows it.
    fn config_grants(&self, role: Role) -> Arc<Grants> {
        self.grants
            .get(&role)
            .cloned()
            .unwrap_or_else(|| Arc::new(Grants::for_tenant(&self.tenant)))
    }

    /// What the role's active plugin is given: the config's grants for the role, narrowed to
    /// what its package's manifest declares, with the manifest's setting defaults (the same
    /// as `ferry plugin run` gives a package).
    fn grants(&self, role: Role) -> Arc<Grants> {
        let base = self.config_grants(role);
        let Some(active) = self.registry.active(&self.tenant, role) else {
            return base;
        };
        if let Ok(served) = self.served.lock()
            && let Some((digest, grants)) = served.get(&role)
            && *digest == active.digest
        {
            return grants.clone();
        }
        let grants = Arc::new(crate::services::packages::serving_grants(
            &self.registry,
            &self.tenant,
            &active.digest,
            &base,
        ));
        if let Ok(mut served) = self.served.lock() {
            served.insert(role, (active.digest.clone(), grants.clone()));
        }
        grants
    }

    /// Asks the runtime for the prepared transform (made on its prepare thread, shared with
    /// every tenant whose transform is the same component under the same settings). Never on
    /// the caller's threads: calls meanwhile are served by the plain component.
    fn prepare_in_background(&self, active: Arc<Plugin>, prepared: &Prepared) {
        let digest = active.digest.clone();
        let (registry, grants, tenant) = (
            self.registry.clone(),
            self.grants(Role::Transform),
            self.tenant.clone(),
        );
        let (slot, busy) = (prepared.slot.clone(), prepared.busy.clone());
        let bytes = {
            let (registry, digest) = (registry.clone(), digest.clone());
            move || registry.blob(&digest).map_err(|e| e.to_string())
        };
        registry
            .runtime()
            .prepare_in_background(digest.clone(), bytes, grants, move |outcome| {
                let serve = match outcome {
                    Ok(plugin) => {
                        tracing::info!(%tenant, base = %digest, prepared = %plugin.digest, "transform prepared");
                        plugin
                    }
                    // Not fatal: calls keep using the plain component, and this version is
                    // not tried again (a new activation is).
                    Err(e) => {
                        tracing::warn!(%tenant, "preparing the transform failed: {e}");
                        active
                    }
                };
                if let Ok(mut s) = slot.lock() {
                    *s = Some((digest, serve));
                }
                busy.store(false, Ordering::SeqCst);
            });
    }
}

impl crate::runtime::PluginSource for TenantPlugins {
    fn runtime(&self) -> &Arc<Runtime> {
        self.registry.runtime()
    }

    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, String> {
        TenantPlugins::plugin(self, role).map_err(|e| e.to_string())
    }

    fn grants(&self, role: Role) -> Arc<Grants> {
        TenantPlugins::grants(self, role)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use ferry_store::MemoryStore;

    /// A mapping other than the shipped one, as a tenant's setting (the snapshot bakes it in).
    const CUSTOM: &str = "[mapping]\nkind = \"quote-to-order\"\noutput = \"order\"\nid = \"DocNo\"\n[header]\nCUOR = \"DocNo\"\nORTP = \"'ZZZ'\"\n";

    /// Tenants `acme` and `globex` with the same (default) transform settings, `initech` with
    /// its own mapping; each with the shipped mapping component active and prepared.
    async fn tenants(dir: &std::path::Path) -> Vec<TenantEnv> {
        let custom = toml::Value::from(CUSTOM).to_string();
        let text = format!(
            "[tenants.acme.plugins.transform]\nprepare = true\n\
             [tenants.globex.plugins.transform]\nprepare = true\n\
             [tenants.initech.plugins.transform]\nprepare = true\n\
             settings = {{ \"mapping.quote-to-order\" = {custom} }}\n"
        );
        let config = FerryConfig::parse(&text, dir).expect("config");
        let runtime = Runtime::new(crate::runtime::RuntimeSettings {
            max_instances: 16,
            memory_limit_mib: 64,
            ..Default::default()
        })
        .expect("runtime");
        let registry = Registry::open(runtime, Arc::new(MemoryStore::new()), &dir.join("plugins"))
            .await
            .expect("registry");
        let bytes = std::fs::read(ferry_layout::component("ferry_mapping"))
            .expect("target/plugins/ferry_mapping.wasm (cargo xtask plugins)");
        let mut envs = Vec::new();
        for name in ["acme", "globex", "initech"] {
            let installed = registry
                .install(bytes.clone(), name, Role::Transform)
                .await
                .expect("install");
            registry
                .activate(name, Role::Transform, &installed.digest)
                .await
                .expect("activate");
            envs.push(TenantEnv::build(&config, name, registry.clone()).expect("tenant"));
        }
        envs
    }

    /// The transform a tenant serves once its prepared one is in, polling without ever
    /// yielding to the async runtime the caller is on (a generous bound, so a hang fails).
    fn prepared(p: &TenantPlugins) -> Arc<Plugin> {
        let base = p
            .registry
            .active(&p.tenant, Role::Transform)
            .expect("active");
        let until = Instant::now() + Duration::from_secs(180);
        loop {
            let served = p.plugin(Role::Transform).expect("transform");
            if served.digest != base.digest {
                return served;
            }
            assert!(Instant::now() < until, "{}: never prepared", p.tenant);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The bug: preparing ran as a task on the server's async threads, stalling every flow on
    /// them for about a second. Here the runtime has one thread and this test holds it (a
    /// blocking wait, no await) until the prepared transform is served: the old code's prepare
    /// task never got that thread and never finished.
    #[test]
    fn preparing_needs_none_of_the_callers_async_threads() {
        let dir = tempfile::tempdir().expect("tmp");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let other_ran = Arc::new(AtomicBool::new(false));
        rt.block_on(async {
            let envs = tenants(dir.path()).await;
            let acme = &envs[0];
            let base = acme.plugin(Role::Transform).expect("transform");
            let flag = other_ran.clone();
            let other = tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
            // Until the snapshot is ready, calls get the plain component (no waiting on it).
            assert_eq!(base.digest, acme.plugin(Role::Transform).expect("t").digest);
            let served = prepared(&acme.plugins());
            assert_ne!(served.digest, base.digest);
            // Nothing on this runtime ran while it was held, the other task included.
            assert!(!other_ran.load(Ordering::SeqCst));
            other.await.expect("other task");
        });
        assert!(other_ran.load(Ordering::SeqCst));
    }

    /// A packaged plugin under `ferry serve` gets its manifest's setting defaults and only
    /// the connections, secrets and settings it declares; a bare component gets the role's
    /// grants as configured. (The old code gave both the configured grants, no defaults.)
    #[tokio::test]
    async fn a_packaged_plugin_is_given_its_defaults_and_only_what_its_manifest_declares() {
        let dir = tempfile::tempdir().expect("tmp");
        for (file, value) in [("shared.secret", "s1"), ("other.secret", "o1")] {
            std::fs::write(dir.path().join(file), value).expect("secret");
        }
        let plugin = "connections = [\"m3\", \"extra\"]\nsecrets = [\"shared\", \"other\"]\n\
                      settings = { pct = \"7\", stray = \"x\" }\n";
        let mut text = String::new();
        for t in ["acme", "bare"] {
            text.push_str(&format!(
                "[tenants.{t}.connections.m3]\nkind = \"http\"\nbase_url = \"https://m3.example/\"\n\
                 [tenants.{t}.connections.extra]\nkind = \"http\"\nbase_url = \"https://x.example/\"\n\
                 [tenants.{t}.secrets]\nshared = {{ file = \"shared.secret\" }}\nother = {{ file = \"other.secret\" }}\n\
                 [tenants.{t}.plugins.transform]\n{plugin}"
            ));
        }
        let config = FerryConfig::parse(&text, dir.path()).expect("config");
        let runtime = Runtime::new(crate::runtime::RuntimeSettings::default()).expect("runtime");
        let registry = Registry::open(
            runtime,
            Arc::new(MemoryStore::new()),
            &dir.path().join("plugins"),
        )
        .await
        .expect("registry");
        let bytes = std::fs::read(ferry_layout::component("ferry_mapping")).expect("component");
        let manifest = "name = \"p\"\nversion = \"1.0.0\"\nvendor = \"v\"\nsecrets = [\"shared\"]\n\
                        [connections.m3]\nkind = \"http\"\n\
                        [settings.pct]\ntype = \"number\"\ndefault = 5\n\
                        [settings.currency]\ntype = \"string\"\ndefault = \"EUR\"\n";
        for t in ["acme", "bare"] {
            let installed = registry
                .install(bytes.clone(), t, Role::Transform)
                .await
                .expect("install");
            if t == "acme" {
                registry
                    .put_beside(
                        &installed.digest,
                        t,
                        crate::authoring::manifest::FILE_NAME,
                        manifest,
                    )
                    .await
                    .expect("manifest");
            }
            registry
                .activate(t, Role::Transform, &installed.digest)
                .await
                .expect("activate");
        }
        let shown = |g: &Grants| {
            let keys = |m: Vec<&String>| m.into_iter().cloned().collect::<Vec<_>>().join(",");
            let settings: Vec<String> =
                g.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "http {} secrets {} settings {}",
                keys(g.http.keys().collect()),
                keys(g.secrets.keys().collect()),
                settings.join(",")
            )
        };
        let acme = TenantEnv::build(&config, "acme", registry.clone()).expect("acme");
        assert_eq!(
            shown(&acme.grants(Role::Transform)),
            "http m3 secrets shared settings currency=EUR,pct=7"
        );
        // What the flows' transform calls get is the same.
        let source: &dyn crate::runtime::PluginSource = &acme.plugins();
        assert_eq!(
            shown(&source.grants(Role::Transform)),
            shown(&acme.grants(Role::Transform))
        );
        let bare = TenantEnv::build(&config, "bare", registry).expect("bare");
        assert_eq!(
            shown(&bare.grants(Role::Transform)),
            "http extra,m3 secrets other,shared settings pct=7,stray=x"
        );
    }

    #[tokio::test]
    async fn tenants_with_the_same_component_and_settings_share_one_prepared_transform() {
        let dir = tempfile::tempdir().expect("tmp");
        let envs = tenants(dir.path()).await;
        let [acme, globex, initech] = [&envs[0], &envs[1], &envs[2]];
        for env in [acme, globex, initech] {
            env.plugin(Role::Transform).expect("transform");
        }
        let plugins: Vec<_> = envs.iter().map(TenantEnv::plugins).collect();
        let (a, g, i) = tokio::task::spawn_blocking(move || {
            let [a, g, i] = [0, 1, 2].map(|k| prepared(&plugins[k]));
            (a, g, i)
        })
        .await
        .expect("waiting");
        assert!(
            Arc::ptr_eq(&a, &g),
            "same component and settings: one prepared plugin"
        );
        assert!(
            !Arc::ptr_eq(&a, &i) && a.digest != i.digest,
            "other settings: a snapshot of their own"
        );
    }

    /// The bug: the snapshot was only started by the first call to the transform, so the
    /// first sync after a start paid for it (about a second of CPU beside its pages, its
    /// mapping served meanwhile by the plain component). Started at start, it is made before
    /// any call (the slot is watched directly: asking for the plugin would start it).
    #[tokio::test]
    async fn the_snapshot_is_started_at_start_not_by_the_first_call() {
        let dir = tempfile::tempdir().expect("tmp");
        let envs = tenants(dir.path()).await;
        let acme = &envs[0];
        acme.start_preparing();
        let slot = acme.prepared.as_ref().expect("prepare = true").slot.clone();
        let made = tokio::task::spawn_blocking(move || {
            let until = Instant::now() + Duration::from_secs(120);
            while Instant::now() < until {
                if let Some((_, plugin)) = slot.lock().expect("slot").as_ref() {
                    return Some(plugin.digest.clone());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            None
        })
        .await
        .expect("waiting");
        let base = acme
            .registry
            .active("acme", Role::Transform)
            .expect("active");
        let made = made.expect("no snapshot made without a call to the transform");
        assert_ne!(made, base.digest, "the snapshot, not the plain component");
        assert_eq!(acme.plugin(Role::Transform).expect("t").digest, made);
    }
}
