//! Compiled components on disk, keyed by the component's sha256 and the engine's compatibility
//! hash (wasmtime version, settings, CPU features), so a cached artifact is never loaded into an
//! engine that could not run it. A load from cache skips Cranelift entirely.

use std::hash::Hasher;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::engine::RuntimeError;
use super::plugin::LoadedFrom;

pub(crate) struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

impl CompileCache {
    pub fn new(engine: &Engine, dir: Option<PathBuf>) -> Result<Self, RuntimeError> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).map_err(|source| RuntimeError::Cache {
                path: dir.clone(),
                source,
            })?;
        }
        let mut hasher = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        Ok(Self { dir, engine_key })
    }

    /// The compiled component for `bytes` (whose sha256 is `digest`): from disk when cached,
    /// else compiled now and written to the cache for next time.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, LoadedFrom)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, bytes)?, LoadedFrom::Compiled));
        };
        let path = dir.join(format!("{digest}-{}.cwasm", self.engine_key));
        if path.exists() {
            // SAFETY: the file is one this process (or an earlier one with the same engine key)
            // wrote into Ferry's own cache directory from a component it compiled itself.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, LoadedFrom::DiskCache)),
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable cache entry: {e:#}")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        let serialized = component.serialize()?;
        // Write to a temporary name and rename, so a crash never leaves a torn artifact.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if let Err(e) = std::fs::write(&tmp, &serialized).and_then(|_| std::fs::rename(&tmp, &path))
        {
            tracing::warn!(path = %path.display(), "could not write compile cache: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
        Ok((component, LoadedFrom::Compiled))
    }
}

/// Feeds `Hash` output into sha256, for a key that is stable across processes (std's hasher
/// is not).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
