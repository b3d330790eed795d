//! A tenant as the server runs it: its grants per role (connections, secrets, the plugin's
//! settings), its policies, and the registry that says which plugin serves each role.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{FerryConfig, QuoteToOrderPolicy};
use crate::flows::RetryPolicy;
use crate::runtime::{Grants, Plugin, Registry, Role, Runtime};

pub struct TenantEnv {
    pub name: String,
    pub policy: QuoteToOrderPolicy,
    pub retry: RetryPolicy,
    registry: Arc<Registry>,
    grants: HashMap<Role, Arc<Grants>>,
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
    pub fn build(
        config: &FerryConfig,
        name: &str,
        registry: Arc<Registry>,
    ) -> anyhow::Result<Self> {
        let tc = config
            .tenants
            .get(name)
            .ok_or_else(|| anyhow::anyhow!("tenant '{name}' is not configured"))?;
        let base = config.grants(name)?;
        let grants = Role::ALL
            .into_iter()
            .map(|role| {
                let settings = config.plugin_settings(name, role);
                (
                    role,
                    Arc::new(base.with_plugin(&format!("{name}/{role}"), settings)),
                )
            })
            .collect();
        Ok(Self {
            name: name.to_string(),
            policy: tc.quote_to_order.clone(),
            retry: tc.retry.clone(),
            registry,
            grants,
        })
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        self.registry.runtime()
    }

    /// The plugin serving `role` now; hold the `Arc` for the whole call.
    pub fn plugin(&self, role: Role) -> Result<Arc<Plugin>, NoPlugin> {
        self.registry.active(&self.name, role).ok_or(NoPlugin {
            tenant: self.name.clone(),
            role,
        })
    }

    pub fn grants(&self, role: Role) -> Arc<Grants> {
        self.grants
            .get(&role)
            .cloned()
            .unwrap_or_else(|| Arc::new(Grants::for_tenant(&self.name)))
    }
}
