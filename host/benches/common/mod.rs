//! Shared by the benchmarks: where `cargo xtask build-plugins` put the components.
// Each benchmark uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;

/// `FERRY_PLUGIN_DIR`, else target/plugins.
pub fn plugin_dir() -> PathBuf {
    std::env::var_os("FERRY_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"))
}

/// A built component's bytes.
pub fn component(name: &str) -> Vec<u8> {
    let path = plugin_dir().join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask bench`)", path.display()))
}
