//! One plugin call: a fresh instance in a fresh `Store`, bounded by the deadline and the memory
//! cap, dropped when the call ends. Traps become `CallError`s that say why the call was stopped;
//! the host keeps serving.
//!
//! Guest code never holds a server thread for long: at every epoch tick it yields to the
//! executor (and is stopped once past its deadline), and a tenant's calls take turns
//! (`turns.rs`), so a tenant whose plugin loops or hogs memory slows only itself.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Store, UpdateDeadline};

use super::bindings::transform::{Context, Issue, Mapped};
use super::bindings::types::Document;
use super::bindings::{
    ErpConnector, ErpConnectorV1_1, ErpConnectorV1_2, ErpConnectorV1_3, QuotingConnector,
    QuotingConnectorV1_1, Transform,
};
use super::engine::Runtime;
use super::grants::Grants;
use super::plugin::{Plugin, RolePre};
use super::state::PluginState;
use super::turns::Turn;
use super::warm::{Recycle, WarmPool};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CallError {
    #[error("stopped: the call ran past its {deadline_ms} ms deadline")]
    Deadline { deadline_ms: u64 },
    #[error("stopped: the plugin tried to grow its memory past the {limit_mib} MiB cap")]
    MemoryLimit { limit_mib: u64 },
    #[error("the plugin trapped: {message}")]
    Trap { message: String },
    #[error("could not instantiate the plugin: {message}")]
    Instantiate { message: String },
    #[error(
        "busy: tenant '{tenant}' already runs its plugins at full concurrency; waited {queue_ms} ms, retry later"
    )]
    Busy { tenant: String, queue_ms: u64 },
    #[error("plugin {plugin} is a {actual} plugin, not {expected}")]
    WrongRole {
        plugin: String,
        expected: &'static str,
        actual: &'static str,
    },
}

/// An instantiated plugin, ready for exactly one call:
///
/// ```ignore
/// let mut call = runtime.transform(&plugin, grants).await?;
/// let (mapping, store) = call.parts();
/// let result = mapping.ferry_transform_transform().call_map_document(store, kind, &doc, &ctx).await;
/// let outcome = call.finish(result)?;
/// ```
pub struct PluginCall<B> {
    store: CallStore,
    bindings: B,
    deadline_ms: u64,
    /// Where the instance goes when the call ends cleanly (warm instances, `warm.rs`); none:
    /// dropped.
    recycle: Option<Recycler<B>>,
}

type Recycler<B> = Box<dyn FnOnce(Store<PluginState>, B) + Send>;

impl PluginCall<()> {
    /// A call made without typed bindings (the dynamic path of `ferry plugin run`).
    pub(crate) fn from_store(store: Store<PluginState>, deadline_ms: u64) -> Self {
        Self {
            store: CallStore(Some(store)),
            bindings: (),
            deadline_ms,
            recycle: None,
        }
    }
}

impl<B> PluginCall<B> {
    /// The bindings and the store to call them with.
    pub fn parts(&mut self) -> (&B, &mut Store<PluginState>) {
        (&self.bindings, self.store.get())
    }

    /// The vendor details the plugin added so far (`ferry:host/diagnostics`), taken out of
    /// the call: the adapter attaches them to the error the call returned, if any.
    pub(crate) fn take_details(&mut self) -> Vec<(String, String)> {
        self.store.get().data_mut().details.take()
    }

    /// Keeps the HTTP exchanges this call makes (masked, bounded) for [`Self::take_exchanges`].
    pub(crate) fn record_exchanges(&mut self) {
        self.store.get().data_mut().exchanges = Some(Vec::new());
    }

    /// Records or replays this call's HTTP on the shadow run's tape open here, if any.
    pub(crate) fn use_tape(&mut self, tape: Option<crate::tape::TapeMode>) {
        self.store.get().data_mut().tape = tape;
    }

    /// The exchanges kept so far and how many more were made (none unless recording).
    pub(crate) fn take_exchanges(&mut self) -> (Vec<ferry_domain::journal::Exchange>, u32) {
        let state = self.store.get().data_mut();
        let kept = state
            .exchanges
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        (kept, std::mem::take(&mut state.exchanges_dropped))
    }

    /// The call, handing its instance to `recycle` when it ends cleanly.
    fn recycled(mut self, recycle: Option<Recycler<B>>) -> Self {
        self.recycle = recycle;
        self
    }

    /// Ends the call: classifies a trap and drops the instance; a call that returned cleanly
    /// hands a poolable instance back for the next call (`warm.rs`).
    pub fn finish<T>(self, result: wasmtime::Result<T>) -> Result<T, CallError> {
        let PluginCall {
            mut store,
            bindings,
            deadline_ms,
            recycle,
        } = self;
        match result {
            Ok(value) => {
                if let Some(recycle) = recycle {
                    store.recycle(|parked| recycle(parked, bindings));
                }
                Ok(value)
            }
            Err(e) => Err(classify(store.get(), deadline_ms, e)),
        }
    }
}

/// A call's store, dropped off the async threads: returning a memory the guest filled (up to
/// its cap) to the pool or the kernel takes milliseconds that other tenants' requests would
/// otherwise wait behind. The tenant's turn is released only after that, so the cost counts
/// against the tenant that caused it.
struct CallStore(Option<Store<PluginState>>);

impl CallStore {
    fn get(&mut self) -> &mut Store<PluginState> {
        // Some from construction until `drop`, which is the only place that takes it.
        self.0
            .as_mut()
            .expect("a call's store lives until the call is dropped")
    }

    /// Hands the store to `park` when its call ended cleanly (nothing on stderr, no memory
    /// stop), the tenant's turn given back first; otherwise it is dropped as usual.
    fn recycle(&mut self, park: impl FnOnce(Store<PluginState>)) {
        let clean = self.get().data_mut().end_call();
        if !clean {
            return;
        }
        if let Some(mut store) = self.0.take() {
            let turn = store.data_mut().turn.take();
            park(store);
            drop(turn);
        }
    }
}

impl Drop for CallStore {
    fn drop(&mut self) {
        let Some(store) = self.0.take() else { return };
        let mut store = store;
        let retire = move || {
            let turn = store.data_mut().turn.take();
            drop(store);
            drop(turn);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(retire)),
            Err(_) => retire(),
        }
    }
}

impl PluginCall<Transform> {
    /// The one call a transform offers: map `input` as `kind`, in domain terms (the
    /// conversions are `roles/convert.rs`'s). Runs on the caller's threads: flows and the API
    /// use the role adapters, which also resolve the plugin and use the guest threads.
    pub async fn map(
        self,
        kind: &str,
        input: &ferry_domain::Document,
        context: &ferry_domain::Context,
    ) -> Result<Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>, CallError> {
        let input = Document::from(input.clone());
        let context = Context::from(context.clone());
        let mapped = self.map_raw(kind, &input, &context).await?;
        Ok(super::roles::convert::mapping_result(mapped))
    }

    /// [`PluginCall::map`] in the contract's own types, for tests of the raw contract.
    #[cfg(feature = "raw-contract")]
    pub async fn map_document(
        self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> Result<Result<Mapped, Vec<Issue>>, CallError> {
        self.map_raw(kind, input, context).await
    }

    async fn map_raw(
        mut self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> Result<Result<Mapped, Vec<Issue>>, CallError> {
        let (transform, store) = self.parts();
        let result = transform
            .ferry_transform_transform()
            .call_map_document(store, kind, input, context)
            .await;
        self.finish(result)
    }
}

fn classify(store: &Store<PluginState>, deadline_ms: u64, e: wasmtime::Error) -> CallError {
    if matches!(
        e.downcast_ref::<wasmtime::Trap>(),
        Some(wasmtime::Trap::Interrupt)
    ) {
        return CallError::Deadline { deadline_ms };
    }
    let limiter = &store.data().limiter;
    if limiter.memory_denied {
        return CallError::MemoryLimit {
            limit_mib: (limiter.memory_limit >> 20) as u64,
        };
    }
    let mut message = match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{e:#}"),
    };
    // A Rust guest's panic message goes to stderr just before its `unreachable`.
    let stderr = store.data().stderr_tail();
    if !stderr.is_empty() {
        message.push_str(": ");
        message.push_str(&stderr);
    }
    CallError::Trap { message }
}

/// `Runtime::erp` and its siblings: the raw contract (a plugin instantiated with its typed
/// bindings), public only with feature `raw-contract`; inside, the adapters in `roles` use it.
/// With `warm: pool`, a call first takes up the warm instance that the last clean call of the
/// same component under the same grants left in `pool`, and parks its own when it ends cleanly
/// (`warm.rs`).
macro_rules! role_call {
    ($fn:ident, $variant:ident, $bindings:ty, $expected:literal $(, warm: $pool:ident)?) => {
        #[cfg(feature = "raw-contract")]
        role_call!(@def pub, $fn, $variant, $bindings, $expected $(, $pool)?);
        #[cfg(not(feature = "raw-contract"))]
        role_call!(@def pub(crate), $fn, $variant, $bindings, $expected $(, $pool)?);
    };
    (@def $vis:vis, $fn:ident, $variant:ident, $bindings:ty, $expected:literal $(, $pool:ident)?) => {
        /// `plugin`, instantiated (or warm, for the calls kept warm) for one call with the
        /// tenant's `grants`.
        $vis async fn $fn(
            &self,
            plugin: &Plugin,
            grants: Arc<Grants>,
        ) -> Result<PluginCall<$bindings>, CallError> {
            let RolePre::$variant(pre) = &plugin.pre else {
                return Err(CallError::WrongRole {
                    plugin: plugin.label(),
                    expected: $expected,
                    actual: plugin.role.world(),
                });
            };
            // The turn comes first: the deadline counts from when the call may run.
            let turn = self.turn(&grants).await?;
            $(
                let turn = match self.warm_call(&self.$pool, plugin, &grants, turn) {
                    Ok(call) => return Ok(call),
                    Err(turn) => turn,
                };
            )?
            let mut store = self.call_store(grants.clone(), turn);
            let instantiated = pre.instantiate_async(store.get()).await;
            let call = self.instantiated(store, instantiated)?;
            $(
                let call = call.recycled(self.recycler(&self.$pool, plugin, grants, 0));
            )?
            Ok(call)
        }
    };
}

impl Runtime {
    role_call!(erp, Erp, ErpConnector, "erp-connector");
    role_call!(quoting, Quoting, QuotingConnector, "quoting-connector");
    // Plugins built against ferry:erp / ferry:quoting 1.0 or 1.1 (before 1.2's new exports).
    role_call!(erp_v1_1, ErpV1_1, ErpConnectorV1_1, "erp-connector@1.1");
    // Plugins built against ferry:erp 1.2 (before 1.3's batched prices and stock).
    role_call!(erp_v1_2, ErpV1_2, ErpConnectorV1_2, "erp-connector@1.2");
    // Plugins built against ferry:erp 1.3 (before 1.4's stock delta).
    role_call!(erp_v1_3, ErpV1_3, ErpConnectorV1_3, "erp-connector@1.3");
    role_call!(
        quoting_v1_1,
        QuotingV1_1,
        QuotingConnectorV1_1,
        "quoting-connector@1.1"
    );
    // Kept warm (`warm.rs`): every transform call, and a quoting connector's `parse-webhook`
    // (it answers from the request alone, and intake calls it once per webhook).
    role_call!(transform, Transform, Transform, "transform", warm: warm);
    role_call!(
        quoting_webhook,
        Quoting,
        QuotingConnector,
        "quoting-connector",
        warm: warm_webhooks
    );

    /// A call on `pool`'s warm instance of `plugin` under these very grants, given a new
    /// budget and the tenant's `turn`; none waits: the turn back, to instantiate with.
    fn warm_call<B: Send + 'static>(
        &self,
        pool: &Arc<WarmPool<B>>,
        plugin: &Plugin,
        grants: &Arc<Grants>,
        turn: Turn,
    ) -> Result<PluginCall<B>, Turn> {
        let Some(idle) = pool.take(&plugin.digest, grants) else {
            return Err(turn);
        };
        let mut store = idle.store;
        store.set_epoch_deadline(1);
        store
            .data_mut()
            .begin_call(self.settings.call_deadline(), turn);
        Ok(PluginCall {
            recycle: self.recycler(pool, plugin, grants.clone(), idle.calls),
            store: CallStore(Some(store)),
            bindings: idle.bindings,
            deadline_ms: self.settings.call_deadline_ms,
        })
    }

    /// Where a call's instance goes when it ends cleanly: back to `pool` (none when warm
    /// instances are off).
    fn recycler<B: Send + 'static>(
        &self,
        pool: &Arc<WarmPool<B>>,
        plugin: &Plugin,
        grants: Arc<Grants>,
        calls: u32,
    ) -> Option<Recycler<B>> {
        if !pool.enabled() {
            return None;
        }
        let pool = pool.clone();
        let recycle = Recycle {
            digest: plugin.digest.clone(),
            grants,
            calls,
        };
        Some(Box::new(move |store, bindings| {
            pool.put(recycle, store, bindings)
        }))
    }

    /// The tenant's turn at running guest code, or `Busy` once its queue wait runs out.
    async fn turn(&self, grants: &Grants) -> Result<Turn, CallError> {
        self.turns
            .take(&grants.tenant)
            .await
            .ok_or_else(|| CallError::Busy {
                tenant: grants.tenant.clone(),
                queue_ms: self.settings.tenant_queue_ms,
            })
    }

    fn call_store(&self, grants: Arc<Grants>, turn: Turn) -> CallStore {
        let mut store = CallStore(Some(self.new_store(grants)));
        store.get().data_mut().turn = Some(turn);
        store
    }

    /// The call, or why its instance could not be made (a trap while starting is reported as
    /// `Instantiate`).
    fn instantiated<B>(
        &self,
        mut store: CallStore,
        instantiated: wasmtime::Result<B>,
    ) -> Result<PluginCall<B>, CallError> {
        let deadline_ms = self.settings.call_deadline_ms;
        match instantiated {
            Ok(bindings) => Ok(PluginCall {
                store,
                bindings,
                deadline_ms,
                recycle: None,
            }),
            Err(e) => match classify(store.get(), deadline_ms, e) {
                CallError::Trap { message } => Err(CallError::Instantiate { message }),
                other => Err(other),
            },
        }
    }

    /// A store for one call: limits, deadline (covering instantiation and the call), grants.
    /// Guest code yields its thread at every epoch tick, and is stopped (`Trap::Interrupt`,
    /// reported as a deadline stop) at the first tick past the deadline.
    pub(crate) fn new_store(&self, grants: Arc<Grants>) -> Store<PluginState> {
        let mut store = Store::new(
            &self.engine,
            PluginState::new(
                grants,
                self.settings.memory_limit_bytes(),
                self.settings.call_deadline(),
            ),
        );
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|cx| {
            if Instant::now() >= cx.data().deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            // tokio's yield lets the I/O driver and other tasks run before this call resumes.
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        store
    }
}
