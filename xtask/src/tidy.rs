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
        "crates/ferry/src",
        &["runtime::bindings", "bindings::", "mapping_result_to_wit"],
        "the generated bindings are the runtime's (public only with its `raw-contract` feature, \
         for tests and benches): the host uses the role adapters and domain types",
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
    (
        "crates/runtime/Cargo.toml",
        &[
            "clap",
            "axum",
            "tower-http",
            "hyper",
            "ferry",
            "ferry-flows",
            "ferry-sim",
        ],
        "the runtime runs plugins; command lines, servers and flows are the host's",
    ),
    (
        "crates/ferry/Cargo.toml",
        &["wasmtime", "wasmtime-wasi", "wasmtime-wizer", "tiberius"],
        "the composition root reaches engines and drivers only through the runtime",
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
    problems.extend(raw_contract_for_tests_only(root)?);
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

/// The runtime's `raw-contract` feature (its generated bindings, public) may be turned on only
/// in a `[dev-dependencies]` table: tests and benches, never a build that ships.
fn raw_contract_for_tests_only(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for dir in ["crates", "tests", "xtask"] {
        for manifest in manifests(&root.join(dir))? {
            let text = std::fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            problems.extend(raw_contract_problems(&rel(root, &manifest), &text));
        }
    }
    Ok(problems)
}

fn raw_contract_problems(manifest: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut table = String::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("").trim();
        if code.starts_with('[') {
            table = code.to_string();
            continue;
        }
        // The feature's own definition in the runtime's `[features]` is no use of it.
        let defines = table == "[features]" && code.starts_with("raw-contract");
        if code.contains("raw-contract") && !defines && !table.contains("dev-dependencies") {
            problems.push(format!(
                "{manifest}:{}: turns on ferry-runtime's `raw-contract` in {table}: only \
                 [dev-dependencies] may (the bindings stay private to shipped code)",
                n + 1
            ));
        }
    }
    problems
}

/// Every `Cargo.toml` under `dir` (not in `target/`).
fn manifests(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != "target") {
            out.extend(manifests(&path)?);
        } else if path.file_name().is_some_and(|n| n == "Cargo.toml") {
            out.push(path);
        }
    }
    Ok(out)
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
    fn host_code_naming_the_bindings_fails() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "crates/ferry/src/mapping/mod.rs",
            "use ferry_domain::Document;\n",
        );
        tidy(dir.path()).unwrap();
        write(
            dir.path(),
            "crates/ferry/src/mapping/mod.rs",
            "use crate::runtime::bindings::types;\n",
        );
        let err = tidy(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("crates/ferry/src/mapping/mod.rs:1: uses `runtime::bindings`"),
            "{err}"
        );
    }

    #[test]
    fn raw_contract_outside_dev_dependencies_fails() {
        let dir = tempfile::tempdir().unwrap();
        let dev = "[dependencies]\nferry-runtime = { path = \"../runtime\" }\n\n\
                   [dev-dependencies]\n\
                   ferry-runtime = { path = \"../runtime\", features = [\"raw-contract\"] }\n";
        write(dir.path(), "crates/ferry/Cargo.toml", dev);
        write(
            dir.path(),
            "crates/runtime/Cargo.toml",
            "[features]\nraw-contract = []\n",
        );
        tidy(dir.path()).unwrap();
        write(
            dir.path(),
            "crates/ferry/Cargo.toml",
            "[dependencies]\nferry-runtime = { path = \"../runtime\", features = [\"raw-contract\"] }\n",
        );
        let err = tidy(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("crates/ferry/Cargo.toml:2: turns on ferry-runtime's `raw-contract`"),
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
