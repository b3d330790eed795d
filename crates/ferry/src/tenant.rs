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
}

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
        })
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

    /// What finds this tenant's plugins, detached from `self` (the role adapters keep one).
    fn plugins(&self) -> TenantPlugins {
        TenantPlugins {
            tenant: self.name.clone(),
            registry: self.registry.clone(),
            grants: self.grants.clone(),
            prepared: self.prepared.clone(),
        }
    }

    pub fn grants(&self, role: Role) -> Arc<Grants> {
        self.grants
            .get(&role)
            .cloned()
            .unwrap_or_else(|| Arc::new(Grants::for_tenant(&self.name)))
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
        crate::runtime::roles::roles_with_default_transform(
            Arc::new(self.plugins()),
            Arc::new(crate::mapping::DefaultMappings),
        )
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

    fn grants(&self, role: Role) -> Arc<Grants> {
        self.grants
            .get(&role)
            .cloned()
            .unwrap_or_else(|| Arc::new(Grants::for_tenant(&self.tenant)))
    }

    fn prepare_in_background(&self, active: Arc<Plugin>, prepared: &Prepared) {
        let digest = active.digest.clone();
        let (registry, grants, tenant) = (
            self.registry.clone(),
            self.grants(Role::Transform),
            self.tenant.clone(),
        );
        let (slot, busy) = (prepared.slot.clone(), prepared.busy.clone());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            busy.store(false, Ordering::SeqCst);
            return;
        };
        handle.spawn(async move {
            let outcome = match registry.blob(&digest) {
                Ok(bytes) => registry.runtime().prepare_transform(&bytes, grants).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(plugin) => {
                    tracing::info!(%tenant, base = %digest, prepared = %plugin.digest, "transform prepared");
                    if let Ok(mut s) = slot.lock() {
                        *s = Some((digest, Arc::new(plugin)));
                    }
                }
                // Not fatal: calls keep using the plain component, and this version is not
                // tried again (a new activation is).
                Err(e) => {
                    tracing::warn!(%tenant, "preparing the transform failed: {e}");
                    if let Ok(mut s) = slot.lock() {
                        *s = Some((digest, active));
                    }
                }
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
