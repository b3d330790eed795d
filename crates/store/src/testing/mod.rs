//! Test support, behind the `testing` feature: never in a release build.
//!
//! [`pg::PgCluster`] starts a throwaway PostgreSQL cluster (for the store's conformance suite
//! and the end-to-end tests).

pub mod pg;
