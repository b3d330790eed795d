//! Flows: the business processes Ferry runs for a tenant, as durable jobs. A flow speaks only
//! the contract's roles (erp, quoting, transform) and Ferry's own vocabulary, never a vendor's
//! field names; connectors and mappings do that.

/// Calls one export of the tenant's plugin for `role` in a fresh instance and yields the
/// plugin's own `Result`. A missing plugin is a hold (install one, then release); a trap or a
/// deadline is a `CallError`.
macro_rules! call {
    ($env:expr, $role:ident, $instantiate:ident, |$b:ident, $s:ident| $body:expr) => {{
        let plugin = $env
            .plugin($crate::runtime::Role::$role)
            .map_err(|e| $crate::flows::StepError::Hold(e.to_string()))?;
        let mut call = $env
            .runtime()
            .$instantiate(&plugin, $env.grants($crate::runtime::Role::$role))
            .await?;
        let ($b, $s) = call.parts();
        let result = $body.await;
        call.finish(result)?
    }};
}

pub mod poller;
pub mod quote_to_order;
pub mod retry;
pub mod status;
pub mod worker;

use std::time::Duration;

use crate::runtime::CallError;
use crate::runtime::bindings::types::{Error as PluginError, FieldError};
use crate::store::{Outcome, StoreError};

pub use retry::RetryPolicy;

/// Why a step did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{0}")]
    Plugin(PluginErrorText),
    #[error("{0}")]
    Call(#[from] CallError),
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A plugin's classified error, kept whole (for the retry decision) with a readable text.
#[derive(Debug)]
pub struct PluginErrorText(pub PluginError);

impl std::fmt::Display for PluginErrorText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe(&self.0))
    }
}

impl From<PluginError> for StepError {
    fn from(e: PluginError) -> Self {
        StepError::Plugin(PluginErrorText(e))
    }
}

/// `lines[3].ORQT: 'abc' is not a decimal` — how field errors read everywhere.
pub fn field_errors(errs: &[FieldError]) -> String {
    errs.iter()
        .map(|e| match e.line {
            Some(l) => format!("lines[{l}].{}: {}", e.field, e.message),
            None => format!("{}: {}", e.field, e.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn describe(e: &PluginError) -> String {
    match e {
        PluginError::NotFound(m) => format!("not found: {m}"),
        PluginError::Invalid(errs) => format!("invalid: {}", field_errors(errs)),
        PluginError::Conflict(m) => format!("conflict: {m}"),
        PluginError::RateLimited(r) => format!("rate limited: {}", r.message),
        PluginError::Transient(m) => format!("transient: {m}"),
        PluginError::Unauthorized(m) => format!("unauthorized: {m}"),
        PluginError::Fatal(m) => format!("fatal: {m}"),
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
        StepError::Plugin(PluginErrorText(e)) => match e {
            PluginError::RateLimited(r) => retry(r.retry_after_ms.map(Duration::from_millis)),
            PluginError::Transient(_) => retry(None),
            // Data a person can fix: hold, release after the fix.
            PluginError::Invalid(_) | PluginError::Conflict(_) => Outcome::Hold {
                reason: error.to_string(),
            },
            PluginError::NotFound(_) | PluginError::Unauthorized(_) | PluginError::Fatal(_) => {
                Outcome::Dead {
                    error: error.to_string(),
                }
            }
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
    }
}

/// The job store's clock (see `store::clock_ms`: wall time that a clock step doesn't move).
pub fn now_ms() -> i64 {
    crate::store::clock_ms()
}
