//! `Activations` on PostgreSQL: installs and an append-only activation history (a rollback
//! retires the newest live row). Changes to one (tenant, role) are serialized across nodes by
//! a transaction-scoped advisory lock on the pair.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::traits::Activations;
use crate::types::{Activation, Install, now};

fn activation(row: &Row) -> Res<Activation> {
    Ok(Activation {
        seq: row.try_get(0)?,
        tenant: row.try_get(1)?,
        role: row.try_get(2)?,
        digest: row.try_get(3)?,
        activated_at: row.try_get(4)?,
    })
}

/// A role's live activations, newest first: the first serves, the second is a rollback away.
const LIVE: &str = "SELECT seq, tenant, role, digest, activated_at FROM plugin_activations
     WHERE tenant = $1 AND role = $2 AND retired_at IS NULL ORDER BY seq DESC";

async fn lock_role(c: &impl GenericClient, tenant: &str, role: &str) -> Res<()> {
    c.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('activation:' || length($1) || ':' || $1 || $2, 0))",
        &[&tenant, &role],
    )
    .await?;
    Ok(())
}

impl PgStore {
    async fn activate_digest(&self, tenant: &str, role: &str, digest: &str) -> Res<Activation> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_role(&tx, tenant, role).await?;
        let installed = tx
            .query_opt(
                "SELECT 1 FROM plugin_installs WHERE tenant = $1 AND role = $2 AND digest = $3",
                &[&tenant, &role, &digest],
            )
            .await?
            .is_some();
        if !installed {
            return Err(StoreError::NotFound(format!(
                "{digest} is not installed for tenant '{tenant}' role {role}"
            ))
            .into());
        }
        let current = tx
            .query_opt(&format!("{LIVE} LIMIT 1"), &[&tenant, &role])
            .await?;
        if let Some(current) = current.as_ref().map(activation).transpose()?
            && current.digest == digest
        {
            return Ok(current);
        }
        tx.execute(
            "INSERT INTO plugin_activations (tenant, role, digest, activated_at) VALUES ($1, $2, $3, $4)",
            &[&tenant, &role, &digest, &now()],
        )
        .await?;
        let active = activation(
            &tx.query_one(&format!("{LIVE} LIMIT 1"), &[&tenant, &role])
                .await?,
        )?;
        tx.commit().await?;
        Ok(active)
    }

    async fn roll_back(&self, tenant: &str, role: &str) -> Res<Activation> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_role(&tx, tenant, role).await?;
        let live: Vec<Activation> = tx
            .query(&format!("{LIVE} LIMIT 2"), &[&tenant, &role])
            .await?
            .iter()
            .map(activation)
            .collect::<Res<_>>()?;
        let [current, previous] = live.as_slice() else {
            return Err(StoreError::Conflict(format!(
                "tenant '{tenant}' role {role} has no earlier activation to roll back to"
            ))
            .into());
        };
        tx.execute(
            "UPDATE plugin_activations SET retired_at = $1 WHERE seq = $2",
            &[&now(), &current.seq],
        )
        .await?;
        tx.commit().await?;
        Ok(previous.clone())
    }
}

#[async_trait]
impl Activations for PgStore {
    async fn record_install(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO plugin_installs (tenant, role, digest, installed_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (tenant, role, digest) DO NOTHING",
                    &[&tenant, &role, &digest, &now()],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT tenant, role, digest, installed_at FROM plugin_installs
                     WHERE $1::text IS NULL OR tenant = $1
                     ORDER BY tenant COLLATE \"C\", role COLLATE \"C\", installed_at COLLATE \"C\"",
                    &[&tenant],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Install {
                        tenant: r.try_get(0)?,
                        role: r.try_get(1)?,
                        digest: r.try_get(2)?,
                        installed_at: r.try_get(3)?,
                    })
                })
                .collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn activate(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<Activation, StoreError> {
        self.activate_digest(tenant, role, digest)
            .await
            .map_err(Fail::into_store)
    }

    async fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError> {
        self.roll_back(tenant, role).await.map_err(Fail::into_store)
    }

    async fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(&format!("{LIVE} LIMIT 1 OFFSET 1"), &[&tenant, &role])
                .await?;
            row.as_ref().map(activation).transpose()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn active(&self) -> Result<Vec<Activation>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT a.seq, a.tenant, a.role, a.digest, a.activated_at FROM plugin_activations a
                     WHERE a.retired_at IS NULL AND a.seq = (
                        SELECT max(b.seq) FROM plugin_activations b
                        WHERE b.tenant = a.tenant AND b.role = a.role AND b.retired_at IS NULL)
                     ORDER BY a.tenant COLLATE \"C\", a.role COLLATE \"C\"",
                    &[],
                )
                .await?;
            rows.iter().map(activation).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn generation(&self) -> Result<i64, StoreError> {
        // Every activation adds a row and every rollback retires one: the sum only grows.
        async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "SELECT count(*) + count(retired_at) FROM plugin_activations",
                    &[],
                )
                .await?;
            Ok(row.try_get(0)?)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO plugin_blobs (digest, bytes, stored_at) VALUES ($1, $2, $3)
                     ON CONFLICT (digest) DO NOTHING",
                    &[&digest, &bytes, &now()],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT bytes FROM plugin_blobs WHERE digest = $1",
                    &[&digest],
                )
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn put_plugin_file(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO plugin_files (digest, tenant, name, text) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (digest, tenant, name) DO UPDATE SET text = excluded.text",
                    &[&digest, &tenant, &name, &text],
                )
                .await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn plugin_files(
        &self,
        digest: &str,
        tenant: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT name, text FROM plugin_files WHERE digest = $1 AND tenant = $2
                     ORDER BY name COLLATE \"C\"",
                    &[&digest, &tenant],
                )
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }
}
