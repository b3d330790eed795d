//! The plugin runtime: one wasmtime `Engine`, compiled components cached on disk, a fresh
//! bounded instance per call, the capabilities plugins are granted, and the per-tenant registry.

pub mod bindings;
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
mod turns;

pub use call::{CallError, PluginCall};
pub use contract::{ContractError, ContractReport, Role};
pub use engine::{PoolingMode, Runtime, RuntimeError, RuntimeSettings};
pub use grants::Grants;
pub use plugin::{LoadError, LoadedFrom, Plugin, digest_of};
pub use prepare::PrepareError;
pub use registry::{Registry, RegistryError};
pub use roles::PluginSource;
