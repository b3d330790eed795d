//! `Tokens` on PostgreSQL: one row per token, found by the hash of its secret.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::traits::Tokens;
use crate::types::{ApiToken, NewToken, now};

const COLUMNS: &str = "id, name, tenant, created_at, revoked_at";

fn token(row: &Row) -> Res<ApiToken> {
    Ok(ApiToken {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        tenant: row.try_get(2)?,
        created_at: row.try_get(3)?,
        revoked_at: row.try_get(4)?,
    })
}

impl PgStore {
    async fn create(&self, new: NewToken<'_>) -> Res<ApiToken> {
        let token = ApiToken {
            id: new.id.to_owned(),
            name: new.name.map(str::to_owned),
            tenant: new.tenant.map(str::to_owned),
            created_at: now(),
            revoked_at: None,
        };
        let inserted = self
            .client()
            .await?
            .execute(
                "INSERT INTO api_tokens (id, name, tenant, hash, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                &[&token.id, &token.name, &token.tenant, &new.hash, &token.created_at],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("token {} already exists", token.id)).into());
        }
        Ok(token)
    }

    async fn by_hash(&self, hash: &str) -> Res<Option<ApiToken>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL"),
                &[&hash],
            )
            .await?;
        row.as_ref().map(token).transpose()
    }

    async fn all(&self) -> Res<Vec<ApiToken>> {
        let rows = self
            .client()
            .await?
            .query(
                &format!("SELECT {COLUMNS} FROM api_tokens ORDER BY seq"),
                &[],
            )
            .await?;
        rows.iter().map(token).collect()
    }

    async fn revoke(&self, id: &str) -> Res<ApiToken> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now()],
            )
            .await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"),
                &[&id],
            )
            .await?
            .ok_or_else(|| Fail::Store(StoreError::NotFound(format!("no token {id}"))))?;
        token(&row)
    }
}

#[async_trait]
impl Tokens for PgStore {
    async fn create_token(&self, token: NewToken<'_>) -> Result<ApiToken, StoreError> {
        self.create(token).await.map_err(Fail::into_store)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.by_hash(hash).await.map_err(Fail::into_store)
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.all().await.map_err(Fail::into_store)
    }

    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError> {
        self.revoke(id).await.map_err(Fail::into_store)
    }
}
