//! The SQLite backend of the `sql` capability (the QuoteWerks simulator, tests, small installs).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{Value as SqliteValue, ValueRef};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::default_max_rows;
use crate::runtime::bindings::sql::{Rows, SqlValue, Statement};
use crate::runtime::bindings::types::Error;
use crate::runtime::connections::ConnectionError;

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

pub(crate) struct SqliteBackend {
    name: String,
    max_rows: usize,
    // rusqlite is blocking: statements run on tokio's blocking pool, one at a time per
    // connection (SQLite serialises writers anyway).
    db: Arc<Mutex<rusqlite::Connection>>,
}

impl SqliteBackend {
    pub fn open(name: &str, settings: &SqliteSettings) -> Result<Self, ConnectionError> {
        let conn =
            rusqlite::Connection::open(&settings.path).map_err(|e| ConnectionError::Config {
                connection: name.to_string(),
                message: format!("opening {}: {e}", settings.path.display()),
            })?;
        conn.busy_timeout(Duration::from_millis(settings.busy_timeout_ms))
            .map_err(|e| ConnectionError::Config {
                connection: name.to_string(),
                message: e.to_string(),
            })?;
        Ok(Self {
            name: name.to_string(),
            max_rows: settings.max_rows,
            db: Arc::new(Mutex::new(conn)),
        })
    }

    pub async fn query(&self, statement: Statement) -> Result<Rows, Error> {
        let max_rows = self.max_rows;
        self.blocking(move |conn| query(conn, &statement, max_rows))
            .await
    }

    pub async fn execute(&self, statement: Statement) -> Result<u64, Error> {
        self.blocking(move |conn| execute(conn, &statement)).await
    }

    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>, Error> {
        self.blocking(move |conn| {
            let tx = conn.transaction().map_err(classify)?;
            let mut counts = Vec::with_capacity(statements.len());
            for s in &statements {
                counts.push(execute(&tx, s)?);
            }
            tx.commit().map_err(classify)?;
            Ok(counts)
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let db = self.db.clone();
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db
                .lock()
                .map_err(|_| Error::Fatal(format!("connection '{name}' is poisoned")))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| Error::Fatal(format!("sql task failed: {e}")))?
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

fn query(conn: &rusqlite::Connection, s: &Statement, max_rows: usize) -> Result<Rows, Error> {
    let mut stmt = conn.prepare(&s.sql).map_err(classify)?;
    let columns: Vec<String> = stmt.column_names().map(String::from).collect();
    let width = columns.len();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(bind(&s.params)))
        .map_err(classify)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(classify)? {
        if out.len() == max_rows {
            return Err(Error::Fatal(format!(
                "query returned more than {max_rows} rows; page it"
            )));
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(read(row.get_ref(i).map_err(classify)?));
        }
        out.push(values);
    }
    Ok(Rows { columns, rows: out })
}

fn execute(conn: &rusqlite::Connection, s: &Statement) -> Result<u64, Error> {
    let n = conn
        .execute(&s.sql, rusqlite::params_from_iter(bind(&s.params)))
        .map_err(classify)?;
    Ok(n as u64)
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

fn classify(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => Error::Conflict(e.to_string()),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::Transient(e.to_string()),
            _ => Error::Fatal(e.to_string()),
        },
        _ => Error::Fatal(e.to_string()),
    }
}
