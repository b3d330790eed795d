//! The plugin registry: components stored by content (sha256) in the store, so every node
//! sharing it can serve any of them, with this node's copy on disk as a cache; and per tenant,
//! each role bound to one of them. Activation loads and checks the new component first, then swaps
//! it in atomically: calls already running finish on the old version (they hold an `Arc` to
//! it), calls that start afterwards get the new one, and none is lost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use super::contract::{ContractReport, Role};
use super::engine::Runtime;
use super::plugin::{LoadError, LoadedFrom, Plugin, digest_of};
use ferry_store::{Activation, Activations, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("plugin blob store at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no installed plugin matches '{0}'")]
    UnknownDigest(String),
    #[error("'{prefix}' matches several installed plugins: {matches}")]
    AmbiguousDigest { prefix: String, matches: String },
    #[error("unknown role '{0}' in the registry")]
    UnknownRole(String),
    #[error("a task loading a plugin failed: {0}")]
    Join(String),
    #[error("the store's copy of {0} does not hash to its digest")]
    Corrupt(String),
}

/// What `install` did.
#[derive(Debug, Clone, Serialize)]
pub struct Installed {
    pub digest: String,
    pub role: Role,
    pub report: ContractReport,
    pub loaded_from: LoadedFrom,
}

/// One row of `ferry plugin list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub tenant: String,
    pub role: String,
    pub digest: String,
    pub installed_at: String,
    pub active: bool,
}

type Key = (String, Role);

pub struct Registry {
    runtime: Arc<Runtime>,
    store: Arc<dyn Activations>,
    blobs: PathBuf,
    active: ArcSwap<HashMap<Key, Arc<Plugin>>>,
    /// Loaded components by (digest, role), so re-activating a version doesn't recompile.
    loaded: Mutex<HashMap<(String, Role), Arc<Plugin>>>,
    /// The store generation `active` reflects.
    generation: Mutex<i64>,
    /// Counts this node's own swaps (activate, rollback): a refresh that read the store before
    /// one of them holds a stale list and must not overwrite it.
    swaps: Mutex<u64>,
}

/// The marker beside a component an older binary installed, once it is in the store.
const IN_STORE: &str = "in-store";

impl Registry {
    /// Opens the registry over `store`, keeping component files under `blob_dir`, and loads
    /// every active binding.
    pub async fn open(
        runtime: Arc<Runtime>,
        store: Arc<dyn Activations>,
        blob_dir: &Path,
    ) -> Result<Arc<Self>, RegistryError> {
        std::fs::create_dir_all(blob_dir).map_err(|source| RegistryError::Io {
            path: blob_dir.to_path_buf(),
            source,
        })?;
        let registry = Arc::new(Self {
            runtime,
            store,
            blobs: blob_dir.to_path_buf(),
            active: ArcSwap::from_pointee(HashMap::new()),
            loaded: Mutex::new(HashMap::new()),
            generation: Mutex::new(-1),
            swaps: Mutex::new(0),
        });
        let shared = registry.share_local_components().await?;
        if shared > 0 {
            tracing::info!(
                "registry: {shared} components kept only on this node are now in the store"
            );
        }
        registry.refresh().await?;
        Ok(registry)
    }

    /// Puts in the store the components (and what each tenant kept beside them) that an older
    /// binary installed only on this node's disk, before the store kept components, so every
    /// node can serve them. Each install is checked once: a marker file notes it.
    async fn share_local_components(&self) -> Result<usize, RegistryError> {
        let mut shared = 0;
        for install in self.store.installs(None).await? {
            let (digest, tenant) = (install.digest.as_str(), install.tenant.as_str());
            let marker = self.blobs.join(format!("{digest}.{tenant}.{IN_STORE}"));
            if marker.exists() {
                continue;
            }
            let bytes = match self.blob(digest) {
                Ok(bytes) if digest_of(&bytes) == digest => bytes,
                // Not on this node (another node installed it), or not what its name says.
                Ok(_) => continue,
                Err(RegistryError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            if self.store.blob(digest).await?.is_none() {
                self.store.put_blob(digest, &bytes).await?;
                shared += 1;
            }
            let stored: Vec<String> = self
                .store
                .plugin_files(digest, tenant)
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            for name in self.beside_names(digest, tenant)? {
                if !stored.contains(&name)
                    && let Some(text) = self.beside(digest, tenant, &name)?
                {
                    self.store
                        .put_plugin_file(digest, tenant, &name, &text)
                        .await?;
                }
            }
            std::fs::write(&marker, b"").map_err(|source| RegistryError::Io {
                path: marker.clone(),
                source,
            })?;
        }
        Ok(shared)
    }

    /// The names of the files kept beside `digest` for `tenant` on this node (tenant names
    /// have no dots, so `DIGEST.TENANT.` names them unambiguously).
    fn beside_names(&self, digest: &str, tenant: &str) -> Result<Vec<String>, RegistryError> {
        let prefix = format!("{digest}.{tenant}.");
        let entries = std::fs::read_dir(&self.blobs).map_err(|source| RegistryError::Io {
            path: self.blobs.clone(),
            source,
        })?;
        Ok(entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|f| f.strip_prefix(&prefix).map(str::to_string))
            .filter(|name| name != IN_STORE && !name.ends_with(".tmp"))
            .collect())
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The component serving `tenant`'s `role` right now. Hold the `Arc` for the whole call.
    pub fn active(&self, tenant: &str, role: Role) -> Option<Arc<Plugin>> {
        self.active.load().get(&(tenant.to_string(), role)).cloned()
    }

    /// Stores a component and records it for the tenant's role, after checking it is a
    /// compatible plugin for that role. Does not activate it.
    pub async fn install(
        &self,
        bytes: Vec<u8>,
        tenant: &str,
        role: Role,
    ) -> Result<Installed, RegistryError> {
        let digest = digest_of(&bytes);
        let plugin = self.load_bytes(bytes.clone(), role).await?;
        // In the store before the install row: a node that sees the install finds the bytes.
        self.store.put_blob(&digest, &bytes).await?;
        self.keep_local(&digest, &bytes)?;
        self.store
            .record_install(tenant, role.as_str(), &digest)
            .await?;
        Ok(Installed {
            digest,
            role,
            report: plugin.report.clone(),
            loaded_from: plugin.loaded_from,
        })
    }

    /// Activates an installed component (by digest or unique prefix) for the tenant's role.
    /// It is loaded and checked before anything changes; a refused plugin leaves the current
    /// one serving.
    pub async fn activate(
        &self,
        tenant: &str,
        role: Role,
        digest_prefix: &str,
    ) -> Result<Arc<Plugin>, RegistryError> {
        let digest = self.resolve_digest(tenant, role, digest_prefix).await?;
        let plugin = self.load_digest(&digest, role).await?;
        self.store.activate(tenant, role.as_str(), &digest).await?;
        self.swap(tenant, role, plugin.clone());
        Ok(plugin)
    }

    /// Goes back to the previously active component for the tenant's role.
    pub async fn rollback(&self, tenant: &str, role: Role) -> Result<Arc<Plugin>, RegistryError> {
        let previous = self
            .store
            .previous(tenant, role.as_str())
            .await?
            .ok_or_else(|| {
                StoreError::Conflict(format!(
                    "tenant '{tenant}' role {role} has no earlier activation to roll back to"
                ))
            })?;
        // Load first: if the old component no longer loads, nothing changes.
        let plugin = self.load_digest(&previous.digest, role).await?;
        let now_active = self.store.rollback(tenant, role.as_str()).await?;
        let plugin = if now_active.digest == plugin.digest {
            plugin
        } else {
            self.load_digest(&now_active.digest, role).await?
        };
        self.swap(tenant, role, plugin.clone());
        Ok(plugin)
    }

    pub async fn list(&self, tenant: Option<&str>) -> Result<Vec<Listing>, RegistryError> {
        let active = self.store.active().await?;
        let is_active = |i: &ferry_store::Install| {
            active
                .iter()
                .any(|a| a.tenant == i.tenant && a.role == i.role && a.digest == i.digest)
        };
        Ok(self
            .store
            .installs(tenant)
            .await?
            .into_iter()
            .map(|i| Listing {
                active: is_active(&i),
                tenant: i.tenant,
                role: i.role,
                digest: i.digest,
                installed_at: i.installed_at,
            })
            .collect())
    }

    /// Picks up activations made elsewhere (the CLI, another node) when the store's generation
    /// moved. Returns how many bindings changed.
    pub async fn refresh(&self) -> Result<usize, RegistryError> {
        // A snapshot overtaken by this node's own activation is read again at once, so that
        // changes made elsewhere are not put off to the next refresh.
        for _ in 0..3 {
            if let Some(changed) = self.refresh_once().await? {
                return Ok(changed);
            }
        }
        Ok(0)
    }

    /// One refresh; `None` when an activation on this node overtook the snapshot it read.
    async fn refresh_once(&self) -> Result<Option<usize>, RegistryError> {
        let swaps = *self.swaps.lock().map_err(|_| StoreError::Poisoned)?;
        let generation = self.store.generation().await?;
        if *self.generation.lock().map_err(|_| StoreError::Poisoned)? == generation {
            return Ok(Some(0));
        }
        let wanted: Vec<Activation> = self.store.active().await?;
        let mut next = HashMap::new();
        let mut changed = 0;
        let mut missing = false;
        for a in wanted {
            let role =
                Role::parse(&a.role).ok_or_else(|| RegistryError::UnknownRole(a.role.clone()))?;
            let key = (a.tenant.clone(), role);
            let plugin = match self.active(&a.tenant, role) {
                Some(p) if p.digest == a.digest => p,
                current => match self.localize(&a.digest, &a.tenant).await {
                    Ok(bytes) => {
                        let p = self.load_bytes(bytes, role).await?;
                        tracing::info!(
                            tenant = %a.tenant, role = %a.role, digest = %a.digest,
                            "registry: now serving"
                        );
                        changed += 1;
                        p
                    }
                    // A component installed before the store kept components (or by a binary
                    // that did not) is only on the node that installed it. Serve what this
                    // node served before (or nothing) and look again at the next refresh,
                    // rather than refusing to start or to refresh any other tenant.
                    Err(RegistryError::Io { path, source })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        tracing::warn!(
                            tenant = %a.tenant, role = %a.role, digest = %a.digest,
                            "the active component is neither in the store nor on this node ({}): install it again",
                            path.display()
                        );
                        missing = true;
                        match current {
                            Some(p) => p,
                            None => continue,
                        }
                    }
                    Err(e) => return Err(e),
                },
            };
            next.insert(key, plugin);
        }
        {
            // Checked and stored under the lock `swap` takes: no activation slips in between.
            let current = self.swaps.lock().map_err(|_| StoreError::Poisoned)?;
            if *current != swaps {
                return Ok(None);
            }
            changed += self
                .active
                .load()
                .keys()
                .filter(|k| !next.contains_key(*k))
                .count();
            self.active.store(Arc::new(next));
        }
        if !missing {
            *self.generation.lock().map_err(|_| StoreError::Poisoned)? = generation;
        }
        Ok(Some(changed))
    }

    fn swap(&self, tenant: &str, role: Role, plugin: Arc<Plugin>) {
        // A poisoned lock only means a panic elsewhere; the count stays meaningful.
        let mut swaps = self.swaps.lock().unwrap_or_else(|e| e.into_inner());
        self.active.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.insert((tenant.to_string(), role), plugin.clone());
            next
        });
        *swaps += 1;
    }

    /// This node's copy of an installed component (on disk once this node installed, loaded
    /// or [`Self::localize`]d it); [`Self::fetch`] also looks in the store.
    pub fn blob(&self, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let path = self.blob_path(digest);
        std::fs::read(&path).map_err(|source| RegistryError::Io { path, source })
    }

    /// An installed component's bytes: this node's copy, or the store's (then kept here).
    pub async fn fetch(&self, digest: &str) -> Result<Vec<u8>, RegistryError> {
        match self.blob(digest) {
            Err(RegistryError::Io { path, source })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                let Some(bytes) = self.store.blob(digest).await? else {
                    return Err(RegistryError::Io { path, source });
                };
                // The digest names the content: bytes that don't hash to it are not it.
                if digest_of(&bytes) != digest {
                    return Err(RegistryError::Corrupt(digest.to_string()));
                }
                self.keep_local(digest, &bytes)?;
                Ok(bytes)
            }
            other => other,
        }
    }

    /// Brings a component and what `tenant` installed beside it (a package's manifest and
    /// signature) from the store to this node, before it serves or checks it here: a node
    /// serves what another node installed with the grants its package asked for.
    pub async fn localize(&self, digest: &str, tenant: &str) -> Result<Vec<u8>, RegistryError> {
        let bytes = self.fetch(digest).await?;
        for (name, text) in self.store.plugin_files(digest, tenant).await? {
            if self.beside(digest, tenant, &name)?.as_deref() != Some(text.as_str()) {
                self.write_beside(digest, tenant, &name, &text)?;
            }
        }
        Ok(bytes)
    }

    fn keep_local(&self, digest: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        let path = self.blob_path(digest);
        if path.exists() {
            return Ok(());
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|source| RegistryError::Io { path, source })
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.blobs.join(format!("{digest}.wasm"))
    }

    /// Keeps a file about a component beside it, as one tenant installed it
    /// (`DIGEST.TENANT.NAME`: a package's manifest and signature, checked again at each
    /// activation): in the store for every node, and on this node's disk. Tenant names are
    /// path-safe (the config refuses others).
    pub async fn put_beside(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), RegistryError> {
        self.store
            .put_plugin_file(digest, tenant, name, text)
            .await?;
        self.write_beside(digest, tenant, name, text)
    }

    fn write_beside(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), RegistryError> {
        let path = self.blobs.join(format!("{digest}.{tenant}.{name}"));
        let tmp = self.blobs.join(format!("{digest}.{tenant}.{name}.tmp"));
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|source| RegistryError::Io { path, source })
    }

    /// A file [`Self::put_beside`] kept, if there is one.
    pub fn beside(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
    ) -> Result<Option<String>, RegistryError> {
        let path = self.blobs.join(format!("{digest}.{tenant}.{name}"));
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RegistryError::Io { path, source }),
        }
    }

    async fn resolve_digest(
        &self,
        tenant: &str,
        role: Role,
        prefix: &str,
    ) -> Result<String, RegistryError> {
        let prefix = prefix.trim().trim_start_matches("sha256:");
        let matches: Vec<String> = self
            .store
            .installs(Some(tenant))
            .await?
            .into_iter()
            .filter(|i| i.role == role.as_str() && i.digest.starts_with(prefix))
            .map(|i| i.digest)
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(RegistryError::UnknownDigest(format!(
                "{prefix} (tenant '{tenant}', role {role})"
            ))),
            _ if prefix.is_empty() => Err(RegistryError::UnknownDigest(prefix.to_string())),
            many => Err(RegistryError::AmbiguousDigest {
                prefix: prefix.to_string(),
                matches: many.join(", "),
            }),
        }
    }

    async fn load_digest(&self, digest: &str, role: Role) -> Result<Arc<Plugin>, RegistryError> {
        if let Some(p) = self.cached(digest, role)? {
            return Ok(p);
        }
        let bytes = self.fetch(digest).await?;
        self.load_bytes(bytes, role).await
    }

    fn cached(&self, digest: &str, role: Role) -> Result<Option<Arc<Plugin>>, RegistryError> {
        let loaded = self.loaded.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(loaded.get(&(digest.to_string(), role)).cloned())
    }

    async fn load_bytes(&self, bytes: Vec<u8>, role: Role) -> Result<Arc<Plugin>, RegistryError> {
        let digest = digest_of(&bytes);
        if let Some(p) = self.cached(&digest, role)? {
            return Ok(p);
        }
        // Compiling is CPU-bound (seconds for a Python component): keep it off the reactor.
        let runtime = self.runtime.clone();
        let plugin = tokio::task::spawn_blocking(move || runtime.load(&bytes, Some(role)))
            .await
            .map_err(|e| RegistryError::Join(e.to_string()))??;
        let plugin = Arc::new(plugin);
        self.loaded
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .insert((digest, role), plugin.clone());
        Ok(plugin)
    }
}
