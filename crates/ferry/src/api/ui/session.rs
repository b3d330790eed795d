//! Signing in to the console: an admin-API token, posted once, becomes a session. The cookie
//! carries only a random session id (HttpOnly, SameSite=Strict, Path=/ui, bounded lifetime);
//! the session, kept in this node's memory, holds the token's hash (never the secret) and the
//! session's CSRF token. Every request looks the token up again, so a revoked token ends its
//! sessions at once. Every state-changing form carries the CSRF token (`csrf`), compared in
//! constant time; SameSite=Strict already keeps the cookie off cross-site posts, the token
//! covers browsers that ignore it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http::StatusCode};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{UiError, UiState, pages};
use crate::api::admin::{Caller, Via, from_service};
use crate::services::tokens::{self, Scope};

/// The session cookie's name.
pub const COOKIE: &str = "ferry_session";
/// How long a session lasts from sign-in, whatever is done with it.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// At most this many live sessions per node: a flood of sign-ins can't grow memory unbounded.
const MAX_SESSIONS: usize = 10_000;

struct Session {
    /// The hash the store keys the token by.
    token_hash: String,
    csrf: String,
    expires: Instant,
}

/// The node's sessions, by id.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// A new session for a token (by its stored hash): its id and CSRF token. None when the
    /// node holds as many live sessions as it may.
    fn open(&self, token_hash: String) -> Option<(String, String)> {
        let now = Instant::now();
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            return None;
        }
        let (id, csrf) = (random_hex(), random_hex());
        map.insert(
            id.clone(),
            Session {
                token_hash,
                csrf: csrf.clone(),
                expires: now + LIFETIME,
            },
        );
        Some((id, csrf))
    }

    /// The live session's token hash and CSRF token.
    fn get(&self, id: &str) -> Option<(String, String)> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(id) {
            Some(s) if s.expires > Instant::now() => Some((s.token_hash.clone(), s.csrf.clone())),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    fn close(&self, id: &str) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// How many sessions are held (tests: a refused sign-in stores nothing).
    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// 256 random bits, hex.
fn random_hex() -> String {
    use rand::RngExt;
    hex::encode(rand::rng().random::<[u8; 32]>())
}

/// A signed-in operator: the token (re-checked on this request) and the session's CSRF token.
pub struct Operator {
    pub caller: Caller,
    pub csrf: String,
    session: String,
}

impl Operator {
    /// Refuses a state-changing form whose CSRF token is not this session's (403).
    pub fn check_csrf(&self, presented: &str) -> Result<(), UiError> {
        if bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(UiError::Forbidden)
        }
    }

    /// What the header says about who is signed in.
    pub fn label(&self) -> String {
        match &self.caller.scope {
            Scope::Admin => format!("{} (admin)", self.caller.token.id),
            Scope::Tenant(t) => format!("{} (tenant {t})", self.caller.token.id),
        }
    }
}

impl FromRequestParts<UiState> for Operator {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let id = session_id(&parts.headers).ok_or(UiError::SignIn)?;
        let (hash, csrf) = state.sessions.get(&id).ok_or(UiError::SignIn)?;
        let store = state.admin.ctx.open_store().await.map_err(from_service)?;
        let Some(token) = store
            .token_by_hash(&hash)
            .await
            .map_err(|e| from_service(e.into()))?
        else {
            // Revoked since sign-in: the session ends with it.
            state.sessions.close(&id);
            return Err(UiError::SignIn);
        };
        Ok(Operator {
            caller: Caller {
                scope: Scope::of(&token),
                token,
                via: Via::Console,
            },
            csrf,
            session: id,
        })
    }
}

/// The session id a request's cookies carry.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE)
        .map(|c| c.value().to_string())
}

/// The `Set-Cookie` header for session `id` (an empty value and no lifetime removes it).
fn set_cookie(id: String, max_age: Duration) -> [(header::HeaderName, String); 1] {
    let max_age = cookie::time::Duration::try_from(max_age).unwrap_or(cookie::time::Duration::ZERO);
    let cookie = Cookie::build((COOKIE, id))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/ui")
        .max_age(max_age)
        .build();
    [(header::SET_COOKIE, cookie.to_string())]
}

/// `GET /ui`: the runs when signed in, else the sign-in form.
pub async fn home(operator: Result<Operator, UiError>) -> Response {
    match operator {
        Ok(_) => Redirect::to("/ui/runs").into_response(),
        Err(_) => pages::sign_in(None).into_response(),
    }
}

/// `GET /ui/sign-in`.
pub async fn sign_in_form() -> Response {
    pages::sign_in(None).into_response()
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
}

/// `POST /ui/sign-in`: a valid, unrevoked token opens a session; anything else is a 401 page
/// and stores nothing.
pub async fn sign_in(
    State(state): State<UiState>,
    Form(form): Form<SignIn>,
) -> Result<Response, UiError> {
    let store = state.admin.ctx.open_store().await.map_err(from_service)?;
    let secret = form.token.trim();
    let token = tokens::authenticate(&*store, secret)
        .await
        .map_err(from_service)?;
    if token.is_none() {
        tracing::warn!("console: sign-in with an unknown or revoked token");
        return Ok((
            StatusCode::UNAUTHORIZED,
            pages::sign_in(Some("That token is unknown or revoked.")),
        )
            .into_response());
    }
    let Some((id, _csrf)) = state.sessions.open(tokens::hash(secret)) else {
        return Err(UiError::Busy);
    };
    Ok((set_cookie(id, LIFETIME), Redirect::to("/ui/runs")).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /ui/sign-out`: ends the session here and in the browser.
pub async fn sign_out(
    State(state): State<UiState>,
    operator: Operator,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    operator.check_csrf(&form.csrf)?;
    state.sessions.close(&operator.session);
    Ok((
        set_cookie(String::new(), Duration::ZERO),
        Redirect::to("/ui/sign-in"),
    )
        .into_response())
}
