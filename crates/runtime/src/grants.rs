//! What a plugin may use for one tenant: the named connections and secrets its tenant grants
//! that plugin (never the tenant's whole set, never the host's own credentials), and its
//! non-secret settings. A plugin sees connections by name only; names it was not granted
//! simply don't exist here. [`check_plugin`] refuses a plugin whose settings or imports need
//! more than that, before any of its code runs.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::connections::http::HttpConnection;
use super::connections::sql::SqlConnection;
use super::contract::Role;

#[derive(Default)]
pub struct Grants {
    pub tenant: String,
    /// Short name of the plugin (role and digest prefix) for logs.
    pub plugin: String,
    pub http: BTreeMap<String, Arc<HttpConnection>>,
    pub sql: BTreeMap<String, Arc<SqlConnection>>,
    pub settings: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, Secret>,
    /// A shadow run's candidate (`tape.rs`): its requests and statements are answered from
    /// the live call's tape, and one made outside a replay (say, while it is instantiated) is
    /// refused, never sent.
    pub shadow: bool,
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
            shadow: self.shadow,
        }
    }

    /// The same grants for a shadow run's candidate (see [`Grants::shadow`]).
    pub fn for_shadow(&self) -> Self {
        Self {
            shadow: true,
            ..self.with_plugin(&self.plugin, self.settings.clone())
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

/// A kind of named connection, as a component's imports need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    /// Reached through the `http` import.
    Http,
    /// Reached through the `sql` import.
    Sql,
}

impl ConnectionKind {
    fn import(self) -> &'static str {
        match self {
            ConnectionKind::Http => "http",
            ConnectionKind::Sql => "sql",
        }
    }
}

/// What a plugin needs and its tenant does not grant it, found before any of its code runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant '{tenant}', plugin {role}: {}", .missing.join("; "))]
pub struct Ungranted {
    pub tenant: String,
    pub role: Role,
    /// Each need that is not granted, and where to grant it.
    pub missing: Vec<String>,
}

/// Checks a plugin against its grants: every setting that names a connection (`connection`,
/// or a key ending in `_connection`: the connectors take their connection's name from it)
/// must name one the plugin is granted, and a component that imports `http` or `sql` must be
/// granted a connection of that kind. `imports` is the component's import list (None when
/// no component is known yet: only the settings are checked).
pub fn check_plugin(
    tenant: &str,
    role: Role,
    granted: &BTreeMap<String, ConnectionKind>,
    settings: &BTreeMap<String, String>,
    imports: Option<&[String]>,
) -> Result<(), Ungranted> {
    let section = format!("[tenants.{tenant}.plugins.{role}]");
    let mut missing = Vec::new();
    for (key, value) in settings {
        if (key == "connection" || key.ends_with("_connection")) && !granted.contains_key(value) {
            missing.push(format!(
                "setting {key} = \"{value}\" names connection '{value}', which it is not granted \
                 (add \"{value}\" to connections in {section})"
            ));
        }
    }
    for kind in [ConnectionKind::Http, ConnectionKind::Sql] {
        let imported = imports.is_some_and(|list| list.iter().any(|i| imports_interface(i, kind)));
        if imported && !granted.values().any(|k| *k == kind) {
            missing.push(format!(
                "its component imports {}, but it is granted no {} connection (name one in \
                 connections = [...] in {section})",
                kind.import(),
                kind.import()
            ));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Ungranted {
            tenant: tenant.to_string(),
            role,
            missing,
        })
    }
}

/// Whether `import` (e.g. `ferry:host/sql@1.0.0`) is the contract's `kind` interface.
fn imports_interface(import: &str, kind: ConnectionKind) -> bool {
    import
        .strip_prefix(super::contract::HOST.name)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(|rest| rest.split('@').next() == Some(kind.import()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(list: &[(&str, ConnectionKind)]) -> BTreeMap<String, ConnectionKind> {
        list.iter().map(|(n, k)| (n.to_string(), *k)).collect()
    }

    fn settings(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn imports(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_component_importing_sql_needs_a_granted_sql_connection() {
        let sql = imports(&["ferry:host/sql@1.0.0", "ferry:host/log@1.0.0"]);
        let err = check_plugin(
            "acme",
            Role::Quoting,
            &granted(&[("m3", ConnectionKind::Http)]),
            &settings(&[]),
            Some(&sql),
        )
        .expect_err("no sql connection");
        assert_eq!(err.missing.len(), 1);
        assert_eq!(
            err.to_string(),
            "tenant 'acme', plugin quoting: its component imports sql, but it is granted no sql \
             connection (name one in connections = [...] in [tenants.acme.plugins.quoting])"
        );
        let ok = granted(&[("qw", ConnectionKind::Sql)]);
        assert_eq!(
            check_plugin("acme", Role::Quoting, &ok, &settings(&[]), Some(&sql)),
            Ok(())
        );
    }

    #[test]
    fn a_setting_naming_an_ungranted_connection_is_refused_with_its_name() {
        let g = granted(&[("m3", ConnectionKind::Http)]);
        let http = imports(&["ferry:host/http@1.0.0"]);
        let err = check_plugin(
            "acme",
            Role::Erp,
            &g,
            &settings(&[("connection", "m3-test"), ("audit_connection", "m3")]),
            Some(&http),
        )
        .expect_err("m3-test is not granted");
        assert_eq!(err.missing.len(), 1, "{err}");
        assert!(err.missing[0].contains("connection = \"m3-test\""), "{err}");
        // Other settings are not connection names.
        assert_eq!(
            check_plugin(
                "acme",
                Role::Erp,
                &g,
                &settings(&[("api", "v9")]),
                Some(&http)
            ),
            Ok(())
        );
    }

    #[test]
    fn imports_are_matched_by_interface_not_by_substring() {
        assert!(imports_interface(
            "ferry:host/http@1.0.0",
            ConnectionKind::Http
        ));
        assert!(!imports_interface(
            "ferry:host/http@1.0.0",
            ConnectionKind::Sql
        ));
        assert!(!imports_interface(
            "wasi:http/types@0.2.0",
            ConnectionKind::Http
        ));
        assert!(!imports_interface(
            "ferry:host/sqlite@1.0.0",
            ConnectionKind::Sql
        ));
    }
}
