//! Simulators of Infor M3 and QuoteWerks, faithful to their real wire formats (see README.md).
//!
//! - [`m3`]: MI REST v1/v2/bulk behind an ION API-style OAuth server, BODs, faults.
//! - [`quotewerks`]: QuoteWerks' database tables in SQLite plus its webhook emitter.
//!
//! Both draw master data from [`seed`], so quotes reference real M3 customers and items.
//!
//! May depend on: the M3 field catalog (`ferry-m3-fields`) and ordinary server crates (axum,
//! rusqlite, tokio); never on the host, its runtime or its store: the simulators stand in for
//! systems written by someone else. Linked into `ferry` only with feature `sandbox`; also its
//! own binary, `ferry-sim`.

pub mod m3;
pub mod quotewerks;
pub mod seed;
mod util;

pub use m3::{M3Sim, M3SimArgs, M3SimConfig, M3SimHandle, run_m3};
pub use quotewerks::{
    QuoteWerksSim, QuoteWerksSimArgs, QuoteWerksSimConfig, QuoteWerksSimHandle, run_quotewerks,
};
