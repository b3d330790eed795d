//! A loaded plugin: a compiled component that passed the contract check, with its imports
//! resolved once (`InstancePre`) so each call only instantiates.

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, InstancePre};

use super::bindings::erp_world::ErpConnectorPre;
use super::bindings::erp_world_1_1::ErpConnectorV1_1Pre;
use super::bindings::erp_world_1_2::ErpConnectorV1_2Pre;
use super::bindings::erp_world_1_3::ErpConnectorV1_3Pre;
use super::bindings::quoting_world::QuotingConnectorPre;
use super::bindings::quoting_world_1_1::QuotingConnectorV1_1Pre;
use super::bindings::transform_world::TransformPre;
use super::contract::{self, ContractError, ContractReport, Role, Version};
use super::engine::Runtime;
use super::state::PluginState;

pub struct Plugin {
    /// sha256 of the component's bytes, hex: its identity everywhere.
    pub digest: String,
    pub role: Role,
    pub report: ContractReport,
    pub loaded_from: LoadedFrom,
    pub(crate) pre: RolePre,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadedFrom {
    DiskCache,
    Compiled,
}

/// The typed pre-instance, per role and per contract version whose exports differ: a plugin
/// built against `ferry:erp@1.1.0` lacks 1.2's `list-order-invoices` and is served by the 1.1
/// bindings (`roles/` answers the missing function `unsupported`).
pub(crate) enum RolePre {
    Erp(ErpConnectorPre<PluginState>),
    ErpV1_1(ErpConnectorV1_1Pre<PluginState>),
    /// Built against `ferry:erp@1.2.0`: has `list-order-invoices`, lacks 1.3's batched calls.
    ErpV1_2(ErpConnectorV1_2Pre<PluginState>),
    /// Built against `ferry:erp@1.3.0`: has the batched prices and stock, lacks 1.4's
    /// `list-stocks-changed`.
    ErpV1_3(ErpConnectorV1_3Pre<PluginState>),
    Quoting(QuotingConnectorPre<PluginState>),
    QuotingV1_1(QuotingConnectorV1_1Pre<PluginState>),
    Transform(TransformPre<PluginState>),
}

impl RolePre {
    pub fn instance_pre(&self) -> &InstancePre<PluginState> {
        match self {
            RolePre::Erp(p) => p.instance_pre(),
            RolePre::ErpV1_1(p) => p.instance_pre(),
            RolePre::ErpV1_2(p) => p.instance_pre(),
            RolePre::ErpV1_3(p) => p.instance_pre(),
            RolePre::Quoting(p) => p.instance_pre(),
            RolePre::QuotingV1_1(p) => p.instance_pre(),
            RolePre::Transform(p) => p.instance_pre(),
        }
    }
}

impl Plugin {
    /// Whether the plugin was built against a role version older than the one whose exports
    /// the newest bindings expect (it is served by older bindings, and lacks a function).
    pub fn predates_exports(&self) -> bool {
        older_exports(self.role, self.report.version.as_deref())
    }
}

/// A component whose export carries no version is taken to be current.
fn older_exports(role: Role, version: Option<&str>) -> bool {
    version
        .and_then(Version::parse)
        .is_some_and(|v| v < role.exports_since())
}

/// A component's minor version (one without a version is current: no minor is above it).
fn minor(version: Option<&str>) -> u64 {
    version
        .and_then(Version::parse)
        .map_or(u64::MAX, |v| v.minor)
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("component is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    #[error("incompatible plugin: {0}")]
    Contract(#[from] ContractError),
    #[error("plugin does not match the host's {world} bindings: {message}")]
    Link {
        world: &'static str,
        message: String,
    },
}

impl Plugin {
    /// A short name for logs: role and digest prefix.
    pub fn label(&self) -> String {
        format!(
            "{}@{}",
            self.role,
            &self.digest[..12.min(self.digest.len())]
        )
    }
}

pub fn digest_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Runtime {
    /// Compiles (or loads from the disk cache) and checks a component for `role` (inferred
    /// from its export when `None`). CPU-heavy on a cold cache: call from a blocking context.
    pub fn load(&self, bytes: &[u8], role: Option<Role>) -> Result<Plugin, LoadError> {
        let (component, digest, loaded_from) = self.compile(bytes)?;
        let report = contract::inspect(&self.engine, &component, role).into_result()?;
        let role = report.role.ok_or_else(|| ContractError {
            problems: vec!["no role".into()],
        })?;
        let link = |e: wasmtime::Error| LoadError::Link {
            world: role.world(),
            message: format!("{e:#}"),
        };
        let instance_pre = self
            .linker(role)
            .instantiate_pre(&component)
            .map_err(link)?;
        // The typed `*Pre` constructors check every export's signature against the host's.
        let older = older_exports(role, report.version.as_deref());
        let pre = match role {
            // An older erp plugin: the bindings of the minor it was built against (1.0 and 1.1
            // share 1.1's).
            Role::Erp if older => match minor(report.version.as_deref()) {
                0..=1 => RolePre::ErpV1_1(ErpConnectorV1_1Pre::new(instance_pre).map_err(link)?),
                2 => RolePre::ErpV1_2(ErpConnectorV1_2Pre::new(instance_pre).map_err(link)?),
                _ => RolePre::ErpV1_3(ErpConnectorV1_3Pre::new(instance_pre).map_err(link)?),
            },
            Role::Erp => RolePre::Erp(ErpConnectorPre::new(instance_pre).map_err(link)?),
            Role::Quoting if older => {
                RolePre::QuotingV1_1(QuotingConnectorV1_1Pre::new(instance_pre).map_err(link)?)
            }
            Role::Quoting => {
                RolePre::Quoting(QuotingConnectorPre::new(instance_pre).map_err(link)?)
            }
            Role::Transform => RolePre::Transform(TransformPre::new(instance_pre).map_err(link)?),
        };
        Ok(Plugin {
            digest,
            role,
            report,
            loaded_from,
            pre,
        })
    }

    /// What `ferry plugin check` shows: the contract report, problems included.
    pub fn inspect(&self, bytes: &[u8], role: Option<Role>) -> Result<ContractReport, LoadError> {
        let (component, _, _) = self.compile(bytes)?;
        Ok(contract::inspect(&self.engine, &component, role))
    }

    fn compile(&self, bytes: &[u8]) -> Result<(Component, String, LoadedFrom), LoadError> {
        let limit = usize::try_from(self.settings.max_component_mib << 20).unwrap_or(usize::MAX);
        if bytes.len() > limit {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        // Parse before compiling: a clear message for a core module or garbage, and no
        // untrusted bytes reach Cranelift unvalidated.
        if !is_component_binary(bytes) {
            return Err(LoadError::Invalid(
                "expected a component (built for wasm32-wasip2 or with wasm-tools component new), \
                 found a core module or something else"
                    .into(),
            ));
        }
        let digest = digest_of(bytes);
        let (component, loaded_from) = self
            .cache
            .load(&self.engine, &digest, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        Ok((component, digest, loaded_from))
    }
}

/// The binary header: magic, then a version/layer word whose layer byte is 1 for components.
fn is_component_binary(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[6..8] == [1, 0]
}
