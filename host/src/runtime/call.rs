//! One plugin call: a fresh instance in a fresh `Store`, bounded by the epoch deadline and the
//! memory cap, dropped when the call ends. Traps become `CallError`s that say why the call was
//! stopped; the host keeps serving.

use std::sync::Arc;

use wasmtime::Store;

use super::bindings::mapping::{Context, Issue, Mapped};
use super::bindings::types::Document;
use super::bindings::{ErpConnector, QuotingConnector, Transform};
use super::engine::Runtime;
use super::grants::Grants;
use super::plugin::{Plugin, RolePre};
use super::state::PluginState;

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
/// let result = mapping.ferry_plugin_mapping().call_map_document(store, kind, &doc, &ctx).await;
/// let outcome = call.finish(result)?;
/// ```
pub struct PluginCall<B> {
    store: Store<PluginState>,
    bindings: B,
    deadline_ms: u64,
}

impl PluginCall<()> {
    /// A call made without typed bindings (the dynamic path of `ferry plugin run`).
    pub(crate) fn from_store(store: Store<PluginState>, deadline_ms: u64) -> Self {
        Self {
            store,
            bindings: (),
            deadline_ms,
        }
    }
}

impl<B> PluginCall<B> {
    /// The bindings and the store to call them with.
    pub fn parts(&mut self) -> (&B, &mut Store<PluginState>) {
        (&self.bindings, &mut self.store)
    }

    /// Ends the call: classifies a trap, and drops the instance either way.
    pub fn finish<T>(self, result: wasmtime::Result<T>) -> Result<T, CallError> {
        result.map_err(|e| classify(&self.store, self.deadline_ms, e))
    }
}

impl PluginCall<Transform> {
    /// The one call a transform offers: map `input` as `kind`.
    pub async fn map_document(
        mut self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> Result<Result<Mapped, Vec<Issue>>, CallError> {
        let (transform, store) = self.parts();
        let result = transform
            .ferry_plugin_mapping()
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

macro_rules! role_call {
    ($fn:ident, $variant:ident, $bindings:ty, $expected:literal) => {
        /// Instantiates `plugin` for one call with the tenant's `grants`.
        pub async fn $fn(
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
            let mut store = self.new_store(grants);
            match pre.instantiate_async(&mut store).await {
                Ok(bindings) => Ok(PluginCall {
                    store,
                    bindings,
                    deadline_ms: self.settings.call_deadline_ms,
                }),
                Err(e) => match classify(&store, self.settings.call_deadline_ms, e) {
                    CallError::Trap { message } => Err(CallError::Instantiate { message }),
                    other => Err(other),
                },
            }
        }
    };
}

impl Runtime {
    role_call!(erp, Erp, ErpConnector, "erp-connector");
    role_call!(quoting, Quoting, QuotingConnector, "quoting-connector");
    role_call!(transform, Transform, Transform, "transform");

    /// A store for one call: limits, deadline (covering instantiation and the call), grants.
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
        store.set_epoch_deadline(self.settings.deadline_ticks());
        store.epoch_deadline_trap();
        store
    }
}
