//! The plugin runtime: one wasmtime `Engine`, compiled components cached on disk, a fresh
//! bounded instance per call (a transform's kept warm for its next clean call), the capabilities plugins are granted, and the per-tenant registry.
//!
//! May depend on: wasmtime and what the capabilities need (reqwest, rusqlite, tiberius), the
//! domain (the role traits it implements in `roles/`) and the store's `Activations` trait.
//! Never on flows, axum or the `ferry` crate. Generated bindings are converted to domain types
//! in one place, `roles/convert.rs`, and reachable from outside only with feature
//! `raw-contract` (tests and benches).

/// The contract's generated bindings, private to the runtime: flows, the API and the CLI use
/// the role adapters (`roles`) and domain types. Public only with feature `raw-contract`, which
/// only ferry's dev-dependency enables, for the tests and the connector benchmark that exercise
/// the raw contract (host imports, world checks, connector functions no role trait has yet).
#[cfg(feature = "raw-contract")]
pub mod bindings;
#[cfg(not(feature = "raw-contract"))]
mod bindings;
mod call;
mod compile_cache;
pub mod connections;
pub mod contract;
pub mod dynamic;
mod engine;
pub mod grants;
mod imports;
mod plugin;
mod prepare;
pub mod registry;
pub mod roles;
mod state;
pub mod tape;
mod turns;
mod warm;

pub use call::{CallError, PluginCall};
pub use contract::{ContractError, ContractReport, Role};
pub use engine::{PoolingMode, Runtime, RuntimeError, RuntimeSettings};
pub use grants::Grants;
pub use plugin::{LoadError, LoadedFrom, Plugin, digest_of};
pub use prepare::PrepareError;
pub use registry::{Registry, RegistryError};
pub use roles::PluginSource;
