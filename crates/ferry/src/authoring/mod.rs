//! Tools for plugin authors, none of which needs a tenant or a server: the contract this binary
//! serves, written out (`ferry wit export`), new plugin projects from templates (`ferry plugin
//! new`), and a component run against recorded fixture documents (`ferry plugin test`).

pub mod contract;
pub mod fixtures;
pub mod manifest;
pub mod package;
pub mod scaffold;
pub mod sign;

use std::path::{Path, PathBuf};

/// The files embedded at build time (build.rs): `WIT_FILES` (every file under wit/) and
/// `TEMPLATE_FILES` (crates/ferry/templates/).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthoringError + '_ {
    move |source| AuthoringError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path`, creating its folders.
fn write(path: &Path, bytes: &[u8]) -> Result<(), AuthoringError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, bytes).map_err(io(path))
}
