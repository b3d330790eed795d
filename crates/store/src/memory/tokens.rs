//! `Tokens` in memory.

use async_trait::async_trait;

use super::MemoryStore;
use crate::StoreError;
use crate::traits::Tokens;
use crate::types::{ApiToken, NewToken, now};

#[async_trait]
impl Tokens for MemoryStore {
    async fn create_token(&self, new: NewToken<'_>) -> Result<ApiToken, StoreError> {
        self.with(|s| {
            if s.tokens
                .iter()
                .any(|(t, hash)| t.id == new.id || hash == new.hash)
            {
                return Err(StoreError::Conflict(format!(
                    "token {} already exists",
                    new.id
                )));
            }
            let token = ApiToken {
                id: new.id.to_owned(),
                name: new.name.map(str::to_owned),
                tenant: new.tenant.map(str::to_owned),
                created_at: now(),
                revoked_at: None,
            };
            s.tokens.push((token.clone(), new.hash.to_owned()));
            Ok(token)
        })
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.with(|s| {
            Ok(s.tokens
                .iter()
                .find(|(t, h)| h == hash && t.revoked_at.is_none())
                .map(|(t, _)| t.clone()))
        })
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.with(|s| Ok(s.tokens.iter().map(|(t, _)| t.clone()).collect()))
    }

    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError> {
        self.with(|s| {
            let (token, _) = s
                .tokens
                .iter_mut()
                .find(|(t, _)| t.id == id)
                .ok_or_else(|| StoreError::NotFound(format!("no token {id}")))?;
            token.revoked_at.get_or_insert_with(now);
            Ok(token.clone())
        })
    }
}
