//! `Tokens` on SQLite: one row per token, found by the hash of its secret.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::StoreError;
use crate::traits::Tokens;
use crate::types::{ApiToken, NewToken, now};

const COLUMNS: &str = "id, name, tenant, created_at, revoked_at";

fn token(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: row.get(0)?,
        name: row.get(1)?,
        tenant: row.get(2)?,
        created_at: row.get(3)?,
        revoked_at: row.get(4)?,
    })
}

#[async_trait]
impl Tokens for SqliteStore {
    async fn create_token(&self, new: NewToken<'_>) -> Result<ApiToken, StoreError> {
        let token = ApiToken {
            id: new.id.to_owned(),
            name: new.name.map(str::to_owned),
            tenant: new.tenant.map(str::to_owned),
            created_at: now(),
            revoked_at: None,
        };
        let hash = new.hash.to_owned();
        self.run(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO api_tokens (id, name, tenant, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
                params![token.id, token.name, token.tenant, hash, token.created_at],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("token {} already exists", token.id)).into());
            }
            Ok(token)
        })
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let hash = hash.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM api_tokens WHERE hash = ?1 AND revoked_at IS NULL"
                    ),
                    params![hash],
                    token,
                )
                .optional()?)
        })
        .await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.run(move |conn| {
            let mut stmt =
                conn.prepare(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY rowid"))?;
            let rows = stmt.query_map([], token)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn revoke_token(&self, id: &str) -> Result<ApiToken, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now()],
            )?;
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM api_tokens WHERE id = ?1"),
                params![id],
                token,
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("no token {id}")).into())
        })
        .await
    }
}
