//! Shared by the benchmarks: where `cargo xtask build-plugins` put the components.
// Each benchmark uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

/// `FERRY_PLUGIN_DIR`, else target/plugins (`ferry_layout`).
pub fn plugin_dir() -> PathBuf {
    ferry_layout::component_dir()
}

/// A built component's bytes.
pub fn component(name: &str) -> Vec<u8> {
    let path = ferry_layout::component(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask bench`)", path.display()))
}
