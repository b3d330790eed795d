//! Where Ferry's files are, written once: the plugin components `cargo xtask build-plugins`
//! builds (and how tests, benches and the demo find them), and what a node keeps in its data
//! directory (the store, the compile cache, installed components, its id and lock).
//!
//! May depend on: std only (xtask uses it, and must stay light).
//!
//! ```
//! use ferry_layout::DataDir;
//! let data = DataDir::new("/var/lib/ferry");
//! assert!(data.db().ends_with("ferry.db"));
//! assert!(ferry_layout::component_path(std::path::Path::new("/p"), "m3_connector").ends_with("m3_connector.wasm"));
//! ```

use std::path::{Path, PathBuf};

/// Overrides where the built components are (`cargo xtask test` sets it).
pub const PLUGIN_DIR_ENV: &str = "FERRY_PLUGIN_DIR";

/// The repository root (this crate sits in `crates/layout`), for tools run from a checkout.
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| here.join("../.."))
}

/// Where `cargo xtask build-plugins` writes the components of the checkout at `root`.
pub fn build_output(root: &Path) -> PathBuf {
    root.join("target").join("plugins")
}

/// Where the built components are: `FERRY_PLUGIN_DIR`, else the checkout's build output.
pub fn component_dir() -> PathBuf {
    std::env::var_os(PLUGIN_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| build_output(&workspace_root()))
}

/// Where the components are for a `ferry` binary built in a checkout
/// (`target/debug/ferry` → `target/plugins`): the demo's default.
pub fn component_dir_beside(exe: &Path) -> Option<PathBuf> {
    Some(exe.parent()?.parent()?.join("plugins"))
}

/// The file of the component `name` (as xtask names them: `m3_connector`) in `dir`.
pub fn component_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.wasm"))
}

/// The file of the built component `name` (in [`component_dir`]).
pub fn component(name: &str) -> PathBuf {
    component_path(&component_dir(), name)
}

/// A node's data directory (`--data-dir`) and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir(root.into())
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    /// The SQLite store: jobs, inbox, links, audit, plugin activations.
    pub fn db(&self) -> PathBuf {
        self.0.join("ferry.db")
    }

    /// Compiled components, keyed by digest and engine settings (unless configured elsewhere).
    pub fn compile_cache(&self) -> PathBuf {
        self.0.join("cache")
    }

    /// Installed components, content-addressed.
    pub fn plugins(&self) -> PathBuf {
        self.0.join("plugins")
    }

    /// The node's stable id, kept across restarts.
    pub fn node_id(&self) -> PathBuf {
        self.0.join("node-id")
    }

    /// Held (file lock) while a process runs under the node's id.
    pub fn node_lock(&self) -> PathBuf {
        self.0.join("node.lock")
    }

    /// The path of the config `ferry serve` last ran with here: commands run later without
    /// `--config` check tenants and plugin grants against it.
    pub fn served_config(&self) -> PathBuf {
        self.0.join("served-config")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_root_holds_the_workspace_and_its_build_output_is_target_plugins() {
        let root = workspace_root();
        assert!(
            root.join("crates/layout/Cargo.toml").is_file(),
            "{}",
            root.display()
        );
        assert!(
            root.join("plugins/Cargo.toml").is_file(),
            "{}",
            root.display()
        );
        assert_eq!(build_output(&root), root.join("target/plugins"));
    }

    #[test]
    fn a_binary_in_target_profile_finds_target_plugins() {
        let exe = Path::new("/w/target/debug/ferry");
        assert_eq!(
            component_dir_beside(exe),
            Some(PathBuf::from("/w/target/plugins"))
        );
        assert_eq!(
            component_path(Path::new("/w/target/plugins"), "ferry_mapping"),
            PathBuf::from("/w/target/plugins/ferry_mapping.wasm")
        );
    }

    #[test]
    fn the_data_dir_holds_one_of_each_file() {
        let d = DataDir::new("/data");
        let all = [
            d.db(),
            d.compile_cache(),
            d.plugins(),
            d.node_id(),
            d.node_lock(),
        ];
        for p in &all {
            assert_eq!(p.parent(), Some(Path::new("/data")), "{}", p.display());
        }
        let mut names: Vec<_> = all.iter().filter_map(|p| p.file_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len(), "two files share a name");
    }
}
