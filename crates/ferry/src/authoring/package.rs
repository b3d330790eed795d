//! A plugin package (`NAME-VERSION.ferry`): a plain, uncompressed tar (POSIX ustar) of
//! exactly these members, in this order:
//!
//! - `ferry-plugin.toml`: the manifest ([`super::manifest`]);
//! - `plugin.wasm`: the component;
//! - `signature.toml`: the vendor's signature, once signed ([`super::sign`]).
//!
//! Any other member, a duplicate, or a missing one is refused. The package digest, which the
//! signature signs, is `sha256(sha256(manifest bytes) ‖ sha256(component bytes))` (two
//! fixed-length hashes, so no boundary can be moved between them).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::manifest::{self, Manifest, ManifestError};
use super::sign::PackageSignature;

pub const COMPONENT: &str = "plugin.wasm";
pub const SIGNATURE: &str = "signature.toml";
/// Largest member accepted (a Python component is tens of MiB).
const MAX_MEMBER: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("not a Ferry plugin package: {0}")]
    Format(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// A package in memory. `manifest_text` is kept as read: the digest covers those bytes.
#[derive(Debug, Clone)]
pub struct Package {
    pub manifest: Manifest,
    pub manifest_text: String,
    pub component: Vec<u8>,
    pub signature: Option<PackageSignature>,
}

impl Package {
    /// A new unsigned package of a checked manifest and its component.
    pub fn new(manifest: Manifest, component: Vec<u8>) -> Self {
        Self {
            manifest_text: manifest.to_toml(),
            manifest,
            component,
            signature: None,
        }
    }

    /// The package digest (hex), what a signature signs.
    pub fn digest(&self) -> String {
        let mut outer = Sha256::new();
        outer.update(Sha256::digest(self.manifest_text.as_bytes()));
        outer.update(Sha256::digest(&self.component));
        hex::encode(outer.finalize())
    }

    /// The file name `pack` suggests: `NAME-VERSION.ferry`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.ferry", self.manifest.name, self.manifest.version)
    }

    /// Whether `bytes` look like a package rather than a bare component.
    pub fn is_package(bytes: &[u8]) -> bool {
        // ustar's magic sits at offset 257 of the first header; a component starts `\0asm`.
        bytes.get(257..262) == Some(b"ustar".as_slice())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut members: Vec<(&str, &[u8])> = vec![
            (manifest::FILE_NAME, self.manifest_text.as_bytes()),
            (COMPONENT, &self.component),
        ];
        let signature = self.signature_text();
        if let Some(s) = &signature {
            members.push((SIGNATURE, s.as_bytes()));
        }
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in members {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            // No timestamps or owners: packing the same inputs gives the same bytes.
            header.set_mtime(0);
            header.set_cksum();
            // Writing to a Vec only fails on a name too long for ustar; ours are short.
            let _ = builder.append_data(&mut header, name, bytes);
        }
        builder.into_inner().unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PackageError> {
        let format = |m: String| PackageError::Format(m);
        let mut archive = tar::Archive::new(bytes);
        let (mut manifest_text, mut component, mut signature) = (None, None, None);
        for entry in archive.entries().map_err(|e| format(e.to_string()))? {
            let mut entry = entry.map_err(|e| format(e.to_string()))?;
            let name = entry
                .path()
                .map_err(|e| format(e.to_string()))?
                .to_string_lossy()
                .into_owned();
            if !entry.header().entry_type().is_file() {
                return Err(format(format!("member '{name}' is not a plain file")));
            }
            let size = entry.header().size().map_err(|e| format(e.to_string()))?;
            if size > MAX_MEMBER {
                return Err(format(format!(
                    "member '{name}' is {size} bytes, over the limit"
                )));
            }
            let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            (&mut entry)
                .take(MAX_MEMBER)
                .read_to_end(&mut data)
                .map_err(|e| format(format!("{name}: {e}")))?;
            let slot = match name.as_str() {
                manifest::FILE_NAME => &mut manifest_text,
                COMPONENT => &mut component,
                SIGNATURE => &mut signature,
                other => return Err(format(format!("unexpected member '{other}'"))),
            };
            if slot.replace(data).is_some() {
                return Err(format(format!("member '{name}' appears twice")));
            }
        }
        let manifest_text = String::from_utf8(
            manifest_text.ok_or_else(|| format(format!("no {}", manifest::FILE_NAME)))?,
        )
        .map_err(|_| format(format!("{} is not UTF-8", manifest::FILE_NAME)))?;
        let component = component.ok_or_else(|| format(format!("no {COMPONENT}")))?;
        let signature = signature
            .map(|s| String::from_utf8(s).map_err(|_| format(format!("{SIGNATURE} is not UTF-8"))))
            .transpose()?;
        Self::from_parts(manifest_text, component, signature.as_deref())
    }

    /// A package from its members (as read from a package, or kept beside an installed
    /// component).
    pub fn from_parts(
        manifest_text: String,
        component: Vec<u8>,
        signature: Option<&str>,
    ) -> Result<Self, PackageError> {
        let signature = signature
            .map(|text| {
                toml::from_str::<PackageSignature>(text)
                    .map_err(|e| PackageError::Format(format!("{SIGNATURE}: {}", e.message())))
            })
            .transpose()?;
        Ok(Self {
            manifest: Manifest::parse(&manifest_text)?,
            manifest_text,
            component,
            signature,
        })
    }

    /// `signature.toml`'s text, when signed.
    pub fn signature_text(&self) -> Option<String> {
        self.signature
            .as_ref()
            .map(|s| toml::to_string(s).unwrap_or_default())
    }

    pub fn read(path: &Path) -> Result<Self, PackageFileError> {
        let bytes = std::fs::read(path).map_err(|source| PackageFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|source| PackageFileError::Package {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), PackageFileError> {
        let tmp = path.with_extension("ferry.tmp");
        std::fs::write(&tmp, self.to_bytes())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| PackageFileError::Io {
                path: path.to_path_buf(),
                source,
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PackageFileError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Package {
        path: std::path::PathBuf,
        source: PackageError,
    },
}

#[cfg(test)]
#[path = "package_tests.rs"]
mod tests;
