//! The one `Engine` per process and its settings: pooling allocator (with a fallback), epoch
//! deadlines, memory caps, and the proposals plugins get (as few as possible).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::{QuotingConnector, Transform};
use super::call::CallError;
use super::compile_cache::CompileCache;
use super::contract::Role;
use super::state::PluginState;
use super::turns::Turns;
use super::warm::WarmPool;

/// Limits and knobs for every plugin call. Defaults suit connectors and transforms written in
/// Rust; Python components need a larger memory cap (set per deployment).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeSettings {
    /// Compiled components are cached here (keyed by content hash and engine settings).
    pub cache_dir: Option<PathBuf>,
    /// Wall-clock budget of one call, instantiation included.
    pub call_deadline_ms: u64,
    /// Linear memory cap per instance.
    pub memory_limit_mib: u64,
    /// How many instances may be alive at once (the pooling allocator's slots).
    pub max_instances: u32,
    pub pooling: PoolingMode,
    /// Epoch tick: the granularity of deadlines, and how long guest code runs before it yields
    /// its thread to other tasks.
    pub epoch_tick_ms: u64,
    /// Refuse component files larger than this before even parsing them.
    pub max_component_mib: u64,
    /// Per pooled memory, how much stays mapped between instances (dirty pages are reset in
    /// place, found with Linux's PAGEMAP_SCAN where available) instead of being returned to the
    /// kernel and faulted in again by the next call. The biggest lever on per-call cost.
    pub keep_resident_kib: u64,
    /// How many calls of one tenant may run guest code at once; 0: half the cores, at least
    /// one. A tenant's further calls wait their turn (see `turns.rs`), not other tenants'.
    pub tenant_concurrency: usize,
    /// How long a call may wait for its tenant's turn before it is refused as busy (503).
    pub tenant_queue_ms: u64,
    /// Threads that run the server's plugin calls apart from its I/O threads; 0: one per core.
    pub guest_threads: usize,
    /// Instances kept warm between calls, across all tenants, for transforms and (as many
    /// again) for quoting connectors' `parse-webhook` (each serves only the same component
    /// under the same grants; see `warm.rs`); 0: a fresh instance every call.
    pub warm_instances: usize,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            cache_dir: None,
            call_deadline_ms: 10_000,
            memory_limit_mib: 256,
            max_instances: 256,
            pooling: PoolingMode::Auto,
            epoch_tick_ms: 5,
            max_component_mib: 64,
            keep_resident_kib: 1024,
            tenant_concurrency: 0,
            tenant_queue_ms: 5_000,
            guest_threads: 0,
            warm_instances: 16,
        }
    }
}

impl RuntimeSettings {
    pub fn call_deadline(&self) -> Duration {
        Duration::from_millis(self.call_deadline_ms)
    }

    pub fn memory_limit_bytes(&self) -> usize {
        usize::try_from(self.memory_limit_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
    }

    /// Calls of one tenant running guest code at once: as set, else half the cores (at least
    /// one), so one tenant's busy plugins leave the other cores to everyone else.
    pub fn tenant_concurrency(&self) -> usize {
        match self.tenant_concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            n => n,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PoolingMode {
    /// Use the pooling allocator when the address space can be reserved, else on-demand.
    #[default]
    Auto,
    On,
    Off,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("could not create the wasm engine: {0}")]
    Engine(String),
    #[error("could not link host imports for {role}: {message}")]
    Link { role: Role, message: String },
    #[error("compile cache at {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The plugin runtime. Cheap to share (`Arc`); create one per process.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) settings: RuntimeSettings,
    pub(crate) linkers: Linkers,
    pub(crate) cache: CompileCache,
    pub(crate) turns: Turns,
    pub(crate) warm: Arc<WarmPool<Transform>>,
    pub(crate) warm_webhooks: Arc<WarmPool<QuotingConnector>>,
    guest: GuestPool,
    pooling: bool,
    _ticker: EpochTicker,
}

/// One linker per role, holding only that role's world imports (plus WASI with nothing
/// granted), so a transform cannot even link against `http`.
pub(crate) struct Linkers {
    pub erp: Linker<PluginState>,
    pub quoting: Linker<PluginState>,
    pub transform: Linker<PluginState>,
}

impl Runtime {
    pub fn new(settings: RuntimeSettings) -> Result<Arc<Self>, RuntimeError> {
        let (engine, pooling) = match settings.pooling {
            PoolingMode::Off => (build_engine(&settings, false)?, false),
            PoolingMode::On => (build_engine(&settings, true)?, true),
            PoolingMode::Auto => match build_engine(&settings, true) {
                Ok(engine) => (engine, true),
                Err(e) => {
                    // Spin does the same: some hosts (overcommit limits, small address spaces)
                    // can't reserve the pool; on-demand allocation is slower but works.
                    tracing::warn!(
                        "pooling allocator unavailable ({e}); using on-demand allocation"
                    );
                    (build_engine(&settings, false)?, false)
                }
            },
        };
        let linkers = Linkers {
            erp: super::imports::linker_for(&engine, Role::Erp)?,
            quoting: super::imports::linker_for(&engine, Role::Quoting)?,
            transform: super::imports::linker_for(&engine, Role::Transform)?,
        };
        let cache = CompileCache::new(&engine, settings.cache_dir.clone())?;
        let ticker = EpochTicker::start(
            &engine,
            Duration::from_millis(settings.epoch_tick_ms.max(1)),
        )?;
        let turns = Turns::new(
            settings.tenant_concurrency(),
            Duration::from_millis(settings.tenant_queue_ms),
        );
        let guest = GuestPool::new(settings.guest_threads);
        let warm = WarmPool::new(settings.warm_instances);
        let warm_webhooks = WarmPool::new(settings.warm_instances);
        Ok(Arc::new(Self {
            engine,
            settings,
            linkers,
            cache,
            turns,
            warm,
            warm_webhooks,
            guest,
            pooling,
            _ticker: ticker,
        }))
    }

    pub fn settings(&self) -> &RuntimeSettings {
        &self.settings
    }

    /// Whether instances come from the pooling allocator (false: on-demand fallback).
    pub fn uses_pooling(&self) -> bool {
        self.pooling
    }

    /// Runs `work` (plugin calls) on the guest threads, apart from the server's I/O threads: a
    /// request never waits for a guest's time slice to end before it is read or answered. The
    /// work runs to its end (bounded by the call deadline) even if the caller stops waiting.
    pub async fn run_guest<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T, CallError>> + Send + 'static,
    ) -> Result<T, CallError> {
        match self.guest.handle() {
            // A task that panicked or was cancelled ended the call like a trap.
            Some(handle) => handle.spawn(work).await.unwrap_or_else(|e| {
                Err(CallError::Trap {
                    message: format!("the call's task ended: {e}"),
                })
            }),
            // No pool (its threads could not start): run on the caller's threads.
            None => work.await,
        }
    }

    pub(crate) fn linker(&self, role: Role) -> &Linker<PluginState> {
        match role {
            Role::Erp => &self.linkers.erp,
            Role::Quoting => &self.linkers.quoting,
            Role::Transform => &self.linkers.transform,
        }
    }
}

fn build_engine(settings: &RuntimeSettings, pooling: bool) -> Result<Engine, RuntimeError> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Deadlines: at each epoch tick a call yields to the executor, and is stopped once past its
    // deadline (cheaper than fuel; see DESIGN.md and `call.rs` `new_store`).
    config.epoch_interruption(true);
    config.max_wasm_stack(512 << 10);
    // Proposals plugins don't need stay off: most recent advisories live in them.
    config.wasm_threads(false);
    config.wasm_memory64(false);
    config.wasm_multi_memory(false);
    config.wasm_gc(false);
    config.wasm_function_references(false);
    config.wasm_exceptions(false);
    config.wasm_stack_switching(false);
    config.wasm_component_model_async(false);
    config.memory_init_cow(true);
    if pooling {
        let memory = settings.memory_limit_bytes();
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(settings.max_instances)
            // Python components (componentize-py) carry several core modules and big tables.
            .max_core_instances_per_component(64)
            .total_core_instances(settings.max_instances.saturating_mul(8))
            .max_memories_per_component(8)
            .total_memories(settings.max_instances.saturating_mul(4))
            .max_tables_per_component(64)
            .total_tables(settings.max_instances.saturating_mul(8))
            .table_elements(100_000)
            .total_stacks(settings.max_instances)
            .max_memory_size(memory)
            .max_component_instance_size(4 << 20)
            .max_core_instance_size(4 << 20);
        let resident =
            usize::try_from(settings.keep_resident_kib.saturating_mul(1024)).unwrap_or(0);
        if resident > 0 {
            pool.linear_memory_keep_resident(resident)
                .table_keep_resident(resident.min(1 << 20))
                .pagemap_scan(wasmtime::Enabled::Auto);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    } else {
        config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    Engine::new(&config).map_err(|e| RuntimeError::Engine(format!("{e:#}")))
}

/// The threads plugin calls run on (started on first use: CLI runs never need them).
struct GuestPool {
    threads: usize,
    runtime: std::sync::OnceLock<Option<tokio::runtime::Runtime>>,
}

impl GuestPool {
    fn new(threads: usize) -> Self {
        let threads = match threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Self {
            threads,
            runtime: std::sync::OnceLock::new(),
        }
    }

    fn handle(&self) -> Option<tokio::runtime::Handle> {
        let runtime = self.runtime.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(self.threads)
                .thread_name("ferry-guest")
                .enable_all()
                .build()
                .map_err(|e| {
                    tracing::warn!("no guest threads ({e}); plugin calls share the I/O threads")
                })
                .ok()
        });
        runtime.as_ref().map(|r| r.handle().clone())
    }
}

impl Drop for GuestPool {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside async code (where a `Runtime`
        // is often dropped): let its threads wind down on their own.
        if let Some(Some(runtime)) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Advances the engine's epoch on a dedicated thread; stops when the engine is dropped.
struct EpochTicker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl EpochTicker {
    fn start(engine: &Engine, tick: Duration) -> Result<Self, RuntimeError> {
        let weak = engine.weak();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_flag = stop.clone();
        std::thread::Builder::new()
            .name("ferry-epoch".into())
            .spawn(move || {
                while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match weak.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            // Without a ticker no deadline ever fires: refuse to run unbounded.
            .map_err(|e| RuntimeError::Engine(format!("could not start the epoch ticker: {e}")))?;
        Ok(Self { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
