//! Credentials for M3's ION API gateway: the OAuth 2.0 password grant with the service-account
//! keys of an Infor `.ionapi` file (reference/m3-api.md §2). Tokens are refreshed before they
//! expire and once after a 401; they live in `Secret`s and are never logged.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::ConnectionError;
use crate::bindings::types::Error;
use crate::grants::Secret;

/// The fields of an `.ionapi` file Ferry uses. Unknown fields (`cn`, `dt`, `ev`, `v`, `oa`,
/// `or`, ...) are ignored; `dt` and `ev` are undocumented.
#[derive(Deserialize)]
pub struct IonApiFile {
    /// Tenant id: a path segment after `iu`.
    pub ti: String,
    /// OAuth client id and secret.
    pub ci: String,
    cs: String,
    /// ION API gateway base URL.
    pub iu: String,
    /// Authorization server base (ends with `/<tenant>/as/`), and the token path under it.
    pub pu: String,
    pub ot: String,
    /// Service-account access key (the username) and secret key (the password).
    saak: String,
    sask: String,
}

impl std::fmt::Debug for IonApiFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IonApiFile")
            .field("ti", &self.ti)
            .field("ci", &self.ci)
            .field("iu", &self.iu)
            .field("pu", &self.pu)
            .field("ot", &self.ot)
            .finish_non_exhaustive()
    }
}

impl IonApiFile {
    pub fn read(path: &Path) -> Result<Self, ConnectionError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConnectionError::Credentials {
            source_name: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text).map_err(|message| ConnectionError::Credentials {
            source_name: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        // serde_json's message names the missing key, never a value.
        let file: IonApiFile =
            serde_json::from_str(text).map_err(|e| format!("not a usable .ionapi file: {e}"))?;
        for (key, value) in [
            ("ti", &file.ti),
            ("ci", &file.ci),
            ("cs", &file.cs),
            ("iu", &file.iu),
            ("pu", &file.pu),
            ("ot", &file.ot),
            ("saak", &file.saak),
            ("sask", &file.sask),
        ] {
            if value.trim().is_empty() {
                return Err(format!("'{key}' is empty"));
            }
        }
        Ok(file)
    }

    /// `{pu}{ot}`: `pu` already ends with `/as/`.
    pub fn token_url(&self) -> Result<Url, String> {
        let joined = if self.pu.ends_with('/') || self.ot.starts_with('/') {
            format!("{}{}", self.pu, self.ot)
        } else {
            format!("{}/{}", self.pu, self.ot)
        };
        Url::parse(&joined).map_err(|e| format!("token URL '{joined}': {e}"))
    }

    /// `{iu}/{ti}/`: the base every MI REST path hangs off.
    pub fn base_url(&self) -> Result<Url, String> {
        let joined = format!("{}/{}/", self.iu.trim_end_matches('/'), self.ti);
        Url::parse(&joined).map_err(|e| format!("gateway URL '{joined}': {e}"))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

struct Token {
    access: Secret,
    expires_at: Instant,
    /// Renew when this instant has passed: a margin before expiry.
    renew_at: Instant,
}

#[derive(Default)]
struct TokenState {
    current: Option<Token>,
    refresh: Option<Secret>,
}

/// Hands out a valid access token for one `.ionapi` file; shared by every call on the
/// connection, so one token serves all of them until it needs renewing.
pub struct TokenProvider {
    file: IonApiFile,
    token_url: Url,
    client: reqwest::Client,
    state: Mutex<TokenState>,
}

/// Used when the token response has no `expires_in` (Infor's default lifetime is unverified;
/// public clients renew after about 3000 s).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(3000);

impl TokenProvider {
    pub fn new(file: IonApiFile, timeout: Duration) -> Result<Self, ConnectionError> {
        let token_url = file
            .token_url()
            .map_err(|message| ConnectionError::Credentials {
                source_name: "ionapi".into(),
                message,
            })?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectionError::Credentials {
                source_name: "ionapi".into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            file,
            token_url,
            client,
            state: Mutex::new(TokenState::default()),
        })
    }

    pub fn base_url(&self) -> Result<Url, String> {
        self.file.base_url()
    }

    /// A token valid for at least the renewal margin.
    pub async fn token(&self) -> Result<Secret, Error> {
        let mut state = self.state.lock().await;
        if let Some(t) = &state.current
            && Instant::now() < t.renew_at
        {
            return Ok(t.access.clone());
        }
        if let Some(refresh) = state.refresh.take() {
            match self
                .grant(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                ])
                .await
            {
                Ok(token) => return Ok(Self::store(&mut state, token)),
                Err(e) => {
                    tracing::info!(url = %self.token_url, "refresh grant failed ({e}); using the password grant")
                }
            }
        }
        let token = self
            .grant(&[
                ("grant_type", "password"),
                ("username", &self.file.saak),
                ("password", &self.file.sask),
            ])
            .await?;
        Ok(Self::store(&mut state, token))
    }

    /// Drops `stale` (a token the server just refused) so the next `token()` fetches anew. A
    /// token another call already replaced is left alone.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.access.expose() == stale.expose())
        {
            state.current = None;
        }
    }

    fn store(state: &mut TokenState, response: TokenResponse) -> Secret {
        let lifetime = response
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(ASSUMED_LIFETIME);
        // Renew at 80% of the lifetime, but never more than a minute early.
        let margin = (lifetime / 5).min(Duration::from_secs(60));
        let now = Instant::now();
        let access = Secret::new(response.access_token);
        state.current = Some(Token {
            access: access.clone(),
            expires_at: now + lifetime,
            renew_at: now + lifetime - margin,
        });
        state.refresh = response.refresh_token.map(Secret::new);
        access
    }

    async fn grant(&self, params: &[(&str, &str)]) -> Result<TokenResponse, Error> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("client_id", &self.file.ci));
        form.push(("client_secret", &self.file.cs));
        let resp = self
            .client
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                Error::Transient(format!(
                    "token endpoint {}: {}",
                    self.token_url,
                    if e.is_timeout() {
                        "timed out".to_string()
                    } else {
                        "unreachable".to_string()
                    }
                ))
            })?;
        let status = resp.status();
        metrics::counter!("ferry_oauth_token_requests_total", "status" => status.as_u16().to_string()).increment(1);
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(Error::Transient(format!(
                "token endpoint {} answered {status}",
                self.token_url
            )));
        }
        if !status.is_success() {
            // OAuth error bodies carry an error code, not credentials; show the code only.
            let code = resp
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_default();
            return Err(Error::Unauthorized(format!(
                "token endpoint {} refused the credentials: {status} {code}",
                self.token_url
            )));
        }
        resp.json::<TokenResponse>().await.map_err(|_| {
            Error::Fatal(format!(
                "token endpoint {} sent no usable token",
                self.token_url
            ))
        })
    }

    /// Seconds until the current token expires, if there is one (for diagnostics).
    pub async fn expires_in(&self) -> Option<Duration> {
        let state = self.state.lock().await;
        state
            .current
            .as_ref()
            .map(|t| t.expires_at.saturating_duration_since(Instant::now()))
    }
}
