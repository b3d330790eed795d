//! Flows: the business processes Ferry runs for a tenant, as durable jobs. A flow speaks only
//! the domain's role traits (`ferry_domain::{Erp, Quoting, Transform}`, through [`Tenant`]'s
//! `roles`) and Ferry's own vocabulary, never a vendor's field names (connectors and mappings
//! do that), never wasmtime or the contract's generated bindings (the runtime's adapters do).
//!
//! May depend on: the domain (`ferry-domain`), the store's traits (`ferry-store`), tokio,
//! serde, tracing. Never wasmtime, axum, or the `ferry` crate (`cargo xtask tidy` checks).

pub mod calls;
pub mod catalog;
pub mod customers;
pub mod intake;
mod paging;
pub mod policy;
pub mod poller;
pub mod prices;
pub mod quote_to_order;
pub mod retry;
pub mod slots;
pub mod status;
pub mod stock;
mod values;
pub mod worker;

#[cfg(test)]
mod catalog_fakes;
#[cfg(test)]
mod fakes;
#[cfg(test)]
mod prices_fakes;
#[cfg(test)]
mod quote_to_order_tests;

use std::time::Duration;

use ferry_domain::{CallFailure, CallFailureKind, ErrorClass, RoleError, RoleFailure, Roles};

use ferry_store::{Outcome, StoreError};

pub use ferry_domain::error::field_errors;
pub use policy::{OverCreditLimit, QuoteToOrderPolicy};
pub use retry::RetryPolicy;

/// A tenant as a flow sees it: its name, policies and roles, nothing of how the roles are
/// served (plugins, bindings) or configured.
#[derive(Clone)]
pub struct Tenant {
    pub name: String,
    pub policy: QuoteToOrderPolicy,
    pub retry: RetryPolicy,
    pub roles: Roles,
    /// The settings a transform's context carries (default warehouse, order type, ...).
    pub transform_settings: Vec<(String, String)>,
}

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The role answered with a classified error.
    #[error("{0}")]
    Plugin(RoleError),
    /// The role gave no answer (trapped, ran past its deadline, the tenant was busy).
    #[error("{0}")]
    Call(CallFailure),
    /// Needs a person: held with this reason, released after the data is fixed.
    #[error("{0}")]
    Hold(String),
    /// Can never succeed as is.
    #[error("{0}")]
    Fatal(String),
    /// Something the job needs is busy now (another job writes its order reference): wait
    /// a moment, using no attempt.
    #[error("{0}")]
    Busy(String),
    /// The ERP holds the work for a person there (M3's credit department releasing a
    /// credit stop): look again in `recheck_ms`, using no attempt.
    #[error("{reason}")]
    AwaitingErp { reason: String, recheck_ms: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RoleFailure> for StepError {
    fn from(e: RoleFailure) -> Self {
        match e {
            RoleFailure::Error(e) => StepError::Plugin(e),
            // No plugin serves the role: a hold (install one, then release), as a person has
            // to act.
            RoleFailure::Call(f) if f.kind == CallFailureKind::NoPlugin => {
                StepError::Hold(f.message)
            }
            RoleFailure::Call(f) => StepError::Call(f),
        }
    }
}

impl From<RoleError> for StepError {
    fn from(e: RoleError) -> Self {
        StepError::Plugin(e)
    }
}

/// How long a job waits for a busy resource before looking again.
const BUSY_WAIT_MS: i64 = 250;

/// Decides a failed attempt's outcome from the error's class.
pub fn outcome_for(error: &StepError, attempt: u32, policy: &RetryPolicy, now_ms: i64) -> Outcome {
    let retry = |retry_after: Option<Duration>| {
        if policy.exhausted(attempt) {
            Outcome::Dead {
                error: format!("gave up after {attempt} attempts: {error}"),
            }
        } else {
            let delay = policy.delay(attempt, retry_after);
            Outcome::Retry {
                at_ms: now_ms + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2),
                error: error.to_string(),
            }
        }
    };
    match error {
        StepError::Plugin(e) => match e.class {
            ErrorClass::RateLimited => retry(e.retry_after_ms.map(Duration::from_millis)),
            ErrorClass::Transient => retry(None),
            // Data a person can fix: hold, release after the fix.
            ErrorClass::Invalid | ErrorClass::Conflict => Outcome::Hold {
                reason: error.to_string(),
            },
            // Retrying cannot help: the plugin lacks the call, refuses our credentials, or
            // the thing is gone.
            ErrorClass::NotFound
            | ErrorClass::Unauthorized
            | ErrorClass::Fatal
            | ErrorClass::Unsupported => Outcome::Dead {
                error: error.to_string(),
            },
        },
        // A deadline or a trap may be load or a bad input; retry, then dead-letter.
        StepError::Call(_) => retry(None),
        StepError::Store(_) => retry(None),
        StepError::Hold(reason) => Outcome::Hold {
            reason: reason.clone(),
        },
        StepError::Fatal(m) => Outcome::Dead { error: m.clone() },
        StepError::Busy(reason) => Outcome::Wait {
            at_ms: now_ms + BUSY_WAIT_MS,
            reason: reason.clone(),
        },
        StepError::AwaitingErp { reason, recheck_ms } => Outcome::Wait {
            at_ms: now_ms + recheck_ms,
            reason: reason.clone(),
        },
    }
}

/// The job store's clock (see `ferry_store::clock_ms`: wall time that a clock step doesn't move).
pub fn now_ms() -> i64 {
    ferry_store::clock_ms()
}
