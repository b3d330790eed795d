//! Admin API bearer tokens: made here (the secret is returned once and stored nowhere), listed,
//! revoked, and checked on every admin request.
//!
//! A secret is 256 random bits, so the store keeps a plain SHA-256 of it: a slow password hash
//! (argon2, bcrypt) exists to make guessing a low-entropy password from a leaked hash costly;
//! nobody can enumerate 2^256 secrets however fast the hash is, and a fast hash keeps a lookup
//! on every request cheap. Lookup is by the hash itself, so no secret is ever compared.

use sha2::{Digest, Sha256};

use super::{Context, ServiceError};
use ferry_store::{ApiToken, NewToken, Store};

/// What a secret starts with: says what it is when it turns up in a file or a log.
const SECRET_PREFIX: &str = "ferry_";

/// Which data a token may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every tenant, and the tokens themselves.
    Admin,
    /// One tenant's runs, holds, dead letters and plugins.
    Tenant(String),
}

impl Scope {
    pub fn of(token: &ApiToken) -> Self {
        match &token.tenant {
            Some(t) => Scope::Tenant(t.clone()),
            None => Scope::Admin,
        }
    }

    /// Whether a token of this scope may see `tenant`'s data.
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Scope::Admin => true,
            Scope::Tenant(t) => t == tenant,
        }
    }
}

/// A token just made: its stored record, and the secret (shown once).
pub struct Created {
    pub token: ApiToken,
    pub secret: String,
}

/// The stored hash of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Makes a token; a tenant scope must name a configured tenant.
pub async fn create(
    ctx: &Context,
    scope: &Scope,
    name: Option<&str>,
) -> Result<Created, ServiceError> {
    if let Scope::Tenant(t) = scope {
        ctx.tenant(t)?;
    }
    let store = ctx.open_store().await?;
    create_in(&*store, scope, name).await
}

/// [`create`] on a given store (a test's, a server's).
pub async fn create_in(
    store: &dyn Store,
    scope: &Scope,
    name: Option<&str>,
) -> Result<Created, ServiceError> {
    use rand::RngExt;
    let id = format!("tok_{}", hex::encode(rand::rng().random::<[u8; 6]>()));
    let secret = format!(
        "{SECRET_PREFIX}{}",
        hex::encode(rand::rng().random::<[u8; 32]>())
    );
    let tenant = match scope {
        Scope::Admin => None,
        Scope::Tenant(t) => Some(t.as_str()),
    };
    let token = store
        .create_token(NewToken {
            id: &id,
            name,
            tenant,
            hash: &hash(&secret),
        })
        .await?;
    Ok(Created { token, secret })
}

pub async fn list(ctx: &Context) -> Result<Vec<ApiToken>, ServiceError> {
    Ok(ctx.open_store().await?.tokens().await?)
}

pub async fn revoke(ctx: &Context, id: &str) -> Result<ApiToken, ServiceError> {
    Ok(ctx.open_store().await?.revoke_token(id).await?)
}

/// The live token a presented secret belongs to, if any.
pub async fn authenticate(
    store: &dyn Store,
    secret: &str,
) -> Result<Option<ApiToken>, ServiceError> {
    if !secret.starts_with(SECRET_PREFIX) {
        return Ok(None);
    }
    Ok(store.token_by_hash(&hash(secret)).await?)
}
