//! Checks a component against the contract this host speaks before it is ever activated:
//! which world it implements, whether its WIT version is compatible, and whether every import
//! is something its role is granted. Refusals name what is missing or mismatched.

use std::fmt;

use serde::{Deserialize, Serialize};
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// A contract package and the version of it this host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: &'static str,
    pub version: Version,
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

const fn v(major: u64, minor: u64, patch: u64) -> Version {
    Version {
        major,
        minor,
        patch,
    }
}

/// The shared types (documents, errors, paging, changes).
pub const TYPES: Package = Package {
    name: "ferry:types",
    version: v(1, 0, 0),
};
/// The host's capabilities (http, sql, log, config, secrets, diagnostics). 1.1 added
/// `log.enabled` and `diagnostics` (vendor details on errors).
pub const HOST: Package = Package {
    name: "ferry:host",
    version: v(1, 1, 0),
};
/// The one WASI draft accepted, for every role: logs go where `ferry:host/log`'s go.
pub const WASI_LOGGING: &str = "wasi:logging/logging@0.1.0-draft";

/// Every package this host serves, each versioned on its own.
pub const PACKAGES: [Package; 5] = [
    TYPES,
    HOST,
    Role::Erp.package(),
    Role::Quoting.package(),
    Role::Transform.package(),
];

/// The package of a `ferry:*` name, if this host serves it.
fn served(package: &str) -> Option<Package> {
    PACKAGES.into_iter().find(|p| p.name == package)
}

/// What a plugin does for a tenant. Each role is one package of the contract (`ferry:erp`...)
/// holding the role's interface (named like the role) and its world `plugin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// `ferry:erp`: world `plugin` exports `erp` (Infor M3).
    Erp,
    /// `ferry:quoting`: world `plugin` exports `quoting` (QuoteWerks).
    Quoting,
    /// `ferry:transform`: world `plugin` exports `transform`.
    Transform,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Erp, Role::Quoting, Role::Transform];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Erp => "erp",
            Role::Quoting => "quoting",
            Role::Transform => "transform",
        }
    }

    /// The role's package and the version of it this host serves. 1.1 of each role is 1.0's
    /// interface in a world that imports `ferry:host@1.1`, so a 1.0 plugin is served as is
    /// (wasmtime resolves its 1.0 names to the 1.1 ones by semver). `ferry:erp` 1.2 added
    /// `list-order-invoices` and `ferry:quoting` 1.2 `set-invoice`: a 1.0 or 1.1 plugin of
    /// those roles lacks an export and is served by its own bindings ([`Role::exports_since`]);
    /// `ferry:erp` 1.3 added `get-item-prices` and `get-stocks` (a 1.2 plugin: its own too),
    /// 1.4 `list-stocks-changed` (a 1.3 plugin: its own).
    pub const fn package(self) -> Package {
        match self {
            Role::Erp => Package {
                name: "ferry:erp",
                version: v(1, 4, 0),
            },
            Role::Quoting => Package {
                name: "ferry:quoting",
                version: v(1, 2, 0),
            },
            Role::Transform => Package {
                name: "ferry:transform",
                version: v(1, 1, 0),
            },
        }
    }

    /// The version whose exports the host's newest bindings of this role expect: a plugin
    /// built against an older minor lacks a function and gets the older bindings.
    pub const fn exports_since(self) -> Version {
        match self {
            // ferry:erp 1.4: `list-stocks-changed` (1.3 plugins: `RolePre::ErpV1_3`, 1.2:
            // `ErpV1_2`, older: `ErpV1_1`).
            Role::Erp => v(1, 4, 0),
            Role::Quoting => v(1, 2, 0),
            Role::Transform => v(1, 0, 0),
        }
    }

    /// The role's world, fully qualified.
    pub fn world(self) -> &'static str {
        match self {
            Role::Erp => "ferry:erp/plugin",
            Role::Quoting => "ferry:quoting/plugin",
            Role::Transform => "ferry:transform/plugin",
        }
    }

    /// The interface this role's world exports (named like the role).
    pub fn export(self) -> &'static str {
        self.as_str()
    }

    /// The host interfaces this role's world may import, as `package/interface`.
    pub fn granted_imports(self) -> &'static [&'static str] {
        match self {
            Role::Erp => &[
                "ferry:types/types",
                "ferry:host/http",
                "ferry:host/log",
                "ferry:host/config",
                "ferry:host/diagnostics",
            ],
            Role::Quoting => &[
                "ferry:types/types",
                "ferry:host/http",
                "ferry:host/sql",
                "ferry:host/log",
                "ferry:host/config",
                "ferry:host/secrets",
                "ferry:host/diagnostics",
            ],
            Role::Transform => &["ferry:types/types", "ferry:host/log", "ferry:host/config"],
        }
    }

    /// Accepts a role name, its world's name or its 0.1 world's name (`erp-connector`), which
    /// scripts still pass to `ferry plugin call`.
    pub fn parse(s: &str) -> Option<Role> {
        let legacy = |r: Role| match r {
            Role::Erp => "erp-connector",
            Role::Quoting => "quoting-connector",
            Role::Transform => "transform",
        };
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.world() == s || legacy(*r) == s)
    }
}

/// `erp`, `quoting` or `transform` (also the world's name, or the 1.0 world names): how the
/// command line and the registry name a role.
impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| format!("unknown role '{s}' (erp, quoting or transform)"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// Semver compatibility as cargo reads it: same major; for 0.x, same minor. A plugin built
    /// against a newer minor than the host serves may call things the host lacks, so it is
    /// refused; an older minor is served (a minor only adds `@since` items).
    fn compatible_with(self, host: Version) -> bool {
        if self.major != host.major {
            return false;
        }
        if host.major == 0 {
            return self.minor == host.minor;
        }
        self.minor <= host.minor
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What `ferry plugin check` prints: the component's world, version, exports and imports.
#[derive(Debug, Clone, Serialize)]
pub struct ContractReport {
    /// The role whose export the component provides, if any.
    pub role: Option<Role>,
    pub world: Option<&'static str>,
    /// The version of the role's package the component was built against (its export's).
    pub version: Option<String>,
    pub exports: Vec<InterfaceReport>,
    pub imports: Vec<String>,
    /// Everything that makes it unusable; empty when it can be activated for `role`.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceReport {
    pub name: String,
    pub functions: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("; "))]
pub struct ContractError {
    pub problems: Vec<String>,
}

/// A `ferry:PACKAGE/INTERFACE@VERSION` name, split.
struct FerryName<'a> {
    /// `ferry:erp`
    package: &'a str,
    /// `ferry:erp/erp`
    qualified: &'a str,
    interface: &'a str,
    version: Option<&'a str>,
}

fn ferry_name(name: &str) -> Option<FerryName<'_>> {
    if !name.starts_with("ferry:") {
        return None;
    }
    let (qualified, version) = match name.split_once('@') {
        Some((q, v)) => (q, Some(v)),
        None => (name, None),
    };
    let (package, interface) = qualified.split_once('/')?;
    Some(FerryName {
        package,
        qualified,
        interface,
        version,
    })
}

/// The role whose export `name` is (`ferry:erp/erp@1.0.0`), with its version.
pub fn role_export(name: &str) -> Option<(Role, Option<&str>)> {
    let fname = ferry_name(name)?;
    let role = Role::ALL
        .into_iter()
        .find(|r| r.package().name == fname.package && r.export() == fname.interface)?;
    Some((role, fname.version))
}

/// Inspects a compiled component. With `expected`, problems are judged against that role;
/// without, the role is inferred from the export.
pub fn inspect(engine: &Engine, component: &Component, expected: Option<Role>) -> ContractReport {
    let ty = component.component_type();
    let mut problems = Vec::new();
    let mut exports = Vec::new();
    let mut found_role = None;
    let mut version = None;

    for (name, item) in ty.exports(engine) {
        let functions = match &item.ty {
            ComponentItem::ComponentInstance(inst) => inst
                .exports(engine)
                .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                .map(|(n, _)| n.to_string())
                .collect(),
            ComponentItem::ComponentFunc(_) => vec![name.to_string()],
            _ => Vec::new(),
        };
        exports.push(InterfaceReport {
            name: name.to_string(),
            functions,
        });
        if let Some((role, v)) = role_export(name) {
            found_role = Some(role);
            version = v.map(str::to_string);
        }
    }

    let role = expected.or(found_role);
    let world = role.map(Role::world);
    match (expected, found_role) {
        (Some(want), Some(got)) if want != got => problems.push(format!(
            "role {want} needs world {} (export {}/{}@{}); this component implements world {} \
             (it exports {}/{})",
            want.world(),
            want.package().name,
            want.export(),
            want.package().version,
            got.world(),
            got.package().name,
            got.export()
        )),
        (Some(want), None) => problems.push(format!(
            "role {want} needs world {}: export {}/{}@{} is missing",
            want.world(),
            want.package().name,
            want.export(),
            want.package().version
        )),
        (None, None) => problems.push(format!(
            "exports none of ferry's roles ({})",
            Role::ALL
                .iter()
                .map(|r| format!("{}/{}", r.package().name, r.export()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => {}
    }
    if let Some(found) = found_role
        && (expected.is_none() || expected == found_role)
    {
        let served = found.package();
        match version.as_deref().map(|v| (v, Version::parse(v))) {
            None => problems.push(format!(
                "export {}/{} carries no version; this host speaks {served}",
                served.name,
                found.export()
            )),
            Some((v, None)) => problems.push(format!("unreadable contract version '{v}'")),
            Some((v, Some(parsed))) if !parsed.compatible_with(served.version) => {
                problems.push(incompatible(served, v))
            }
            _ => {}
        }
    }

    let mut imports = Vec::new();
    for (name, _) in ty.imports(engine) {
        imports.push(name.to_string());
        if let Some(problem) = import_problem(name, role) {
            problems.push(problem);
        }
    }

    ContractReport {
        role,
        world,
        version,
        exports,
        imports,
        problems,
    }
}

fn incompatible(served: Package, v: &str) -> String {
    format!(
        "built for {}@{v}, incompatible with this host's {served} (a newer minor or a \
         different major version)",
        served.name
    )
}

/// Why an import can't be satisfied for `role`, if it can't.
fn import_problem(name: &str, role: Option<Role>) -> Option<String> {
    if let Some(fname) = ferry_name(name) {
        let Some(package) = served(fname.package) else {
            return Some(format!(
                "imports {name}, from a package this host does not serve ({})",
                fname.package
            ));
        };
        let compatible = fname
            .version
            .and_then(Version::parse)
            .is_some_and(|v| v.compatible_with(package.version));
        if !compatible {
            return Some(format!("imports {name}, but this host serves {package}"));
        }
        let granted = role.map(Role::granted_imports).unwrap_or(&[]);
        if !granted.contains(&fname.qualified) {
            return Some(match role {
                Some(r) => format!(
                    "imports {name}, which world {} is not granted (it may import: {})",
                    r.world(),
                    granted.join(", ")
                ),
                None => format!("imports {name}"),
            });
        }
        return None;
    }
    // WASI 0.2 is linked with nothing granted (no files, sockets, env); anything else is
    // something this host doesn't offer, drafts (`wasi:config/store@0.2.0-draft`) included.
    if name.starts_with("wasi:")
        && name
            .split_once('@')
            .is_some_and(|(_, v)| v.starts_with("0.2.") && !v.contains('-'))
    {
        return None;
    }
    // The logging draft, served like `ferry:host/log` (README: "WASI logging and config").
    if name == WASI_LOGGING {
        return None;
    }
    Some(format!("imports {name}, which this host does not provide"))
}

impl ContractReport {
    pub fn into_result(self) -> Result<ContractReport, ContractError> {
        if self.problems.is_empty() {
            Ok(self)
        } else {
            Err(ContractError {
                problems: self.problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ver(s: &str) -> Version {
        Version::parse(s).expect("version")
    }

    #[test]
    fn an_older_minor_is_served_a_newer_minor_or_other_major_is_not() {
        let host = ver("1.1.0");
        assert!(ver("1.0.0").compatible_with(host));
        assert!(ver("1.1.3").compatible_with(host));
        assert!(!ver("1.2.0").compatible_with(host));
        assert!(!ver("2.0.0").compatible_with(host));
        assert!(!ver("0.1.0").compatible_with(host));
    }

    #[test]
    fn imports_are_judged_per_package_and_granted_per_role() {
        assert_eq!(
            import_problem("ferry:host/log@1.0.0", Some(Role::Transform)),
            None
        );
        assert_eq!(
            import_problem("ferry:types/types@1.0.0", Some(Role::Erp)),
            None
        );
        let newer = import_problem("ferry:host/log@1.9.0", Some(Role::Transform));
        assert!(newer.is_some_and(|p| p.contains("this host serves ferry:host@1.1.0")));
        let ungranted = import_problem("ferry:host/sql@1.1.0", Some(Role::Transform));
        assert!(ungranted.is_some_and(|p| p.contains("not granted")));
        let unknown = import_problem("ferry:plugin/log@0.1.0", Some(Role::Transform));
        assert!(unknown.is_some_and(|p| p.contains("does not serve (ferry:plugin)")));
        assert_eq!(import_problem(WASI_LOGGING, Some(Role::Transform)), None);
        for other in [
            "wasi:logging/logging@0.1.1-draft",
            "wasi:config/store@0.2.0-draft",
        ] {
            let problem = import_problem(other, Some(Role::Erp));
            assert!(
                problem.is_some_and(|p| p.contains("does not provide")),
                "{other}"
            );
        }
        assert_eq!(
            import_problem("wasi:io/streams@0.2.6", Some(Role::Erp)),
            None
        );
    }
}
