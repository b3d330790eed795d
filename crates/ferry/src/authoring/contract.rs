//! The contract as this binary was built with it (`wit/`, embedded by build.rs), so a plugin
//! project builds against exactly what its host serves and never points into Ferry's source.

use std::path::{Path, PathBuf};

use super::embedded::WIT_FILES;
use super::{AuthoringError, write};

/// Writes every contract file under `dir` (`dir/types/types.wit`, `dir/transform/...`, the
/// frozen releases too), replacing files of the same name; returns the paths written.
pub fn export(dir: &Path) -> Result<Vec<PathBuf>, AuthoringError> {
    let mut written = Vec::with_capacity(WIT_FILES.len());
    for (rel, bytes) in WIT_FILES {
        let path = dir.join(rel);
        write(&path, bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// The version of a package the contract holds (`host` → `1.1.0`), read from its
/// `package ferry:NAME@VERSION;` line.
pub fn package_version(package: &str) -> Option<String> {
    let prefix = format!("package ferry:{package}@");
    WIT_FILES
        .iter()
        .filter(|(rel, _)| rel.starts_with(&format!("{package}/")) && !rel.contains("/deps/"))
        .filter_map(|(_, bytes)| std::str::from_utf8(bytes).ok())
        .flat_map(str::lines)
        .find_map(|l| {
            l.trim()
                .strip_prefix(&prefix)
                .and_then(|v| v.strip_suffix(';'))
                .map(str::to_string)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_is_the_wit_folder_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
        let dir = tempfile::tempdir().unwrap();
        let written = export(dir.path()).unwrap();
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    on_disk.push(p);
                }
            }
        }
        assert_eq!(
            written.len(),
            on_disk.len(),
            "one exported file per file in wit/"
        );
        for source in on_disk {
            let rel = source.strip_prefix(&root).unwrap();
            let copy = std::fs::read(dir.path().join(rel))
                .unwrap_or_else(|e| panic!("{} not exported: {e}", rel.display()));
            assert_eq!(copy, std::fs::read(&source).unwrap(), "{}", rel.display());
        }
    }

    #[test]
    fn package_versions_come_from_the_package_lines() {
        let host = package_version("host").unwrap();
        assert!(host.starts_with("1."), "{host}");
        assert_eq!(package_version("types").as_deref(), Some("1.0.0"));
        assert_eq!(package_version("nothing"), None);
    }
}
