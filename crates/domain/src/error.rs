//! Errors a role can answer with, classified: flows decide retry, hold or dead letter from the
//! class alone, never from a vendor's message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What is wrong with one field; `line` is the 0-based line index, none for the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub line: Option<u32>,
    pub message: String,
}

impl fmt::Display for FieldError {
    /// `lines[3].ORQT: 'abc' is not a decimal`: how field errors read everywhere.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "lines[{l}].{}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// Field errors joined with "; ".
pub fn field_errors(errs: &[FieldError]) -> String {
    errs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// The thing asked for does not exist.
    NotFound,
    /// The input was rejected (see the field errors). Not retried.
    Invalid,
    /// The write collides with existing state (duplicate key, stale version).
    Conflict,
    /// Slow down; retried after `retry_after_ms` when given.
    RateLimited,
    /// Timeouts, 5xx, resets: retried with backoff.
    Transient,
    /// Credentials were refused even after a refresh.
    Unauthorized,
    /// A bug or misconfiguration: not retried.
    Fatal,
    /// The plugin does not implement this call (or this contract version lacks it).
    Unsupported,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::NotFound => "not found",
            ErrorClass::Invalid => "invalid",
            ErrorClass::Conflict => "conflict",
            ErrorClass::RateLimited => "rate limited",
            ErrorClass::Transient => "transient",
            ErrorClass::Unauthorized => "unauthorized",
            ErrorClass::Fatal => "fatal",
            ErrorClass::Unsupported => "unsupported",
        }
    }
}

/// A role's classified answer that something went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleError {
    pub class: ErrorClass,
    pub message: String,
    /// One entry per offending field (class `invalid`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// How long the remote system asked us to wait, when it said so (class `rate-limited`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The vendor's own codes and texts (M3's `code`, `field`), for an operator to read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<(String, String)>,
}

impl RoleError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            fields: Vec::new(),
            retry_after_ms: None,
            details: Vec::new(),
        }
    }

    pub fn invalid(fields: Vec<FieldError>) -> Self {
        Self {
            fields,
            ..Self::new(ErrorClass::Invalid, "")
        }
    }

    pub fn rate_limited(message: impl Into<String>, retry_after_ms: Option<u64>) -> Self {
        Self {
            retry_after_ms,
            ..Self::new(ErrorClass::RateLimited, message)
        }
    }
}

impl fmt::Display for RoleError {
    /// `not found: no such order` / `invalid: lines[0].ORQT: ...`, then the vendor details
    /// (`[m3.message-id=XRE0103; m3.field=CUNO]`): this text is what a held or dead job keeps
    /// and what `ferry holds`/`dlq` show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.class.as_str())?;
        if self.class == ErrorClass::Invalid && !self.fields.is_empty() {
            f.write_str(&field_errors(&self.fields))?;
        } else {
            f.write_str(&self.message)?;
        }
        if !self.details.is_empty() {
            let details: Vec<String> = self
                .details
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, " [{}]", details.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for RoleError {}

/// Why a role could not be asked at all, or gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallFailureKind {
    /// No plugin serves this role for the tenant (install and activate one).
    NoPlugin,
    /// The plugin trapped, ran out of memory or fuel, or broke the contract.
    Trap,
    /// The call ran past its deadline.
    Deadline,
    /// The tenant's calls are queued too deep now; try again shortly.
    Busy,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CallFailure {
    pub kind: CallFailureKind,
    pub message: String,
}

/// How a call on a role fails: the role answered with an error, or the call itself failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleFailure {
    #[error("{0}")]
    Error(RoleError),
    #[error("{0}")]
    Call(CallFailure),
}

impl From<RoleError> for RoleFailure {
    fn from(e: RoleError) -> Self {
        RoleFailure::Error(e)
    }
}

impl From<CallFailure> for RoleFailure {
    fn from(e: CallFailure) -> Self {
        RoleFailure::Call(e)
    }
}
