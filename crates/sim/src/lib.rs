//! Simulators of Infor M3 and QuoteWerks, faithful to their real wire formats (see README.md).
//!
//! - [`m3`]: MI REST v1/v2/bulk behind an ION API-style OAuth server, BODs, faults.
//! - [`quotewerks`]: QuoteWerks' database tables in SQLite plus its webhook emitter.
//!
//! Both draw master data from [`seed`], so quotes reference real M3 customers and items.
//! [`stack`] starts both and writes the Ferry config wired to them (demo, e2e tests, bench).
//!
//! May depend on: the M3 field catalog (`ferry-m3-fields`), where files are (`ferry-layout`)
//! and ordinary server crates (axum, rusqlite, tokio, toml); never on the host, its runtime or
//! its store: the simulators stand in for systems written by someone else. Linked into `ferry`
//! only with feature `sandbox`; also its own binary, `ferry-sim`.

pub mod m3;
pub mod quotewerks;
pub mod seed;
pub mod stack;
mod util;

pub use m3::{M3Sim, M3SimArgs, M3SimConfig, M3SimHandle, run_m3};
pub use quotewerks::{
    QuoteWerksSim, QuoteWerksSimArgs, QuoteWerksSimConfig, QuoteWerksSimHandle, run_quotewerks,
};
