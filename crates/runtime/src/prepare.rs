//! "Prepare": run a transform's `describe` once under a tenant's settings and snapshot the
//! instance's memory into a new component (Wizer). Every later call starts from that snapshot,
//! so work the plugin did in `describe` (the declarative mapping parses and caches its mapping
//! files there) is done once per configuration instead of once per call.
//!
//! Preparing is CPU-heavy (instrument, compile, run, snapshot, compile again: about a second),
//! so the server does it on a thread of its own, one at a time ([`Runtime::prepare_in_background`]),
//! never on the threads that serve requests and flows. And it is shared by content: tenants
//! whose transform is the same component under the same settings get one prepared plugin (one
//! snapshot, one compile, one copy of its code in memory).

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak, mpsc};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, EngineWeak};
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

    /// Prepares the transform whose component is `base` (its digest; `bytes` reads it) under
    /// `grants`' settings on the prepare thread, and hands the outcome to `done` there. Returns
    /// at once: nothing runs on the caller's thread, whatever runtime it belongs to. A plugin
    /// already prepared for the same component and settings (by another tenant) is handed
    /// over without preparing again; so is an earlier failure.
    pub fn prepare_in_background(
        self: &Arc<Self>,
        base: String,
        bytes: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
        grants: Arc<Grants>,
        done: impl FnOnce(Result<Arc<Plugin>, String>) + Send + 'static,
    ) {
        let runtime = self.clone();
        let job: Job = Box::new(move |rt| {
            let outcome = match rt {
                Some(rt) => catch_unwind(AssertUnwindSafe(|| {
                    runtime.shared_prepared(rt, &base, bytes, grants)
                }))
                .unwrap_or_else(|_| Err("preparing the transform panicked".into())),
                None => Err("no prepare thread could be started".into()),
            };
            done(outcome);
        });
        match preparer() {
            Some(queue) => {
                if let Err(refused) = queue.send(job) {
                    (refused.0)(None);
                }
            }
            None => job(None),
        }
    }

    /// The shared prepared plugin for (`base`, settings): the one already made, or made now
    /// on this (the prepare) thread.
    fn shared_prepared(
        &self,
        rt: &tokio::runtime::Runtime,
        base: &str,
        bytes: impl FnOnce() -> Result<Vec<u8>, String>,
        grants: Arc<Grants>,
    ) -> Result<Arc<Plugin>, String> {
        let key = (base.to_string(), baked_in(&grants.settings));
        if let Some(found) = self.lookup(&key) {
            return found;
        }
        // Only this thread prepares, so no one else is making this key meanwhile.
        let bytes = bytes()?;
        let made = rt
            .block_on(self.prepare_transform(&bytes, grants))
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let state = match &made {
            Ok(plugin) => Made::Ready(Arc::downgrade(plugin)),
            Err(e) => Made::Failed(e.clone()),
        };
        if let Ok(mut shared) = SHARED.lock() {
            // Entries whose plugin every tenant dropped (or whose engine is gone) go.
            shared.retain(|_, e| e.live());
            shared.insert(
                key,
                Entry {
                    engine: self.engine.weak(),
                    made: state,
                },
            );
        }
        made
    }

    /// What this runtime's engine already made for `key`, if anything still holds it.
    fn lookup(&self, key: &Key) -> Option<Result<Arc<Plugin>, String>> {
        let shared = SHARED.lock().ok()?;
        let entry = shared.get(key)?;
        // A plugin compiled by another engine (another `Runtime` in this process) can't run here.
        let engine = entry.engine.upgrade()?;
        if !Engine::same(&engine, &self.engine) {
            return None;
        }
        match &entry.made {
            Made::Ready(plugin) => plugin.upgrade().map(Ok),
            Made::Failed(e) => Some(Err(e.clone())),
        }
    }
}

/// What a prepared plugin is shared by: the base component's digest, and a hash of what the
/// snapshot bakes in. A transform's world imports only `config` (its settings), `log` (which
/// returns nothing) and WASI with nothing granted, so its settings are all of that: the
/// tenant's name, connections and secrets never reach `describe`.
type Key = (String, String);

fn baked_in(settings: &BTreeMap<String, String>) -> String {
    let mut hash = Sha256::new();
    for (k, v) in settings {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        for part in [k, v] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
    }
    hex::encode(hash.finalize())
}

enum Made {
    /// Weak: the plugin lives as long as a tenant serves it, not as long as the process.
    Ready(Weak<Plugin>),
    /// Not tried again for the same component and settings (a new version is).
    Failed(String),
}

struct Entry {
    engine: EngineWeak,
    made: Made,
}

impl Entry {
    fn live(&self) -> bool {
        self.engine.upgrade().is_some()
            && match &self.made {
                Made::Ready(p) => p.strong_count() > 0,
                Made::Failed(_) => true,
            }
    }
}

static SHARED: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(Default::default);

/// Work for the prepare thread, given its runtime (`None`: there is no prepare thread).
type Job = Box<dyn FnOnce(Option<&tokio::runtime::Runtime>) + Send>;

/// The prepare thread's queue, started on first use: one thread for the process, so preparing
/// takes at most one core from serving, and jobs for the same key run one after the other
/// (the second finds the first's plugin).
fn preparer() -> Option<&'static mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("ferry-prepare".into())
            .spawn(move || {
                // Its own small runtime drives wasmtime's async calls (epoch yields, WASI):
                // the server's runtimes are never asked to.
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::warn!(
                            "no runtime for preparing ({e}): transforms are not prepared"
                        );
                        for job in rx {
                            job(None);
                        }
                        return;
                    }
                };
                for job in rx {
                    job(Some(&rt));
                }
            });
        match started {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::warn!("no prepare thread ({e}): transforms are not prepared");
                None
            }
        }
    });
    queue.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_differ_hash_apart() {
        let s = |pairs: &[(&str, &str)]| {
            baked_in(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(s(&[("a", "1"), ("b", "2")]), s(&[("b", "2"), ("a", "1")]));
        assert_ne!(s(&[("ab", "c")]), s(&[("a", "bc")]));
        assert_ne!(s(&[("a", "1")]), s(&[("a", "2")]));
        assert_ne!(s(&[]), s(&[("a", "")]));
    }
}
