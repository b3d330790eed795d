//! The one way the API answers an error: every handler returns `Result<_, ApiError>` and this
//! maps each kind to its HTTP answer. The caller gets only the status's generic text and a
//! `correlation_id`; the detail (which may hold plugin output, panics, paths) goes to the log
//! under the same id. A 400 keeps a short reason about the caller's own input.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_domain::{CallFailureKind, ErrorClass, RoleFailure};

/// How long a 503's Retry-After tells the caller to wait.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An unknown tenant, or a missing or wrong credential: the same 401 for all of them, so
    /// nothing tells a stranger which tenants exist.
    #[error("{0}")]
    Unauthorized(String),
    /// What was wrong with the caller's own input (cut to 200 characters in the answer).
    #[error("{0}")]
    Invalid(String),
    /// No such thing, or one the caller's token may not see: the same 404 for both (admin API).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the thing's state (a dead letter already retried): 409, with
    /// a short reason like a 400's.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// The body did not arrive in time.
    #[error("{0}")]
    Timeout(String),
    /// The tenant is over its intake rate: 429, retry after this many seconds.
    #[error("too many requests for tenant {tenant}")]
    TooManyRequests {
        tenant: String,
        retry_after_secs: u64,
    },
    /// Busy (the tenant's calls are queued too deep), no plugin for the role, or the store
    /// can't write now: 503 with Retry-After, the sender retries.
    #[error("{0}")]
    Unavailable(String),
    /// A trap, a deadline, a lost task, a bug: 500, detail to the log only.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A role call's failure during intake, `what` naming the call for the log: the role's
    /// `invalid` is the sender's fault (400), `unauthorized` a refused credential (401);
    /// what may pass (rate limits, transient errors, a busy tenant, no plugin yet) is 503;
    /// a trap, a deadline or the plugin's own fatal answer is 500.
    pub fn from_role(tenant: &str, what: &str, failure: RoleFailure) -> Self {
        let detail = format!("tenant {tenant}: {what}: {failure}");
        match failure {
            RoleFailure::Error(e) => match e.class {
                ErrorClass::Invalid => ApiError::Invalid(e.to_string()),
                ErrorClass::Unauthorized => ApiError::Unauthorized(detail),
                ErrorClass::Transient | ErrorClass::RateLimited | ErrorClass::Conflict => {
                    ApiError::Unavailable(detail)
                }
                ErrorClass::NotFound | ErrorClass::Fatal | ErrorClass::Unsupported => {
                    ApiError::Internal(detail)
                }
            },
            RoleFailure::Call(c) => match c.kind {
                CallFailureKind::Busy | CallFailureKind::NoPlugin => ApiError::Unavailable(detail),
                CallFailureKind::Trap | CallFailureKind::Deadline => ApiError::Internal(detail),
            },
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use rand::RngExt;
        let status = self.status();
        let correlation_id = hex::encode(rand::rng().random::<[u8; 16]>());
        // Debug formatting escapes newlines: a plugin's text cannot forge log lines.
        let detail = self.to_string();
        if status.is_server_error() {
            tracing::error!(%correlation_id, status = status.as_u16(), detail = ?detail, "request failed");
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            // A flood would be a flood of log lines too; the metric counts them.
            tracing::debug!(%correlation_id, detail = ?detail, "rate limited");
        } else {
            tracing::warn!(%correlation_id, status = status.as_u16(), detail = ?detail, "request refused");
        }
        let error = match &self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Invalid(_) => "invalid request",
            ApiError::NotFound(_) => "not found",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "request body too large",
            ApiError::Timeout(_) => "the request body did not arrive in time",
            ApiError::TooManyRequests { .. } => "too many requests for this tenant; retry later",
            ApiError::Unavailable(_) => "temporarily unavailable; retry later",
            ApiError::Internal(_) => "internal error",
        };
        let mut body = serde_json::json!({ "error": error, "correlation_id": correlation_id });
        if let ApiError::Invalid(reason) | ApiError::Conflict(reason) = &self {
            body["reason"] = serde_json::Value::String(reason.chars().take(200).collect());
        }
        let retry_after = match &self {
            ApiError::Unavailable(_) => Some(RETRY_AFTER_SECS),
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some((*retry_after_secs).max(1)),
            _ => None,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::{CallFailure, RoleError};

    async fn answer(e: ApiError) -> (u16, serde_json::Value, Option<String>) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"), retry)
    }

    #[tokio::test]
    async fn errors_answer_their_status_and_never_the_detail() {
        let secret_detail = "panicked at /home/build/src/lib.rs:12\nFORGED LOG LINE";
        let (status, body, retry) = answer(ApiError::Internal(secret_detail.into())).await;
        assert_eq!((status, retry), (500, None));
        assert_eq!(body["error"], "internal error");
        assert_eq!(body["correlation_id"].as_str().map(str::len), Some(32));
        assert!(!body.to_string().contains("panicked"), "{body}");

        let (status, body, retry) = answer(ApiError::Unavailable("db locked".into())).await;
        assert_eq!((status, retry.as_deref()), (503, Some("1")));
        assert!(!body.to_string().contains("locked"), "{body}");

        let (status, body, _) = answer(ApiError::Invalid("x".repeat(500))).await;
        assert_eq!(status, 400);
        assert_eq!(body["reason"].as_str().map(str::len), Some(200));

        let (status, body, _) = answer(ApiError::Unauthorized("tenant zz".into())).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthorized"))
        );
        assert!(!body.to_string().contains("zz"), "{body}");
    }

    #[test]
    fn role_failures_map_by_class() {
        let role = |class| RoleFailure::Error(RoleError::new(class, "m"));
        let call = |kind| {
            RoleFailure::Call(CallFailure {
                kind,
                message: "m".into(),
            })
        };
        let status = |f| ApiError::from_role("acme", "parse", f).status().as_u16();
        assert_eq!(status(role(ErrorClass::Invalid)), 400);
        assert_eq!(status(role(ErrorClass::Unauthorized)), 401);
        assert_eq!(status(role(ErrorClass::Transient)), 503);
        assert_eq!(status(role(ErrorClass::Fatal)), 500);
        assert_eq!(status(call(CallFailureKind::Busy)), 503);
        assert_eq!(status(call(CallFailureKind::NoPlugin)), 503);
        assert_eq!(status(call(CallFailureKind::Deadline)), 500);
    }
}
