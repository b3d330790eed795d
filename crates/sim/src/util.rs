//! Small helpers shared by both simulators: secrets, constant-time comparison, the READY line.

use base64::Engine;
use subtle::ConstantTimeEq;

/// A random secret of `bytes` bytes, hex encoded.
pub fn random_token(bytes: usize) -> String {
    let mut out = Vec::with_capacity(bytes);
    while out.len() < bytes {
        out.extend_from_slice(&rand::random::<[u8; 32]>());
    }
    out.truncate(bytes);
    hex::encode(out)
}

/// Compare secrets without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// Check `Authorization: Bearer <token>` against the control token.
pub fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim(), token))
}

/// The one machine-readable line a CLI simulator prints when it is ready, then a flush so a
/// parent process reading our stdout through a pipe sees it at once.
pub fn print_ready(json: &serde_json::Value) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "READY {json}");
    let _ = out.flush();
}

/// Wait for Ctrl-C (or SIGTERM on Unix).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The answer to a control request without the right bearer token, or `None` to let it in.
/// Both simulators' control APIs use it.
pub fn control_token_refusal(
    headers: &axum::http::HeaderMap,
    token: &str,
) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    if bearer_matches(headers, token) {
        return None;
    }
    Some(
        (
            axum::http::StatusCode::UNAUTHORIZED,
            [(
                axum::http::header::WWW_AUTHENTICATE,
                "Bearer realm=\"ferry-sim-control\"",
            )],
            "control token required\n",
        )
            .into_response(),
    )
}
