//! "Prepare": run a transform's `describe` once under a tenant's settings and snapshot the
//! instance's memory into a new component (Wizer). Every later call starts from that snapshot,
//! so work the plugin did in `describe` (the declarative mapping parses and caches its mapping
//! files there) is done once per configuration instead of once per call.

use std::sync::Arc;

use wasmtime_wizer::Wizer;

use super::contract::Role;
use super::engine::Runtime;
use super::grants::Grants;
use super::plugin::{LoadError, Plugin};

/// The export run before the snapshot. It takes nothing and its result is dropped.
const INIT: &str = "ferry:transform/transform.describe@1.1.0()";

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("snapshotting the transform failed: {0}")]
    Snapshot(String),
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl Runtime {
    /// A prepared copy of the transform `bytes` for these `grants` (its settings are what the
    /// snapshot bakes in). CPU-heavy (instrument, run, rewrite, compile): call off the hot path.
    pub async fn prepare_transform(
        &self,
        bytes: &[u8],
        grants: Arc<Grants>,
    ) -> Result<Plugin, PrepareError> {
        let mut store = self.new_store(grants);
        let linker = self.linker(Role::Transform);
        let mut wizer = Wizer::new();
        wizer.init_func(INIT);
        let (snapshot, _) = wizer
            .run_component(&mut store, bytes, async |store, component| {
                linker.instantiate_async(store, component).await
            })
            .await
            .map_err(|e| PrepareError::Snapshot(format!("{e:#}")))?;
        Ok(self.load(&snapshot, Some(Role::Transform))?)
    }
}
