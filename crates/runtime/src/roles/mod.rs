//! Adapters: the domain's role traits (`ferry_domain::{Erp, Quoting, Transform}`) over a
//! tenant's active plugins. Flows and the API hold a `Roles` and never see wasmtime or the
//! generated bindings.
//!
//! Each call
//! - resolves the plugin serving the role *at call time* (a plugin activated while the host
//!   runs serves the next call; a prepared transform snapshot too), through a [`PluginSource`];
//! - makes a fresh bounded instance with the plugin's grants and runs the call on the runtime's
//!   guest threads (`Runtime::run_guest`), so guest code never runs on the server's I/O threads;
//! - answers a missing plugin as `CallFailureKind::NoPlugin`, a stopped call (deadline, trap,
//!   busy tenant) as a `CallFailure`, and the plugin's own WIT error as a classified `RoleError`.
//!
//! The adapters here serve the role packages at 1.1 and, unchanged, plugins built against 1.0:
//! 1.1 only changed the worlds' imports (`ferry:host@1.1`: `log.enabled`, `diagnostics`), and
//! wasmtime resolves a 1.0 export to the 1.1 bindings by semver. Conversions live in `convert`
//! only. A plugin's error carries the vendor details it added during the call
//! (`ferry:host/diagnostics`, collected in the call's store; see `answer`).
//!
//! # Adding a function to a role (a minor version)
//!
//! A component built before the function existed lacks that export, and the typed `*Pre` of
//! bindings that include it refuses the component at load ("does not match the host's
//! bindings"). So each role version that differs in *exports* gets its own bindings, and the
//! adapter dispatches per plugin. `ferry:erp` and `ferry:quoting` 1.1 → 1.2 did this
//! (`list-order-invoices`, `set-invoice`: `erp_world_1_1`, `RolePre::ErpV1_1`, `versions.rs`,
//! `plugins/testing/contract-1-1-*`); the steps, for `ferry:erp` with a new function:
//!
//! 1. Freeze what shipped: copy `wit/erp/` to `wit/frozen/erp@1.1.0/` (with `deps/` as
//!    `wit/frozen/erp@1.0.0/` has it) and write its hash in `FROZEN` (`cargo xtask tidy`
//!    prints the actual hash when it differs).
//! 2. In `wit/erp/erp.wit`: `package ferry:erp@1.2.0;`, the function marked
//!    `@since(version = 1.2.0)`, its doc comment saying whether it is idempotent. Only
//!    additions: a changed signature is a new major. (`wit/erp/erp.wit` may be edited by
//!    whoever needs the function; keep it additive.)
//! 3. `contract.rs`: `Role::Erp.package()` serves 1.2.0.
//! 4. `bindings.rs`: a second `role_world!(erp_world_1_1, "../../wit/frozen/erp@1.1.0", …)`
//!    with the same `with:` map, so documents, errors and host imports stay one Rust type; the
//!    role's own records (`OrderReceipt`, `Price`…) are distinct types per module and get their
//!    `From` impls in `convert.rs` (a macro over both modules keeps them one copy).
//! 5. `plugin.rs`: a `RolePre::ErpV1_1(erp_world_1_1::ErpConnectorPre<_>)` variant;
//!    `Runtime::load` picks it when the contract report's `version` is below 1.2.0 (the
//!    contract check already refuses newer minors and other majors). `call.rs`: a
//!    `role_call!(erp_v1_1, ErpV1_1, …)`.
//! 6. The domain trait (`ferry_domain::Erp`) gets the method; `roles/erp.rs` calls the 1.2
//!    bindings for a 1.2 plugin, and `roles/erp_1_1.rs` serves the older plugin: every old
//!    function through its bindings, and the new one as
//!    `Err(RoleError::new(ErrorClass::Unsupported, "… built against ferry:erp@1.1.0 has no
//!    get-invoice (since 1.2.0)"))` *without instantiating the plugin*, which is what the
//!    flows' fallback path expects.
//! 7. A fixture under `plugins/testing/` built against `wit/frozen/erp@1.1.0` (as
//!    `contract-1-0` is for transform 1.0, `contract-1-3-erp` for erp 1.3) and a test in
//!    `crates/ferry/tests/contract_versions.rs`: it loads, its old functions answer, the new one
//!    is `Unsupported` and the guest never ran.
//!
//! A version whose exports equal the next one's (transform 1.0 and 1.1 today) needs none of
//! this: semver resolution serves it with the newer bindings.
//!
//! ```ignore
//! let roles = env.roles();
//! let quote = roles.quoting.get_quote("17").await?;
//! ```

pub(crate) mod convert;
/// The native mapping path's one conversion back to the contract (tests compare it with a
/// component's answer).
#[cfg(feature = "raw-contract")]
pub use convert::mapping_result_to_wit;
mod erp;
mod erp_catalog;
mod quoting;
mod quoting_catalog;
mod transform;
mod versions;

use std::sync::Arc;

use ferry_domain::{CallFailure, CallFailureKind, RoleError, RoleResult, Roles};

use crate::bindings::types as wit;

use super::{Grants, Plugin, Role, Runtime};

/// Where adapters find, at each call, the plugin serving a role and what it is granted (the
/// tenant's environment implements it).
pub trait PluginSource: Send + Sync + 'static {
    fn runtime(&self) -> &Arc<Runtime>;
    /// The plugin serving `role` now; `Err` says why there is none (and how to install one).
    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, String>;
    fn grants(&self, role: Role) -> Arc<Grants>;
}

/// The tenant's roles over `source`'s plugins.
pub fn roles(source: Arc<dyn PluginSource>) -> Roles {
    Roles {
        erp: Arc::new(erp::ErpAdapter::new(source.clone())),
        quoting: Arc::new(quoting::QuotingAdapter::new(source.clone())),
        erp_catalog: Arc::new(erp_catalog::ErpCatalogAdapter::new(source.clone())),
        quoting_catalog: Arc::new(quoting_catalog::QuotingCatalogAdapter::new(source.clone())),
        transform: Arc::new(transform::TransformAdapter::new(source, None)),
    }
}

/// [`roles`], with the transform bound per kind: a kind the plugin's `describe` does not name
/// goes to `default_transform` (the host's default mappings).
pub fn roles_with_default_transform(
    source: Arc<dyn PluginSource>,
    default_transform: Arc<dyn ferry_domain::Transform>,
) -> Roles {
    Roles {
        erp: Arc::new(erp::ErpAdapter::new(source.clone())),
        quoting: Arc::new(quoting::QuotingAdapter::new(source.clone())),
        erp_catalog: Arc::new(erp_catalog::ErpCatalogAdapter::new(source.clone())),
        quoting_catalog: Arc::new(quoting_catalog::QuotingCatalogAdapter::new(source.clone())),
        transform: Arc::new(transform::TransformAdapter::new(
            source,
            Some(default_transform),
        )),
    }
}

/// The plugin's answer in domain terms, its error carrying the vendor details the plugin added
/// during the call (dropped when it succeeded).
fn answer<W, T: From<W>>(
    (result, details): (Result<W, wit::Error>, Vec<(String, String)>),
) -> RoleResult<T> {
    result.map(T::from).map_err(|e| {
        let mut error = RoleError::from(e);
        error.details = details;
        error.into()
    })
}

fn no_plugin(message: String) -> CallFailure {
    CallFailure {
        kind: CallFailureKind::NoPlugin,
        message,
    }
}

/// Records a plugin call's duration and, when the host stopped it or could not make it, why
/// (`ferry_role_call_seconds`, `ferry_role_call_stops_total`; described by the server).
pub(crate) fn observe(
    tenant: &str,
    role: Role,
    took: std::time::Duration,
    stopped: Option<&crate::CallError>,
) {
    let role = role.as_str();
    metrics::histogram!("ferry_role_call_seconds", "tenant" => tenant.to_string(), "role" => role)
        .record(took.as_secs_f64());
    let reason = match stopped {
        None | Some(crate::CallError::WrongRole { .. }) => return,
        Some(crate::CallError::Deadline { .. }) => "deadline",
        Some(crate::CallError::MemoryLimit { .. }) => "memory",
        Some(crate::CallError::Trap { .. }) => "trap",
        Some(crate::CallError::Instantiate { .. }) => "instantiate",
        Some(crate::CallError::Busy { .. }) => "busy",
    };
    metrics::counter!("ferry_role_call_stops_total",
        "tenant" => tenant.to_string(), "role" => role, "reason" => reason)
    .increment(1);
}

/// Adds a finished call to the run's journal.
pub(crate) fn journal(
    role: Role,
    digest: String,
    contract: Option<String>,
    took: std::time::Duration,
    stopped: Option<&crate::CallError>,
    (exchanges, exchanges_dropped): (Vec<ferry_domain::journal::Exchange>, u32),
) {
    ferry_domain::journal::record(ferry_domain::journal::PluginCall {
        role: role.as_str().to_string(),
        digest,
        contract,
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        stopped: stopped.map(|e| e.to_string()),
        exchanges,
        exchanges_dropped,
    });
}

/// What a role's plugin calls run with, looked up once: for one call by [`guest_call!`], for
/// every call of a batch by the adapter that makes it (`transform.rs`), so each call of a batch
/// is made, observed and journaled as a single call is.
#[derive(Clone)]
pub(crate) struct GuestCalls {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) plugin: Arc<Plugin>,
    pub(crate) grants: Arc<Grants>,
    role: Role,
    /// A run's journal (the run detail) gets each call and its exchanges.
    pub(crate) recording: bool,
    /// A shadow run's tape (records the live call, answers the candidate's).
    pub(crate) tape: Option<crate::tape::TapeMode>,
}

impl GuestCalls {
    /// The plugin serving `role` now, its grants, and the run's journal and tape, if open here.
    pub(crate) fn resolve(source: &Arc<dyn PluginSource>, role: Role) -> Result<Self, CallFailure> {
        let plugin = source.plugin(role).map_err(no_plugin)?;
        Ok(Self {
            runtime: source.runtime().clone(),
            plugin,
            grants: source.grants(role),
            role,
            recording: ferry_domain::journal::recording(),
            tape: crate::tape::current(),
        })
    }

    /// Observes a finished call and, when the run's journal records, adds it there.
    pub(crate) fn settle<T>(
        &self,
        took: std::time::Duration,
        outcome: &Result<T, crate::CallError>,
        exchanges: (Vec<ferry_domain::journal::Exchange>, u32),
    ) {
        observe(&self.grants.tenant, self.role, took, outcome.as_ref().err());
        if self.recording {
            journal(
                self.role,
                self.plugin.digest.clone(),
                self.plugin.report.version.clone(),
                took,
                outcome.as_ref().err(),
                exchanges,
            );
        }
    }
}

/// Runs one export of the role's plugin on the guest threads and yields the plugin's own
/// result (still in contract types) with the vendor details it added during the call:
/// `guest_call!(source, Erp, erp, |b, s| b.ferry_erp_erp().call_get_order_status(s, &number))`.
/// The body may only use values it owns (moved in).
///
/// `guest_call!(@call &calls, transform, |b, s| …)` is one such call inside a task already on
/// the guest threads (`calls`: a [`GuestCalls`]): its outcome, with the details, and the
/// exchanges it made, for [`GuestCalls::settle`]. A batch makes its calls with it.
macro_rules! guest_call {
    (@call $calls:expr, $instantiate:ident, |$b:ident, $s:ident| $body:expr) => {{
        let calls: &$crate::roles::GuestCalls = $calls;
        match calls
            .runtime
            .$instantiate(&calls.plugin, calls.grants.clone())
            .await
        {
            Ok(mut call) => {
                if calls.recording {
                    call.record_exchanges();
                }
                call.use_tape(calls.tape.clone());
                let ($b, $s) = call.parts();
                let result = $body.await;
                let details = call.take_details();
                let exchanges = call.take_exchanges();
                (call.finish(result).map(|r| (r, details)), exchanges)
            }
            Err(e) => (Err(e), Default::default()),
        }
    }};
    ($source:expr, $role:ident, $instantiate:ident, |$b:ident, $s:ident| $body:expr) => {{
        let source: &std::sync::Arc<dyn $crate::roles::PluginSource> = $source;
        let calls = $crate::roles::GuestCalls::resolve(source, $crate::Role::$role)?;
        let task = calls.clone();
        let started = std::time::Instant::now();
        let outcome = calls
            .runtime
            .run_guest(async move {
                Ok($crate::roles::guest_call!(@call &task, $instantiate, |$b, $s| $body))
            })
            .await;
        let (outcome, exchanges) = match outcome {
            Ok((outcome, exchanges)) => (outcome, exchanges),
            Err(e) => (Err(e), Default::default()),
        };
        calls.settle(started.elapsed(), &outcome, exchanges);
        outcome.map_err(ferry_domain::CallFailure::from)?
    }};
}
pub(crate) use guest_call;
