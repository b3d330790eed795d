//! Embeds the contract (`wit/` at the repository root, every file) and the plugin project
//! templates (`templates/`) as lists of files, so `ferry wit export` and `ferry plugin new`
//! write what this binary was built with. wit/ stays the one copy: a file added there is
//! picked up by the next build, no code change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Every file under `dir`, as paths relative to it ('/'-separated), sorted.
fn files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("under dir")
                    .components()
                    .map(|c| c.as_os_str().to_str().expect("a UTF-8 file name"))
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    out
}

fn list(name: &str, doc: &str, dir: &Path, out: &mut String) {
    // A directory: cargo reruns this when any file under it is added, removed or changed.
    println!("cargo::rerun-if-changed={}", dir.display());
    writeln!(out, "/// {doc}\npub const {name}: &[(&str, &[u8])] = &[").expect("write");
    for (rel, path) in files(dir) {
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("write");
    }
    out.push_str("];\n");
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    // The nearest ancestor with a wit/ folder: the repository root.
    let wit = manifest
        .ancestors()
        .map(|a| a.join("wit"))
        .find(|d| d.is_dir())
        .expect("a wit/ folder above the ferry crate");
    let mut out = String::new();
    list(
        "WIT_FILES",
        "The contract as this binary was built with it: every file under wit/, by relative path.",
        &wit,
        &mut out,
    );
    list(
        "TEMPLATE_FILES",
        "The plugin project templates (crates/ferry/templates/), by relative path.",
        &manifest.join("templates"),
        &mut out,
    );
    let target = Path::new(&std::env::var("OUT_DIR").expect("cargo sets it")).join("embedded.rs");
    std::fs::write(target, out).expect("write embedded.rs");
}
