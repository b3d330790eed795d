//! A plugin package's manifest (`ferry-plugin.toml`): what the plugin is (name, version,
//! vendor, the contract it was built against) and what it needs from a tenant (named
//! connections and their kind, settings with their type and default, secrets it may check).
//! [`Manifest::check_component`] holds it against the component it ships with;
//! [`Manifest::check_tenant`] against what a tenant's config grants, at activation.
//!
//! ```toml
//! name = "pricer"
//! version = "1.2.0"
//! vendor = "Acme Plugins"
//! secrets = ["price_api_key"]
//!
//! [contract]                 # optional: read from the component when absent
//! world = "ferry:transform/plugin"
//! version = "1.1.0"
//!
//! [connections.prices]
//! kind = "http"
//!
//! [settings.discount_pct]
//! type = "number"
//! default = 5
//! description = "Discount on list prices"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::grants::ConnectionKind;
use crate::runtime::{ContractReport, Role};

/// The manifest's file name, in a package and beside a stored component.
pub const FILE_NAME: &str = "ferry-plugin.toml";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("{FILE_NAME}: {0}")]
    Parse(String),
    #[error("{FILE_NAME}: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub vendor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The tenant secrets the plugin may check values against, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    /// Named connections the plugin reaches, by the name its settings or code use.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub connections: BTreeMap<String, ConnectionNeed>,
    /// Settings the plugin reads (`config` import); a tenant may set only these.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, SettingSpec>,
}

/// The world and contract version the component was built against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub world: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionNeed {
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Http,
    Sql,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Sql => "sql",
        }
    }

    fn matches(self, kind: ConnectionKind) -> bool {
        matches!(
            (self, kind),
            (Kind::Http, ConnectionKind::Http) | (Kind::Sql, ConnectionKind::Sql)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingSpec {
    #[serde(rename = "type")]
    pub ty: SettingType,
    /// Absent: the tenant must set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<toml::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettingType {
    String,
    Number,
    Bool,
}

impl SettingType {
    pub fn as_str(self) -> &'static str {
        match self {
            SettingType::String => "string",
            SettingType::Number => "number",
            SettingType::Bool => "bool",
        }
    }

    /// Whether a setting's text (the config's value, numbers and booleans written out) is of
    /// this type.
    pub fn accepts(self, text: &str) -> bool {
        match self {
            SettingType::String => true,
            SettingType::Number => text.trim().parse::<f64>().is_ok_and(f64::is_finite),
            SettingType::Bool => matches!(text, "true" | "false"),
        }
    }

    fn accepts_value(self, value: &toml::Value) -> bool {
        matches!(
            (self, value),
            (SettingType::String, toml::Value::String(_))
                | (
                    SettingType::Number,
                    toml::Value::Integer(_) | toml::Value::Float(_)
                )
                | (SettingType::Bool, toml::Value::Boolean(_))
        )
    }
}

/// What a tenant's config gives one role's plugin, for [`Manifest::check_tenant`].
pub struct TenantGrants<'a> {
    pub tenant: &'a str,
    pub role: Role,
    /// Connections granted to the plugin, with the kind the tenant defines them as.
    pub connections: BTreeMap<String, ConnectionKind>,
    pub secrets: &'a [String],
    pub settings: &'a BTreeMap<String, String>,
}

/// A need of the manifest the tenant's config does not meet, found at activation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant '{tenant}', plugin {plugin}: {}", .problems.join("; "))]
pub struct NotGranted {
    pub tenant: String,
    /// `name@version`.
    pub plugin: String,
    pub problems: Vec<String>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Parse(e.message().to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn to_toml(&self) -> String {
        // Plain data with string keys: serializing it can't fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// `name@version`, as messages name the plugin.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The manifest on its own: names, versions, settings' defaults of their type.
    pub fn validate(&self) -> Result<(), ManifestError> {
        let mut problems = Vec::new();
        if !valid_name(&self.name) {
            problems.push(format!(
                "name '{}': use 1 to 64 of a-z 0-9 - _, starting with a letter",
                self.name
            ));
        }
        if semver::Version::parse(&self.version).is_err() {
            problems.push(format!(
                "version '{}' is not a semantic version (1.2.0)",
                self.version
            ));
        }
        if self.vendor.trim().is_empty() {
            problems.push("vendor is empty".into());
        }
        if let Some(c) = &self.contract {
            if Role::ALL.iter().all(|r| r.world() != c.world) {
                let worlds: Vec<_> = Role::ALL.iter().map(|r| r.world()).collect();
                problems.push(format!(
                    "contract.world '{}' is none of {}",
                    c.world,
                    worlds.join(", ")
                ));
            }
            if semver::Version::parse(&c.version).is_err() {
                problems.push(format!(
                    "contract.version '{}' is not a semantic version",
                    c.version
                ));
            }
        }
        for (name, spec) in &self.settings {
            if let Some(d) = &spec.default
                && !spec.ty.accepts_value(d)
            {
                problems.push(format!(
                    "settings.{name}: default {d} is not a {}",
                    spec.ty.as_str()
                ));
            }
        }
        for name in self.connections.keys().chain(&self.secrets) {
            if !valid_name(name) {
                problems.push(format!("'{name}' is not a valid connection or secret name"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::Invalid(problems))
        }
    }

    /// Holds the manifest against the component it ships with: the component must be a
    /// plugin the host would load, of the manifest's contract (filled in when the manifest
    /// has none), and each host interface it imports for a connection must be declared.
    pub fn check_component(&mut self, report: &ContractReport) -> Result<(), ManifestError> {
        let mut problems = report
            .problems
            .iter()
            .map(|p| format!("the component would be refused: {p}"))
            .collect::<Vec<_>>();
        let found = match (report.world, &report.version) {
            (Some(world), Some(version)) => Some(Contract {
                world: world.to_string(),
                version: version.clone(),
            }),
            _ => None,
        };
        match (&self.contract, found) {
            (None, Some(found)) => self.contract = Some(found),
            (Some(declared), Some(found)) if *declared != found => problems.push(format!(
                "contract says {}@{}, the component was built against {}@{}",
                declared.world, declared.version, found.world, found.version
            )),
            (_, None) if report.problems.is_empty() => {
                problems.push("the component exports none of ferry's role worlds".into())
            }
            _ => {}
        }
        for kind in [Kind::Http, Kind::Sql] {
            let imported = report.imports.iter().any(|i| imports_host(i, kind));
            if imported && !self.connections.values().any(|c| c.kind == kind) {
                problems.push(format!(
                    "the component imports ferry:host/{0}, but declares no {0} connection \
                     ([connections.NAME] kind = \"{0}\")",
                    kind.as_str()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::Invalid(problems))
        }
    }

    /// The role the manifest's contract world is served by.
    pub fn role(&self) -> Option<Role> {
        let world = &self.contract.as_ref()?.world;
        Role::ALL.into_iter().find(|r| r.world() == world)
    }

    /// Checks the tenant's config against the manifest's needs: every declared connection
    /// granted to the plugin with the declared kind, every declared secret granted, every
    /// setting the tenant gives declared and of its type, every setting without a default
    /// given. All problems at once, each naming the capability or setting.
    pub fn check_tenant(&self, g: &TenantGrants<'_>) -> Result<(), NotGranted> {
        let section = format!("[tenants.{}.plugins.{}]", g.tenant, g.role);
        let mut problems = Vec::new();
        for (name, need) in &self.connections {
            match g.connections.get(name) {
                Some(kind) if need.kind.matches(*kind) => {}
                Some(_) => problems.push(format!(
                    "capability connection '{name}' ({}) not granted: the tenant's '{name}' is \
                     not a {} connection",
                    need.kind.as_str(),
                    need.kind.as_str()
                )),
                None => problems.push(format!(
                    "capability connection '{name}' ({}) not granted (add \"{name}\" to \
                     connections in {section})",
                    need.kind.as_str()
                )),
            }
        }
        for name in &self.secrets {
            if !g.secrets.contains(name) {
                problems.push(format!(
                    "capability secret '{name}' not granted (add \"{name}\" to secrets in \
                     {section})"
                ));
            }
        }
        for (key, value) in g.settings {
            match self.settings.get(key) {
                None => problems.push(format!(
                    "setting '{key}' is not one the plugin declares{}",
                    match closest(key, self.settings.keys()) {
                        Some(near) => format!(" (did you mean '{near}'?)"),
                        None => String::new(),
                    }
                )),
                Some(spec) if !spec.ty.accepts(value) => problems.push(format!(
                    "setting '{key}' = \"{value}\" is not a {}",
                    spec.ty.as_str()
                )),
                Some(_) => {}
            }
        }
        for (key, spec) in &self.settings {
            if spec.default.is_none() && !g.settings.contains_key(key) {
                problems.push(format!(
                    "setting '{key}' ({}) has no default and is not set in {section}",
                    spec.ty.as_str()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(NotGranted {
                tenant: g.tenant.to_string(),
                plugin: self.label(),
                problems,
            })
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Whether `import` (`ferry:host/sql@1.1.0`) is the host's interface for `kind`.
fn imports_host(import: &str, kind: Kind) -> bool {
    import
        .strip_prefix("ferry:host/")
        .is_some_and(|rest| rest.split('@').next() == Some(kind.as_str()))
}

/// The declared name nearest a misspelling (at most two edits away).
fn closest<'a>(key: &str, names: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    names
        .map(|n| (edits(key, n), n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

/// Levenshtein distance.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != *cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
