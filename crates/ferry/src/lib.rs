//! Ferry: a quote-to-cash integration host. Vendor APIs and customer rules run as sandboxed
//! WebAssembly components behind the WIT contract in `wit/` (see DESIGN.md).
//!
//! The `ferry` crate is the composition root: config (parse, then resolve), tenants, the
//! services the CLI and the console share (`services`), the HTTP API and the CLI. The
//! runtime (`ferry-runtime`: everything wasmtime) and the flows (`ferry-flows`: role and store
//! traits only; `cargo xtask tidy` fails one that names wasmtime, bindings or axum) are crates
//! of their own.
//! May depend on every Ferry crate; `ferry-sim` only with feature `sandbox`.

pub mod alerts;
pub mod api;
pub mod authoring;
pub mod cli;
pub mod config;
pub mod fixes;
/// The flows are their own crate (no wasmtime, no axum); `crate::flows` keeps naming them.
pub use ferry_flows as flows;
pub mod mapping;
pub mod node;
/// The runtime is its own crate (everything wasmtime); `crate::runtime` keeps naming it.
pub use ferry_runtime as runtime;
/// The demo stack (simulators linked in): only with feature `sandbox`, never in a release build.
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod server;
pub mod services;
pub mod tenant;
