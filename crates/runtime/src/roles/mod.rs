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
//! 1.1 only moved the worlds to `ferry:host@1.1`, and wasmtime resolves a 1.0 export to the 1.1
//! bindings by semver. Conversions live in [`convert`] only. When a role interface itself gains
//! a `@since` function, that version gets its own bindings and adapter file beside these,
//! [`roles`] picks per plugin by the version its contract report names, and the older adapter
//! answers the new function with `ErrorClass::Unsupported`.
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
mod quoting;
mod transform;

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
        transform: Arc::new(transform::TransformAdapter::new(source)),
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

/// Runs one export of the role's plugin on the guest threads and yields the plugin's own
/// result (still in contract types) with the vendor details it added during the call:
/// `guest_call!(source, Erp, erp, |b, s| b.ferry_erp_erp().call_get_order_status(s, &number))`.
/// The body may only use values it owns (moved in).
macro_rules! guest_call {
    ($source:expr, $role:ident, $instantiate:ident, |$b:ident, $s:ident| $body:expr) => {{
        let source: &std::sync::Arc<dyn $crate::roles::PluginSource> = $source;
        let plugin = source
            .plugin($crate::Role::$role)
            .map_err($crate::roles::no_plugin)?;
        let grants = source.grants($crate::Role::$role);
        let runtime = source.runtime().clone();
        let guest = runtime.clone();
        runtime
            .run_guest(async move {
                let mut call = guest.$instantiate(&plugin, grants).await?;
                let ($b, $s) = call.parts();
                let result = $body.await;
                let details = call.take_details();
                call.finish(result).map(|r| (r, details))
            })
            .await
            .map_err(ferry_domain::CallFailure::from)?
    }};
}
pub(crate) use guest_call;
