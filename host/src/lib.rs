//! Ferry: a quote-to-cash integration host. Vendor APIs and customer rules run as sandboxed
//! WebAssembly components behind the `ferry:plugin` WIT contract (see `wit/` and DESIGN.md).

pub mod api;
pub mod cli;
pub mod config;
pub mod flows;
pub mod mapping;
pub mod node;
pub mod runtime;
/// The demo stack (simulators linked in): only with feature `sandbox`, never in a release build.
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod server;
pub mod tenant;
