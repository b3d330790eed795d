//! The ION API authorization server as a `.ionapi` file describes it (`pu` + `ot`): OAuth 2.0
//! password grant with the service-account keys (saak/sask) and the client id/secret, the
//! refresh grant, client_credentials, revocation, and bearer checks with `www-authenticate`.
//! Tokens are stored hashed in the state database so a simulator restart keeps them valid.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::server::SimState;
use crate::util::{constant_time_eq, random_token};

/// The contents of a `.ionapi` file (reference/m3-api.md §2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IonApi {
    pub ti: String,
    pub cn: String,
    pub dt: String,
    pub ci: String,
    pub cs: String,
    pub iu: String,
    pub pu: String,
    pub oa: String,
    pub ot: String,
    pub or: String,
    pub ev: String,
    pub v: String,
    pub saak: String,
    pub sask: String,
}

impl IonApi {
    pub fn token_url(&self) -> String {
        format!("{}{}", self.pu, self.ot)
    }
}

/// The four secrets, stable across restarts of one state directory.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub saak: String,
    pub sask: String,
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Client authentication: form fields, or HTTP Basic as RFC 6749 §2.3.1 allows.
fn client_from(headers: &HeaderMap, form: &HashMap<String, String>) -> (String, String) {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Some(decoded) = crate::util::base64_decode(basic.trim())
        && let Ok(s) = String::from_utf8(decoded)
        && let Some((id, secret)) = s.split_once(':')
    {
        return (id.to_string(), secret.to_string());
    }
    (
        form.get("client_id").cloned().unwrap_or_default(),
        form.get("client_secret").cloned().unwrap_or_default(),
    )
}

pub async fn token(
    State(state): State<SimState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let creds = &state.credentials;
    let (id, secret) = client_from(&headers, &form);
    if !(constant_time_eq(&id, &creds.client_id) && constant_time_eq(&secret, &creds.client_secret))
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client or client credentials",
        );
    }
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match field("grant_type") {
        "password" => {
            if !(constant_time_eq(field("username"), &creds.saak)
                && constant_time_eq(field("password"), &creds.sask))
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid service account credentials",
                );
            }
            issue(&state, true)
        }
        "client_credentials" => issue(&state, false),
        "refresh_token" => {
            let h = hash(field("refresh_token"));
            let ok = state
                .with_db(|db| {
                    db.query_row(
                        "SELECT expires_at_ms FROM oauth_tokens WHERE token_hash = ?1 AND kind = 'refresh' AND revoked = 0",
                        [&h],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()
                })
                .ok()
                .flatten()
                .is_some_and(|exp| exp > now_ms());
            if !ok {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Refresh token is invalid or expired",
                );
            }
            // The refresh token is not rotated (PingFederate can roll it; Infor's setting is UNVERIFIED).
            issue_access(&state, Some(field("refresh_token").to_string()))
        }
        "" => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is missing",
        ),
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("{other} is not supported"),
        ),
    }
}

fn issue(state: &SimState, with_refresh: bool) -> Response {
    let refresh = if with_refresh {
        let r = random_token(32);
        let exp = now_ms() + state.refresh_lifetime.as_millis() as i64;
        if let Err(e) = state.with_db(|db| {
            db.execute(
                "INSERT INTO oauth_tokens (token_hash, kind, expires_at_ms) VALUES (?1, 'refresh', ?2)",
                params![hash(&r), exp],
            )
        }) {
            tracing::error!(error = %e, "storing refresh token");
            return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "token store failed");
        }
        Some(r)
    } else {
        None
    };
    issue_access(state, refresh)
}

fn issue_access(state: &SimState, refresh: Option<String>) -> Response {
    let access = random_token(32);
    let lifetime = state.token_lifetime.as_secs().max(1);
    let exp = now_ms() + state.token_lifetime.as_millis() as i64;
    if let Err(e) = state.with_db(|db| {
        db.execute(
            "INSERT INTO oauth_tokens (token_hash, kind, expires_at_ms) VALUES (?1, 'access', ?2)",
            params![hash(&access), exp],
        )
    }) {
        tracing::error!(error = %e, "storing access token");
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "token store failed",
        );
    }
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime});
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// RFC 7009-style revocation (`token=`); the real parameters are UNVERIFIED.
pub async fn revoke(
    State(state): State<SimState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(t) = form.get("token") {
        let _ = state.with_db(|db| {
            db.execute(
                "UPDATE oauth_tokens SET revoked = 1 WHERE token_hash = ?1",
                [hash(t)],
            )
        });
    }
    StatusCode::OK.into_response()
}

/// Check the bearer token of an MI call; `Err` is the 401 to send.
pub fn check_bearer(state: &SimState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let challenge = |error: Option<&str>, desc: &str| {
        let value = match error {
            Some(e) => {
                format!("Bearer realm=\"ionapi\", error=\"{e}\", error_description=\"{desc}\"")
            }
            None => "Bearer realm=\"ionapi\"".to_string(),
        };
        let mut r = (
            StatusCode::UNAUTHORIZED,
            axum::Json(
                json!({"error": error.unwrap_or("unauthorized"), "error_description": desc}),
            ),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        Box::new(r)
    };
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    else {
        return Err(challenge(None, "Bearer token required"));
    };
    let h = hash(token.trim());
    let row = state
        .with_db(|db| {
            db.query_row(
                "SELECT expires_at_ms, revoked FROM oauth_tokens WHERE token_hash = ?1 AND kind = 'access'",
                [&h],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
        })
        .map_err(|_| challenge(Some("invalid_token"), "token store unavailable"))?;
    match row {
        None => Err(challenge(
            Some("invalid_token"),
            "The access token is invalid",
        )),
        Some((_, revoked)) if revoked != 0 => Err(challenge(
            Some("invalid_token"),
            "The access token was revoked",
        )),
        Some((exp, _)) if exp <= now_ms() => {
            Err(challenge(Some("invalid_token"), "The access token expired"))
        }
        Some(_) => Ok(()),
    }
}

/// Expire every access token now (control API), so tests can exercise refresh without waiting.
pub fn expire_all(state: &SimState) -> anyhow::Result<usize> {
    let now = now_ms();
    state.with_db(|db| {
        db.execute("UPDATE oauth_tokens SET expires_at_ms = ?1 WHERE kind = 'access' AND expires_at_ms > ?1", [now])
    })
}
