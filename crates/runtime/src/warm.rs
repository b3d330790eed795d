//! Warm instances: an instance whose call returned is kept for the next call of the same
//! component under the same grants (so the same tenant, plugin version and settings), instead
//! of being dropped and instantiated again. Wiring a fresh instance is most of a small call's
//! cost. Two kinds of call are served warm, each from a pool of its own: transforms (no
//! connections) and a quoting connector's `parse-webhook` (a function of the request alone,
//! called once per webhook); every other connector call gets a fresh instance. A pool only
//! matches the same `Arc<Grants>`, so reuse carries nothing across tenants.
//!
//! An instance is kept only when its call ended cleanly: a trap, a deadline or memory stop, or
//! anything written to stderr (a panic's message) drops it, so the next call is fresh. Each
//! instance serves at most [`MAX_CALLS`] calls and waits at most [`MAX_IDLE`]; at most
//! `RuntimeSettings::warm_instances` wait at once across all tenants (0: never reuse). What a
//! plugin keeps in its memory between calls stays there: a transform must not rely on a fresh
//! memory per call, only on its answer depending on the call's input (README, "Warm
//! instances").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::grants::Grants;
use super::state::PluginState;

/// Calls one instance serves before it is dropped (bounds what a leaking guest accumulates).
pub(crate) const MAX_CALLS: u32 = 1_000;
/// How long an instance waits for its next call.
pub(crate) const MAX_IDLE: Duration = Duration::from_secs(30);

/// An instance between calls, with what it may serve.
pub(crate) struct Idle<B> {
    digest: String,
    grants: Arc<Grants>,
    pub(crate) store: Store<PluginState>,
    pub(crate) bindings: B,
    /// Calls it has served.
    pub(crate) calls: u32,
    parked: Instant,
}

/// What a call's instance may serve when it is parked.
pub(crate) struct Recycle {
    pub(crate) digest: String,
    pub(crate) grants: Arc<Grants>,
    pub(crate) calls: u32,
}

/// Instances of one kind of call (`B`: their bindings) waiting for their next call.
pub(crate) struct WarmPool<B> {
    idle: Mutex<VecDeque<Idle<B>>>,
    capacity: usize,
}

impl<B> WarmPool<B> {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::new(VecDeque::new()),
            capacity,
        })
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The most recently parked instance of `digest` under these very grants (the same `Arc`:
    /// a changed config or another tenant never matches), if one waits.
    pub(crate) fn take(&self, digest: &str, grants: &Arc<Grants>) -> Option<Idle<B>> {
        if !self.enabled() {
            return None;
        }
        let (found, expired) = {
            let Ok(mut idle) = self.idle.lock() else {
                return None;
            };
            let expired = drain_expired(&mut idle);
            let at = idle
                .iter()
                .rposition(|i| i.digest == digest && Arc::ptr_eq(&i.grants, grants));
            (at.and_then(|at| idle.remove(at)), expired)
        };
        retire(expired);
        found
    }

    /// Parks an instance whose call ended cleanly (`PluginCall::finish` checked that).
    pub(crate) fn put(&self, recycle: Recycle, store: Store<PluginState>, bindings: B) {
        let calls = recycle.calls.saturating_add(1);
        if !self.enabled() || calls >= MAX_CALLS {
            retire(vec![store]);
            return;
        }
        let entry = Idle {
            digest: recycle.digest,
            grants: recycle.grants,
            store,
            bindings,
            calls,
            parked: Instant::now(),
        };
        let evicted = match self.idle.lock() {
            Ok(mut idle) => {
                let mut evicted = drain_expired(&mut idle);
                idle.push_back(entry);
                while idle.len() > self.capacity {
                    if let Some(oldest) = idle.pop_front() {
                        evicted.push(oldest.store);
                    }
                }
                evicted
            }
            Err(_) => vec![entry.store],
        };
        retire(evicted);
    }
}

fn drain_expired<B>(idle: &mut VecDeque<Idle<B>>) -> Vec<Store<PluginState>> {
    let mut expired = Vec::new();
    while idle.front().is_some_and(|i| i.parked.elapsed() > MAX_IDLE) {
        if let Some(old) = idle.pop_front() {
            expired.push(old.store);
        }
    }
    expired
}

/// Drops stores off the async threads (returning a memory to the pool takes a while).
fn retire(stores: Vec<Store<PluginState>>) {
    if stores.is_empty() {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => drop(handle.spawn_blocking(move || drop(stores))),
        Err(_) => drop(stores),
    }
}
