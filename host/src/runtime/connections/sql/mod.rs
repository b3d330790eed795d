//! The `sql` capability: parameterised statements on a named database connection, behind one
//! import whatever the database. Backends: SQLite ([`sqlite`]: the QuoteWerks simulator, tests,
//! small installs) and Microsoft SQL Server ([`mssql`]: where QuoteWerks really keeps its data).
//!
//! **Parameters.** Plugins write `?` for every parameter, in every dialect; the host binds them
//! in order. SQLite takes `?` natively; for SQL Server the host rewrites each `?` that is not
//! inside a string literal, a quoted identifier or a comment to `@P1`, `@P2`, … (what the TDS
//! RPC call expects). Everything else that differs between dialects (`TOP` vs `LIMIT`,
//! `[ident]` vs `"ident"`, functions) is the plugin's to write, after `get-dialect`.

pub mod mssql;
pub mod sqlite;

use crate::runtime::bindings::sql::{Dialect, Rows, Statement};
use crate::runtime::bindings::types::Error;

pub use mssql::SqlServerSettings;
pub use sqlite::SqliteSettings;

use super::ConnectionError;
use crate::runtime::grants::Secret;

/// The default cap on rows one query may return: page beyond it.
pub(crate) fn default_max_rows() -> usize {
    10_000
}

enum Backend {
    Sqlite(sqlite::SqliteBackend),
    // Boxed: tiberius' config is large next to SQLite's handle.
    SqlServer(Box<mssql::SqlServerBackend>),
}

pub struct SqlConnection {
    name: String,
    backend: Backend,
}

impl SqlConnection {
    pub fn sqlite(name: &str, settings: &SqliteSettings) -> Result<Self, ConnectionError> {
        Ok(Self {
            name: name.to_string(),
            backend: Backend::Sqlite(sqlite::SqliteBackend::open(name, settings)?),
        })
    }

    /// A SQL Server connection from an ADO.NET connection string (held as a secret). Nothing is
    /// dialled until the first statement.
    pub fn sql_server(
        name: &str,
        settings: &SqlServerSettings,
        connection_string: Secret,
    ) -> Result<Self, ConnectionError> {
        Ok(Self {
            name: name.to_string(),
            backend: Backend::SqlServer(Box::new(mssql::SqlServerBackend::new(
                name,
                settings,
                connection_string,
            )?)),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dialect(&self) -> Dialect {
        match &self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::SqlServer(_) => Dialect::SqlServer,
        }
    }

    pub async fn query(&self, statement: Statement) -> Result<Rows, Error> {
        let r = match &self.backend {
            Backend::Sqlite(b) => b.query(statement).await,
            Backend::SqlServer(b) => b.query(statement).await,
        };
        r.map_err(|e| prefix(&self.name, e))
    }

    pub async fn execute(&self, statement: Statement) -> Result<u64, Error> {
        let r = match &self.backend {
            Backend::Sqlite(b) => b.execute(statement).await,
            Backend::SqlServer(b) => b.execute(statement).await,
        };
        r.map_err(|e| prefix(&self.name, e))
    }

    /// All statements in one transaction: all take effect or none.
    pub async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>, Error> {
        let r = match &self.backend {
            Backend::Sqlite(b) => b.transaction(statements).await,
            Backend::SqlServer(b) => b.transaction(statements).await,
        };
        r.map_err(|e| prefix(&self.name, e))
    }
}

fn prefix(name: &str, e: Error) -> Error {
    match e {
        Error::Fatal(m) => Error::Fatal(format!("sql '{name}': {m}")),
        Error::Conflict(m) => Error::Conflict(format!("sql '{name}': {m}")),
        Error::Transient(m) => Error::Transient(format!("sql '{name}': {m}")),
        other => other,
    }
}
