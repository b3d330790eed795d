//! The SQLite store: one file, WAL mode, migrations by `user_version`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Activation, Install, PluginStore, StoreError};

const MIGRATIONS: &[&str] = &[
    // 1: the plugin registry.
    "CREATE TABLE plugin_installs (
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        installed_at TEXT NOT NULL,
        PRIMARY KEY (tenant, role, digest)
    );
    CREATE TABLE plugin_activations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        activated_at TEXT NOT NULL,
        retired_at TEXT
    );
    CREATE INDEX plugin_activations_live ON plugin_activations (tenant, role, retired_at, seq);",
    // 2: durable work: inbox, jobs, cross-references, dead letters, audit.
    "CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (tenant, source, dedup_key)
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        step TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        intent TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        claim_token TEXT,
        claimed_by TEXT,
        lease_until INTEGER,
        last_error TEXT,
        hold_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant, kind, key)
    );
    CREATE INDEX jobs_runnable ON jobs (state, run_at);
    CREATE TABLE xref (
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        local_id TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, kind, local_id)
    );
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        input TEXT NOT NULL,
        error TEXT NOT NULL,
        replayed_at TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        job_id INTEGER,
        at TEXT NOT NULL,
        step TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX audit_by_key ON audit (tenant, key, id);",
    // 3: orders made from quotes, for status push-back.
    "CREATE TABLE orders (
        tenant TEXT NOT NULL,
        quote_id TEXT NOT NULL,
        order_number TEXT NOT NULL,
        status TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, quote_id)
    );
    CREATE INDEX orders_by_number ON orders (tenant, order_number);",
    // 4: when each run_at and lease was set, so a wall-clock step back can be undone (sqlite_jobs.rs).
    "ALTER TABLE jobs ADD COLUMN scheduled_at INTEGER;
    ALTER TABLE jobs ADD COLUMN leased_at INTEGER;",
    // 5: which job writes an order reference now (one writer per reference; sqlite_locks.rs).
    "CREATE TABLE reference_locks (
        tenant TEXT NOT NULL,
        reference TEXT NOT NULL,
        job_id INTEGER NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (tenant, reference)
    );",
];

/// How long a statement waits for another connection's lock (the CLI, another node).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let store = Self {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        // Outside the migrations on purpose: a scratch row for `can_write`, not data.
        store.conn()?.execute_batch(
            "CREATE TABLE IF NOT EXISTS ready_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL)",
        )?;
        Ok(store)
    }

    /// Readiness: one tiny write (a row in `ready_probe`). Waits for a lock at most `wait`,
    /// then says why it can't write (locked, disk full, read-only).
    pub fn can_write(&self, wait: Duration) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.busy_timeout(wait)?;
        let written = conn.execute(
            "INSERT INTO ready_probe (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            params![now()],
        );
        conn.busy_timeout(BUSY_TIMEOUT)?;
        written?;
        Ok(())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub(super) fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }
}

pub(super) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn activation(row: &rusqlite::Row<'_>) -> rusqlite::Result<Activation> {
    Ok(Activation {
        seq: row.get(0)?,
        tenant: row.get(1)?,
        role: row.get(2)?,
        digest: row.get(3)?,
        activated_at: row.get(4)?,
    })
}

const LIVE: &str = "SELECT seq, tenant, role, digest, activated_at FROM plugin_activations
     WHERE tenant = ?1 AND role = ?2 AND retired_at IS NULL ORDER BY seq DESC";

impl PluginStore for SqliteStore {
    fn record_install(&self, tenant: &str, role: &str, digest: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT OR IGNORE INTO plugin_installs (tenant, role, digest, installed_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![tenant, role, digest, now()],
        )?;
        Ok(())
    }

    fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError> {
        let conn = self.conn()?;
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
    }

    fn activate(&self, tenant: &str, role: &str, digest: &str) -> Result<Activation, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let installed: bool = tx
            .query_row(
                "SELECT 1 FROM plugin_installs WHERE tenant = ?1 AND role = ?2 AND digest = ?3",
                params![tenant, role, digest],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if !installed {
            return Err(StoreError::NotFound(format!(
                "{digest} is not installed for tenant '{tenant}' role {role}"
            )));
        }
        let current = tx
            .query_row(LIVE, params![tenant, role], activation)
            .optional()?;
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
    }

    fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let live: Vec<Activation> = {
            let mut stmt = tx.prepare(&format!("{LIVE} LIMIT 2"))?;
            stmt.query_map(params![tenant, role], activation)?
                .collect::<Result<_, _>>()?
        };
        let [current, previous] = live.as_slice() else {
            return Err(StoreError::Conflict(format!(
                "tenant '{tenant}' role {role} has no earlier activation to roll back to"
            )));
        };
        tx.execute(
            "UPDATE plugin_activations SET retired_at = ?1 WHERE seq = ?2",
            params![now(), current.seq],
        )?;
        tx.commit()?;
        Ok(previous.clone())
    }

    fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!("{LIVE} LIMIT 1 OFFSET 1"))?;
        Ok(stmt
            .query_row(params![tenant, role], activation)
            .optional()?)
    }

    fn active(&self) -> Result<Vec<Activation>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT a.seq, a.tenant, a.role, a.digest, a.activated_at FROM plugin_activations a
             WHERE a.retired_at IS NULL AND a.seq = (
                SELECT max(b.seq) FROM plugin_activations b
                WHERE b.tenant = a.tenant AND b.role = a.role AND b.retired_at IS NULL)
             ORDER BY a.tenant, a.role",
        )?;
        let rows = stmt.query_map([], activation)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn generation(&self) -> Result<i64, StoreError> {
        // Every activation adds a row and every rollback retires one: the sum only grows.
        Ok(self.conn()?.query_row(
            "SELECT count(*) + count(retired_at) FROM plugin_activations",
            [],
            |r| r.get(0),
        )?)
    }
}
