//! What a plugin may use for one tenant: that tenant's named connections, the plugin's
//! non-secret settings, and the names of secrets it may check values against. A plugin sees
//! connections by name only; another tenant's names simply don't exist here.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::connections::http::HttpConnection;
use super::connections::sql::SqlConnection;

#[derive(Default)]
pub struct Grants {
    pub tenant: String,
    /// Short name of the plugin (role and digest prefix) for logs.
    pub plugin: String,
    pub http: BTreeMap<String, Arc<HttpConnection>>,
    pub sql: BTreeMap<String, Arc<SqlConnection>>,
    pub settings: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Secret>,
}

impl Grants {
    /// Grants for a tenant with nothing granted yet.
    pub fn for_tenant(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_string(),
            ..Self::default()
        }
    }

    /// The same grants with this plugin's settings and log name.
    pub fn with_plugin(&self, plugin: &str, settings: BTreeMap<String, String>) -> Self {
        Self {
            tenant: self.tenant.clone(),
            plugin: plugin.to_string(),
            http: self.http.clone(),
            sql: self.sql.clone(),
            settings,
            secrets: self.secrets.clone(),
        }
    }
}

/// A secret value held by the host. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison (no early exit on the first differing byte).
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let a = self.0.as_bytes();
        let b = presented.as_bytes();
        // Lengths are compared in the open; the secret's length is not what protects it.
        a.len() == b.len() && bool::from(a.ct_eq(b))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
