//! The SQLite backend of the `sql` capability (the QuoteWerks simulator, tests, small installs).
//! Each connection is locked to its file by [`sqlite_guard`]; each statement, and the wait for
//! the connection, stops at the calling plugin's deadline (a progress handler checks the clock,
//! the busy timeout is capped by it).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::types::{Value as SqliteValue, ValueRef};
use rust_decimal::Decimal;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::sqlite_guard::{self, Guard};
use super::{SqlStop, default_max_rows};
use crate::bindings::sql::{Rows, SqlValue, Statement};
use crate::bindings::types::Error;
use crate::connections::ConnectionError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteSettings {
    pub path: PathBuf,
    /// A query returning more rows than this is refused: page it instead.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    #[serde(default = "default_busy_ms")]
    pub busy_timeout_ms: u64,
}

fn default_busy_ms() -> u64 {
    5_000
}

/// How many SQLite VM steps run between deadline checks: frequent enough to stop within
/// about a millisecond, rare enough to cost nothing measurable.
const PROGRESS_STEPS: i32 = 1_000;

pub(crate) struct SqliteBackend {
    name: String,
    max_rows: usize,
    busy_timeout: Duration,
    // rusqlite is blocking: statements run on tokio's blocking pool, one at a time per
    // connection (SQLite serialises writers anyway). The async mutex lets a queued call give up
    // at its deadline instead of waiting behind a slow one.
    db: Arc<Mutex<Session>>,
}

/// The connection and the authorizer state its plugin statements answer to.
struct Session {
    conn: rusqlite::Connection,
    guard: Arc<Guard>,
}

/// What a statement run produced instead of a result.
enum Failure {
    Db(rusqlite::Error),
    Plugin(Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Db(e)
    }
}

impl SqliteBackend {
    pub fn open(name: &str, settings: &SqliteSettings) -> Result<Self, ConnectionError> {
        let config_error = |message: String| ConnectionError::Config {
            connection: name.to_string(),
            message,
        };
        let mut conn = rusqlite::Connection::open(&settings.path)
            .map_err(|e| config_error(format!("opening {}: {e}", settings.path.display())))?;
        let guard = sqlite_guard::harden(&mut conn)
            .map_err(|e| config_error(format!("locking the connection down: {e}")))?;
        Ok(Self {
            name: name.to_string(),
            max_rows: settings.max_rows,
            busy_timeout: Duration::from_millis(settings.busy_timeout_ms),
            db: Arc::new(Mutex::new(Session { conn, guard })),
        })
    }

    pub async fn query(&self, statement: Statement, deadline: Instant) -> Result<Rows, SqlStop> {
        let max_rows = self.max_rows;
        self.blocking(deadline, move |s| query(&s.conn, &statement, max_rows))
            .await
    }

    pub async fn execute(&self, statement: Statement, deadline: Instant) -> Result<u64, SqlStop> {
        self.blocking(deadline, move |s| execute(&s.conn, &statement))
            .await
    }

    pub async fn transaction(
        &self,
        statements: Vec<Statement>,
        deadline: Instant,
    ) -> Result<Vec<u64>, SqlStop> {
        self.blocking(deadline, move |s| {
            s.guard.as_host(|| s.conn.execute_batch("BEGIN"))?;
            let mut counts = Vec::with_capacity(statements.len());
            for st in &statements {
                counts.push(execute(&s.conn, st)?);
            }
            s.guard.as_host(|| s.conn.execute_batch("COMMIT"))?;
            Ok(counts)
        })
        .await
    }

    /// Runs `f` on the connection once it is free, on the blocking pool, all by `deadline`.
    async fn blocking<T: Send + 'static>(
        &self,
        deadline: Instant,
        f: impl FnOnce(&Session) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, SqlStop> {
        let session = tokio::time::timeout_at(deadline.into(), self.db.clone().lock_owned())
            .await
            .map_err(|_| SqlStop::Deadline)?;
        let busy = self.busy_timeout;
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || {
            let mut session = session;
            session.run(deadline, busy, f)
        })
        .await
        .map_err(|e| SqlStop::Failed(Error::Fatal(format!("sql '{name}' task failed: {e}"))))?
    }
}

impl Session {
    fn run<T>(
        &mut self,
        deadline: Instant,
        busy: Duration,
        f: impl FnOnce(&Session) -> Result<T, Failure>,
    ) -> Result<T, SqlStop> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(SqlStop::Deadline);
        }
        self.guard.take_refusal();
        let armed = self.conn.busy_timeout(busy.min(remaining)).and_then(|()| {
            self.conn
                .progress_handler(PROGRESS_STEPS, Some(move || Instant::now() >= deadline))
        });
        let result = match armed {
            Ok(()) => f(self),
            Err(e) => Err(e.into()),
        };
        let result = result.map_err(|e| self.stop(e, deadline));
        let _ = self.conn.progress_handler(0, None::<fn() -> bool>);
        // A statement that failed or was refused must not leave a transaction open.
        if !self.conn.is_autocommit() {
            let _ = self.guard.as_host(|| self.conn.execute_batch("ROLLBACK"));
        }
        result
    }

    /// What the plugin is told: the refusal's reason, a deadline stop, or a classified error.
    fn stop(&self, failure: Failure, deadline: Instant) -> SqlStop {
        use rusqlite::ErrorCode;
        let e = match failure {
            Failure::Plugin(e) => return SqlStop::Failed(e),
            Failure::Db(e) => e,
        };
        // A refusal recorded during this run is why it failed, whatever code SQLite gave it
        // (a refused function fails with a plain SQLITE_ERROR).
        if let Some(why) = self.guard.take_refusal() {
            return SqlStop::Failed(Error::Fatal(format!(
                "refused: {why} (a plugin's SQL runs only on its granted database)"
            )));
        }
        let (code, text) = match &e {
            // The extended result code, which a plugin reports as a vendor detail.
            rusqlite::Error::SqliteFailure(f, _) => (
                Some(f.code),
                format!("SQLite error {}: {e}", f.extended_code),
            ),
            _ => (None, e.to_string()),
        };
        SqlStop::Failed(match code {
            Some(ErrorCode::OperationInterrupted) => return SqlStop::Deadline,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                if Instant::now() >= deadline =>
            {
                return SqlStop::Deadline;
            }
            Some(ErrorCode::ConstraintViolation) => Error::Conflict(text),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Transient(text),
            _ if matches!(e, rusqlite::Error::MultipleStatement) => {
                Error::Fatal("refused: more than one statement in one call".into())
            }
            _ => Error::Fatal(text),
        })
    }
}

fn bind(params: &[SqlValue]) -> Vec<SqliteValue> {
    params
        .iter()
        .map(|p| match p {
            SqlValue::Null => SqliteValue::Null,
            SqlValue::Integer(i) => SqliteValue::Integer(*i),
            // Decimals are stored as text so no digit is lost to binary floating point.
            SqlValue::Decimal(d) | SqlValue::Text(d) => SqliteValue::Text(d.clone()),
            SqlValue::Boolean(b) => SqliteValue::Integer(i64::from(*b)),
            SqlValue::Blob(b) => SqliteValue::Blob(b.clone()),
        })
        .collect()
}

fn query(conn: &rusqlite::Connection, s: &Statement, max_rows: usize) -> Result<Rows, Failure> {
    sqlite_guard::check_text(&s.sql).map_err(refusal)?;
    let mut stmt = conn.prepare(&s.sql)?;
    let columns: Vec<String> = stmt.column_names().map(String::from).collect();
    let width = columns.len();
    let mut rows = stmt.query(rusqlite::params_from_iter(bind(&s.params)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() == max_rows {
            return Err(Failure::Plugin(Error::Fatal(format!(
                "query returned more than {max_rows} rows; page it"
            ))));
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(read(row.get_ref(i)?));
        }
        out.push(values);
    }
    Ok(Rows { columns, rows: out })
}

fn execute(conn: &rusqlite::Connection, s: &Statement) -> Result<u64, Failure> {
    sqlite_guard::check_text(&s.sql).map_err(refusal)?;
    let n = conn.execute(&s.sql, rusqlite::params_from_iter(bind(&s.params)))?;
    Ok(n as u64)
}

fn refusal(why: String) -> Failure {
    Failure::Plugin(Error::Fatal(format!(
        "refused: {why} (a plugin's SQL runs only on its granted database)"
    )))
}

fn read(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        // A REAL column (money in some schemas): the shortest decimal that round-trips, so
        // 0.1 reads as "0.1", not 0.1000000000000000055511151231257827.
        ValueRef::Real(f) => SqlValue::Decimal(
            Decimal::from_str(&f.to_string())
                .or_else(|_| Decimal::from_scientific(&format!("{f:e}")))
                .map(|d| d.normalize().to_string())
                .unwrap_or_else(|_| f.to_string()),
        ),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}
