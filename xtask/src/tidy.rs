//! `cargo xtask tidy`: checks that keep the layers and the contract honest, without building
//! anything. Run first by `cargo xtask test`.
//!
//! - Layers: code in a room may not name what its layer must not use (a flow never touches
//!   wasmtime, generated bindings or the HTTP framework; the domain uses serde/thiserror only).
//! - The contract: every released WIT package folder is frozen; its files must hash to the
//!   value recorded in its `FROZEN` file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// (folder, words its code must not contain, why).
const LAYERS: &[(&str, &[&str], &str)] = &[
    (
        "crates/flows/src",
        &[
            "wasmtime",
            "bindings",
            "crate::runtime",
            "axum",
            "ferry_plugin_",
        ],
        "flows speak the domain's role traits only (DESIGN.md: never wasmtime, never axum)",
    ),
    (
        "crates/ferry/src/api",
        &["wasmtime", "runtime::bindings", "ferry_plugin_"],
        "the API calls plugins through the role traits only",
    ),
    (
        "crates/domain/src",
        &["wasmtime", "rusqlite", "axum", "tokio"],
        "the domain depends on serde, thiserror and async-trait only",
    ),
    (
        "crates/store/src",
        &["wasmtime", "axum", "ferry::"],
        "the store keeps state behind its traits: never wasmtime, axum or the ferry host",
    ),
];

/// (manifest, dependencies it may not list, why): the code check above can't see a dependency
/// that is linked but unnamed.
const MANIFESTS: &[(&str, &[&str], &str)] = &[
    (
        "crates/flows/Cargo.toml",
        &[
            "wasmtime",
            "wasmtime-wasi",
            "axum",
            "hyper",
            "ferry",
            "ferry-sim",
            "rusqlite",
        ],
        "flows use the domain's and the store's traits, never an engine, a server or a driver",
    ),
    (
        "crates/domain/Cargo.toml",
        &["wasmtime", "axum", "tokio", "rusqlite", "ferry-store"],
        "the domain depends on serde, thiserror and async-trait only",
    ),
    (
        "crates/store/Cargo.toml",
        &["wasmtime", "axum", "ferry", "ferry-flows"],
        "the store knows nothing of plugins, HTTP or flows",
    ),
];

pub fn tidy(root: &Path) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (manifest, banned, why) in MANIFESTS {
        let path = root.join(manifest);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let name = line.split(['=', '.', ' ']).next().unwrap_or("").trim();
            if banned.contains(&name) {
                problems.push(format!("{manifest}:{}: depends on `{name}`: {why}", n + 1));
            }
        }
    }
    for (dir, banned, why) in LAYERS {
        let dir = root.join(dir);
        if !dir.exists() {
            continue;
        }
        for file in rust_files(&dir)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for word in *banned {
                    if code.contains(word) {
                        problems.push(format!(
                            "{}:{}: uses `{word}`: {why}",
                            rel(root, &file),
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    problems.extend(frozen_wit(root)?);
    if !problems.is_empty() {
        bail!(
            "tidy found {} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    eprintln!("xtask: tidy ok");
    Ok(())
}

/// Folders under `wit/` with a `FROZEN` file (`sha256 <hex>`): the hash of their `.wit` files
/// (sorted by name, each as `name\0contents\0`) must still match.
fn frozen_wit(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let wit = root.join("wit");
    for dir in subdirs(&wit)?
        .into_iter()
        .chain(subdirs(&wit.join("frozen"))?)
    {
        let marker = dir.join("FROZEN");
        if !marker.exists() {
            continue;
        }
        let recorded = std::fs::read_to_string(&marker)?;
        let recorded = recorded
            .lines()
            .find_map(|l| l.trim().strip_prefix("sha256 "))
            .map(str::trim)
            .unwrap_or("");
        let actual = wit_hash(&dir)?;
        if recorded != actual {
            problems.push(format!(
                "{}: a released WIT package changed (sha256 {actual}, FROZEN says {recorded}): \
                 add to a new minor version with @since instead",
                rel(root, &dir)
            ));
        }
    }
    Ok(problems)
}

/// The hash `FROZEN` records for a package folder.
pub fn wit_hash(dir: &Path) -> anyhow::Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wit"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned());
        hash.update(name.unwrap_or_default().as_bytes());
        hash.update([0]);
        hash.update(std::fs::read(&f)?);
        hash.update([0]);
    }
    Ok(hex(&hash.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn subdirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

fn rust_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(rust_files(&path)?);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    Ok(out)
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn a_flow_naming_wasmtime_or_bindings_fails_and_comments_do_not() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "crates/flows/src/a.rs",
            "//! no wasmtime here\nuse ferry_domain::Erp;\n",
        );
        tidy(dir.path()).unwrap();
        write(
            dir.path(),
            "crates/flows/src/b.rs",
            "use crate::runtime::bindings::types::Document;\n",
        );
        let err = tidy(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("crates/flows/src/b.rs:1: uses `bindings`"),
            "{err}"
        );
    }

    #[test]
    fn a_flow_crate_depending_on_wasmtime_fails() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "crates/flows/Cargo.toml",
            "[dependencies]\nferry-domain = { path = \"../domain\" }\n",
        );
        tidy(dir.path()).unwrap();
        write(
            dir.path(),
            "crates/flows/Cargo.toml",
            "[dependencies]\nwasmtime.workspace = true\n",
        );
        let err = tidy(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("crates/flows/Cargo.toml:2: depends on `wasmtime`"),
            "{err}"
        );
    }

    #[test]
    fn a_changed_frozen_package_fails() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "wit/erp@1.0.0/erp.wit",
            "package ferry:erp@1.0.0;\n",
        );
        let hash = wit_hash(&dir.path().join("wit/erp@1.0.0")).unwrap();
        write(
            dir.path(),
            "wit/erp@1.0.0/FROZEN",
            &format!("sha256 {hash}\n"),
        );
        tidy(dir.path()).unwrap();
        write(
            dir.path(),
            "wit/erp@1.0.0/erp.wit",
            "package ferry:erp@1.0.0;\n// edited\n",
        );
        let err = tidy(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a released WIT package changed"), "{err}");
    }
}
