//! The SQLite store: one file, WAL mode, migrations by `user_version`. The driver blocks (and
//! waits up to [`BUSY_TIMEOUT`] for another process's lock), so every operation runs on
//! tokio's blocking pool, never on the thread that serves sockets.

mod activations;
mod controls;
mod edit;
mod jobs;
mod migrations;
mod nodes;
mod ordered;
mod records;
mod resolve;
mod shadows;
mod tokens;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, params};

use crate::StoreError;
use crate::schema::Migrated;
use crate::traits::Health;
use crate::types::now;

/// How long a statement waits for another connection's lock (the CLI, another node).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection, used by one operation at a time (SQLite has one writer anyway).
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    schema: Migrated,
}

/// An operation's failure inside the blocking closure: the driver's, or the store's own.
/// Private, so `rusqlite::Error` never reaches the interface.
enum Fail {
    Db(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Fail::Db(e) => StoreError::Backend(e.to_string()),
            Fail::Store(e) => e,
        }
    }
}

type Res<T> = Result<T, Fail>;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let (conn, schema) =
            tokio::task::spawn_blocking(move || open_blocking(&path).map_err(Fail::into_store))
                .await
                .map_err(|e| StoreError::Backend(format!("opening the store: {e}")))??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            schema,
        })
    }

    /// What opening did to the schema.
    pub fn schema(&self) -> Migrated {
        self.schema
    }

    /// Runs `op` on the connection on the blocking pool.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Res<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| StoreError::Poisoned)?;
            op(&mut conn).map_err(Fail::into_store)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store operation did not finish: {e}")))?
    }
}

fn open_blocking(path: &Path) -> Res<(Connection, Migrated)> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    wal_mode(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let schema = migrations::migrate(&mut conn)?;
    // Outside the migrations on purpose: a scratch row for `can_write`, not data.
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS ready_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL)",
    )?;
    Ok((conn, schema))
}

/// Switches to WAL. Two processes opening a new file at once race for the switch, and SQLite
/// answers the loser "database is locked" at once, without consulting the busy timeout: try
/// again for as long as that timeout.
fn wal_mode(conn: &Connection) -> Res<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

#[async_trait]
impl Health for SqliteStore {
    async fn can_write(&self, wait: Duration) -> Result<(), StoreError> {
        self.run(move |conn| {
            conn.busy_timeout(wait)?;
            let written = conn.execute(
                "INSERT INTO ready_probe (id, at) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                params![now()],
            );
            conn.busy_timeout(BUSY_TIMEOUT)?;
            written?;
            Ok(())
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || match conn.try_lock() {
            // Another operation has it: the connection is evidently held, and waiting for it
            // would make the probe as slow as that operation.
            Err(std::sync::TryLockError::WouldBlock) => Ok(()),
            Err(std::sync::TryLockError::Poisoned(_)) => Err(StoreError::Poisoned),
            // A read of the file's header: no lock to wait for in WAL mode.
            Ok(conn) => conn
                .query_row("PRAGMA schema_version", [], |_| Ok(()))
                .map_err(|e| StoreError::Backend(e.to_string())),
        })
        .await
        .map_err(|e| StoreError::Backend(format!("the ping did not finish: {e}")))?
    }
}

/// A job's tenant, kind, key and checkpoint (as text), owned, to move into the connection's
/// thread.
fn owned(job: &crate::types::NewJob<'_>) -> (String, String, String, String) {
    (
        job.tenant.to_owned(),
        job.kind.to_owned(),
        job.key.to_owned(),
        job.checkpoint.to_string(),
    )
}
