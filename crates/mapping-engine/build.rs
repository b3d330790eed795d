//! Generates the list of shipped default mappings from `mappings/*.toml` (one entry a file,
//! the kind being the file name), so the host and the `mapping` component build in the same
//! list and a new file needs no code change.

use std::path::{Path, PathBuf};

/// `mappings/` at the repository root: the nearest ancestor of this crate that has one (the
/// crate may move under `crates/`).
fn mappings_dir() -> PathBuf {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    manifest
        .ancestors()
        .map(|a| a.join("mappings"))
        .find(|d| d.is_dir())
        .expect("a mappings/ folder above the mapping engine")
}

fn main() {
    let dir = mappings_dir();
    // A directory: cargo reruns this when any file in it is added, removed or changed.
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read mappings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// The shipped default mappings (`mappings/*.toml`), by kind (the file name), sorted.\n\
         pub const DEFAULTS: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        let kind = f
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name");
        out.push_str(&format!(
            "    ({kind:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets it")).join("defaults.rs");
    std::fs::write(target, out).expect("write defaults.rs");
}
