//! Checks a component against the contract this host speaks before it is ever activated:
//! which world it implements, whether its WIT version is compatible, and whether every import
//! is something its role is granted. Refusals name what is missing or mismatched.

use std::fmt;

use serde::{Deserialize, Serialize};
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// The contract package and version this host implements.
pub const PACKAGE: &str = "ferry:plugin";
pub const VERSION: Version = Version {
    major: 0,
    minor: 1,
    patch: 0,
};

/// What a plugin does for a tenant. Each role is one world of the contract.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// World `erp-connector`, exports `erp` (Infor M3).
    Erp,
    /// World `quoting-connector`, exports `quoting` (QuoteWerks).
    Quoting,
    /// World `transform`, exports `mapping`.
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

    pub fn world(self) -> &'static str {
        match self {
            Role::Erp => "erp-connector",
            Role::Quoting => "quoting-connector",
            Role::Transform => "transform",
        }
    }

    /// The interface this role's world exports.
    pub fn export(self) -> &'static str {
        match self {
            Role::Erp => "erp",
            Role::Quoting => "quoting",
            Role::Transform => "mapping",
        }
    }

    /// The host interfaces this role's world may import.
    pub fn granted_imports(self) -> &'static [&'static str] {
        match self {
            Role::Erp => &["types", "http", "log", "config"],
            Role::Quoting => &["types", "http", "sql", "log", "config", "secrets"],
            Role::Transform => &["types", "log", "config"],
        }
    }

    /// Accepts a role name or its world's name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.world() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
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
    /// against a newer minor than the host may call things the host lacks, so it is refused.
    fn compatible_with_host(self) -> bool {
        if self.major != VERSION.major {
            return false;
        }
        if VERSION.major == 0 {
            return self.minor == VERSION.minor;
        }
        self.minor <= VERSION.minor
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

/// A `ferry:plugin/NAME@VERSION` interface name, split.
struct FerryName<'a> {
    interface: &'a str,
    version: Option<&'a str>,
}

fn ferry_name(name: &str) -> Option<FerryName<'_>> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    let (interface, version) = match rest.split_once('@') {
        Some((i, v)) => (i, Some(v)),
        None => (rest, None),
    };
    Some(FerryName { interface, version })
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
        if let Some(fname) = ferry_name(name)
            && let Some(role) = Role::ALL
                .into_iter()
                .find(|r| r.export() == fname.interface)
        {
            found_role = Some(role);
            version = fname.version.map(str::to_string);
        }
    }

    let role = expected.or(found_role);
    let world = role.map(Role::world);
    match (expected, found_role) {
        (Some(want), Some(got)) if want != got => problems.push(format!(
            "role {want} needs world {} (export {PACKAGE}/{}@{VERSION}); this component \
             implements world {} (it exports {PACKAGE}/{})",
            want.world(),
            want.export(),
            got.world(),
            got.export()
        )),
        (Some(want), None) => problems.push(format!(
            "role {want} needs world {}: export {PACKAGE}/{}@{VERSION} is missing",
            want.world(),
            want.export()
        )),
        (None, None) => problems.push(format!(
            "exports none of {PACKAGE}'s roles ({})",
            Role::ALL
                .iter()
                .map(|r| format!("{PACKAGE}/{}", r.export()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => {}
    }
    if found_role.is_some() && (expected.is_none() || expected == found_role) {
        match version.as_deref().map(|v| (v, Version::parse(v))) {
            None => problems.push(format!(
                "export {PACKAGE}/{} carries no version; this host speaks {PACKAGE}@{VERSION}",
                role.map(Role::export).unwrap_or("?")
            )),
            Some((v, None)) => problems.push(format!("unreadable contract version '{v}'")),
            Some((v, Some(parsed))) if !parsed.compatible_with_host() => problems.push(format!(
                "built for {PACKAGE}@{v}, incompatible with this host's {PACKAGE}@{VERSION} \
                 (a different major version{})",
                if VERSION.major == 0 {
                    " or 0.x minor"
                } else {
                    ""
                }
            )),
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

/// Why an import can't be satisfied for `role`, if it can't.
fn import_problem(name: &str, role: Option<Role>) -> Option<String> {
    if let Some(fname) = ferry_name(name) {
        let compatible = fname
            .version
            .and_then(Version::parse)
            .is_some_and(Version::compatible_with_host);
        if !compatible {
            return Some(format!(
                "imports {name}, but this host provides {PACKAGE}@{VERSION}"
            ));
        }
        let granted = role.map(Role::granted_imports).unwrap_or(&[]);
        if !granted.contains(&fname.interface) {
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
    // something this host doesn't offer.
    if name.starts_with("wasi:") && name.contains("@0.2.") {
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
