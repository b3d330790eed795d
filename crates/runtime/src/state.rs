//! What one plugin call's `Store` holds: an empty WASI context (no files, sockets, env, args or
//! stdio), the memory limiter, and the tenant's grants the host imports act on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use ferry_domain::journal::{Exchange, MAX_EXCHANGES};

use super::grants::Grants;
use super::turns::Turn;

/// Log lines one call may write; past it the plugin's logs are dropped (and counted).
const LOG_LINES_PER_CALL: u32 = 1_000;
/// How much of a plugin's stderr is kept: enough for a panic message.
const STDERR_CAPTURE: usize = 2048;

pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) grants: Arc<Grants>,
    pub(crate) logs_left: u32,
    pub(crate) logs_dropped: u32,
    /// Vendor details for the error this call may return (`ferry:host/diagnostics`).
    pub(crate) details: super::imports::Details,
    stderr: MemoryOutputPipe,
    /// When this call's budget runs out. Host calls (SQL, HTTP) bound their own waits by it,
    /// since the epoch deadline only interrupts guest code.
    pub(crate) deadline: Instant,
    /// The tenant's turn at running guest code (none for CLI runs and preparing). Host calls
    /// that wait on the network pause it.
    pub(crate) turn: Option<Turn>,
    /// The HTTP exchanges this call made, masked and bounded, when a run's journal asked for
    /// them (`ferry_domain::journal`); None: not kept.
    pub(crate) exchanges: Option<Vec<Exchange>>,
    pub(crate) exchanges_dropped: u32,
    /// A shadow run's tape (`tape.rs`): the live call's exchanges are kept on it, or the
    /// candidate's requests answered from it instead of sent.
    pub(crate) tape: Option<crate::tape::TapeMode>,
}

impl PluginState {
    pub(crate) fn new(grants: Arc<Grants>, memory_limit: usize, budget: Duration) -> Self {
        // Nothing inherited: no preopened directories, no env, no args, stdio to nowhere, and
        // sockets denied (wasmtime-wasi's default since v48, restated here on purpose).
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: CallLimiter::new(memory_limit),
            grants,
            logs_left: LOG_LINES_PER_CALL,
            logs_dropped: 0,
            details: Default::default(),
            stderr,
            deadline: Instant::now() + budget,
            turn: None,
            exchanges: None,
            exchanges_dropped: 0,
            tape: None,
        }
    }

    /// Ends a call whose instance may serve another (`warm.rs`): whether it ended cleanly
    /// (nothing on stderr, which is where a guest's panic goes; the memory cap never refused
    /// it), with what one call may take or leave behind reset for the next.
    pub(crate) fn end_call(&mut self) -> bool {
        if self.limiter.memory_denied || !self.stderr.contents().is_empty() {
            return false;
        }
        self.logs_left = LOG_LINES_PER_CALL;
        self.logs_dropped = 0;
        self.details = Default::default();
        self.exchanges = None;
        self.exchanges_dropped = 0;
        self.tape = None;
        true
    }

    /// Starts another call on a warm instance: a new budget and the tenant's turn.
    pub(crate) fn begin_call(&mut self, budget: Duration, turn: Turn) {
        self.deadline = Instant::now() + budget;
        self.turn = Some(turn);
    }

    /// What is left of this call's budget (zero once it has run out).
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Runs host work (a statement, a request) with the tenant's turn given back, since guest
    /// code isn't running meanwhile, and takes the turn again before returning. When the turn
    /// does not come back within the call's deadline, the call stops as a deadline stop
    /// (`Trap::Interrupt`, which `classify` reports as such).
    pub(crate) async fn off_turn<T>(
        &mut self,
        work: impl Future<Output = T>,
    ) -> wasmtime::Result<T> {
        if let Some(turn) = self.turn.as_mut() {
            turn.pause();
        }
        let out = work.await;
        let left = self.remaining();
        let resumed = match self.turn.as_mut() {
            Some(turn) => turn.resume(left).await,
            None => true,
        };
        if resumed {
            Ok(out)
        } else {
            Err(wasmtime::Trap::Interrupt.into())
        }
    }

    /// Keeps an exchange for the run's journal, when it asked for them (past
    /// [`MAX_EXCHANGES`], counts it only).
    pub(crate) fn keep_exchange(&mut self, exchange: Exchange) {
        let Some(kept) = self.exchanges.as_mut() else {
            return;
        };
        if kept.len() < MAX_EXCHANGES {
            kept.push(exchange);
        } else {
            self.exchanges_dropped += 1;
        }
    }

    /// The last line or so the plugin wrote to stderr (a guest panic's message).
    pub(crate) fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        text.trim()
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `StoreLimits` plus a record of whether the memory cap was hit, so a trap can be reported as
/// "memory limit" instead of a bare `unreachable`.
pub(crate) struct CallLimiter {
    inner: StoreLimits,
    pub memory_limit: usize,
    pub memory_denied: bool,
}

impl CallLimiter {
    fn new(memory_limit: usize) -> Self {
        Self {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_limit)
                .table_elements(200_000)
                .instances(64)
                .tables(64)
                .memories(8)
                .trap_on_grow_failure(true)
                .build(),
            memory_limit,
            memory_denied: false,
        }
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.memory_denied = true;
        }
        allowed
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
