//! `Activations` on SQLite: installs and an append-only activation history (a rollback
//! retires the newest live row).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use crate::StoreError;
use crate::traits::Activations;
use crate::types::{Activation, Install, now};

fn activation(row: &rusqlite::Row<'_>) -> rusqlite::Result<Activation> {
    Ok(Activation {
        seq: row.get(0)?,
        tenant: row.get(1)?,
        role: row.get(2)?,
        digest: row.get(3)?,
        activated_at: row.get(4)?,
    })
}

/// A role's live activations, newest first: the first serves, the second is a rollback away.
const LIVE: &str = "SELECT seq, tenant, role, digest, activated_at FROM plugin_activations
     WHERE tenant = ?1 AND role = ?2 AND retired_at IS NULL ORDER BY seq DESC";

#[async_trait]
impl Activations for SqliteStore {
    async fn record_install(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<(), StoreError> {
        let (tenant, role, digest) = (tenant.to_owned(), role.to_owned(), digest.to_owned());
        self.run(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO plugin_installs (tenant, role, digest, installed_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![tenant, role, digest, now()],
            )?;
            Ok(())
        })
        .await
    }

    async fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT tenant, role, digest, installed_at FROM plugin_installs
                 WHERE ?1 IS NULL OR tenant = ?1 ORDER BY tenant, role, installed_at",
            )?;
            let rows = stmt.query_map(params![tenant], |r| {
                Ok(Install {
                    tenant: r.get(0)?,
                    role: r.get(1)?,
                    digest: r.get(2)?,
                    installed_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn activate(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<Activation, StoreError> {
        let (tenant, role, digest) = (tenant.to_owned(), role.to_owned(), digest.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let installed = tx
                .query_row(
                    "SELECT 1 FROM plugin_installs WHERE tenant = ?1 AND role = ?2 AND digest = ?3",
                    params![tenant, role, digest],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !installed {
                return Err(StoreError::NotFound(format!(
                    "{digest} is not installed for tenant '{tenant}' role {role}"
                ))
                .into());
            }
            let current = tx.query_row(LIVE, params![tenant, role], activation).optional()?;
            if let Some(current) = current.filter(|a| a.digest == digest) {
                return Ok(current);
            }
            tx.execute(
                "INSERT INTO plugin_activations (tenant, role, digest, activated_at) VALUES (?1, ?2, ?3, ?4)",
                params![tenant, role, digest, now()],
            )?;
            let active = tx.query_row(LIVE, params![tenant, role], activation)?;
            tx.commit()?;
            Ok(active)
        })
        .await
    }

    async fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError> {
        let (tenant, role) = (tenant.to_owned(), role.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let live: Vec<Activation> = {
                let mut stmt = tx.prepare(&format!("{LIVE} LIMIT 2"))?;
                stmt.query_map(params![tenant, role], activation)?
                    .collect::<Result<_, _>>()?
            };
            let [current, previous] = live.as_slice() else {
                return Err(StoreError::Conflict(format!(
                    "tenant '{tenant}' role {role} has no earlier activation to roll back to"
                ))
                .into());
            };
            tx.execute(
                "UPDATE plugin_activations SET retired_at = ?1 WHERE seq = ?2",
                params![now(), current.seq],
            )?;
            tx.commit()?;
            Ok(previous.clone())
        })
        .await
    }

    async fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError> {
        let (tenant, role) = (tenant.to_owned(), role.to_owned());
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!("{LIVE} LIMIT 1 OFFSET 1"))?;
            Ok(stmt
                .query_row(params![tenant, role], activation)
                .optional()?)
        })
        .await
    }

    async fn active(&self) -> Result<Vec<Activation>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(
                "SELECT a.seq, a.tenant, a.role, a.digest, a.activated_at FROM plugin_activations a
                 WHERE a.retired_at IS NULL AND a.seq = (
                    SELECT max(b.seq) FROM plugin_activations b
                    WHERE b.tenant = a.tenant AND b.role = a.role AND b.retired_at IS NULL)
                 ORDER BY a.tenant, a.role",
            )?;
            let rows = stmt.query_map([], activation)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn generation(&self) -> Result<i64, StoreError> {
        // Every activation adds a row and every rollback retires one: the sum only grows.
        self.run(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) + count(retired_at) FROM plugin_activations",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let (digest, bytes) = (digest.to_owned(), bytes.to_vec());
        self.run(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO plugin_blobs (digest, bytes, stored_at) VALUES (?1, ?2, ?3)",
                params![digest, bytes, now()],
            )?;
            Ok(())
        })
        .await
    }

    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let digest = digest.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT bytes FROM plugin_blobs WHERE digest = ?1",
                    params![digest],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn put_plugin_file(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        let row = [digest, tenant, name, text].map(str::to_owned);
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO plugin_files (digest, tenant, name, text) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (digest, tenant, name) DO UPDATE SET text = excluded.text",
                params![row[0], row[1], row[2], row[3]],
            )?;
            Ok(())
        })
        .await
    }

    async fn plugin_files(
        &self,
        digest: &str,
        tenant: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let (digest, tenant) = (digest.to_owned(), tenant.to_owned());
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT name, text FROM plugin_files WHERE digest = ?1 AND tenant = ?2 ORDER BY name",
            )?;
            let rows = stmt.query_map(params![digest, tenant], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
