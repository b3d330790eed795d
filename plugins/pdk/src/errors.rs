//! Constructors for the classified errors the host acts on.

use crate::types::{Error, FieldError, RateLimit};

/// One field's problem, for `Error::Invalid`.
pub fn field_error(field: &str, line: Option<u32>, message: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        line,
        message: message.to_string(),
    }
}

impl Error {
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }

    /// A single-field `invalid` error.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid(vec![field_error(field, None, &message.into())])
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    pub fn rate_limited(retry_after_ms: Option<u64>, message: impl Into<String>) -> Self {
        Error::RateLimited(RateLimit {
            retry_after_ms,
            message: message.into(),
        })
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Error::Transient(message.into())
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Error::Unauthorized(message.into())
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Error::Fatal(message.into())
    }
}
