//! The `sql` capability: parameterised statements on a named database connection, behind one
//! import whatever the database. Backends: SQLite ([`sqlite`]: the QuoteWerks simulator, tests,
//! small installs) and Microsoft SQL Server ([`mssql`]: where QuoteWerks really keeps its data).
//!
//! **Parameters.** Plugins write `?` for every parameter, in every dialect; the host binds them
//! in order. SQLite takes `?` natively; for SQL Server the host rewrites each `?` that is not
//! inside a string literal, a quoted identifier or a comment to `@P1`, `@P2`, … (what the TDS
//! RPC call expects). Everything else that differs between dialects (`TOP` vs `LIMIT`,
//! `[ident]` vs `"ident"`, functions) is the plugin's to write, after `get-dialect`.
//!
//! **What a plugin may do.** Statements run on the granted database only: SQLite's authorizer
//! ([`sqlite_guard`]) and the T-SQL checks ([`tsql`]) refuse other databases, files, extensions,
//! code execution, writable PRAGMAs and transaction control before anything runs. Every
//! statement, and the wait for the connection, ends at the calling plugin's deadline
//! ([`SqlStop::Deadline`]).

pub mod mssql;
pub mod sqlite;
pub mod sqlite_guard;
pub mod tsql;

use std::time::Instant;

use crate::bindings::sql::{Dialect, Rows, Statement};
use crate::bindings::types::Error;

pub use mssql::SqlServerSettings;
pub use sqlite::SqliteSettings;

use super::ConnectionError;
use crate::grants::Secret;

/// Why a statement did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlStop {
    /// Refused or failed: the plugin gets this error and decides.
    Failed(Error),
    /// The calling plugin's deadline passed while the statement waited or ran: the call ends
    /// as a deadline stop, like a guest that runs too long.
    Deadline,
}

impl From<Error> for SqlStop {
    fn from(e: Error) -> Self {
        SqlStop::Failed(e)
    }
}

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

    /// One statement returning rows, stopped at `deadline`.
    pub async fn query(&self, statement: Statement, deadline: Instant) -> Result<Rows, SqlStop> {
        let r = match &self.backend {
            Backend::Sqlite(b) => b.query(statement, deadline).await,
            Backend::SqlServer(b) => b.query(statement, deadline).await,
        };
        r.map_err(|e| prefix(&self.name, e))
    }

    /// One statement changing rows; returns how many, stopped at `deadline`.
    pub async fn execute(&self, statement: Statement, deadline: Instant) -> Result<u64, SqlStop> {
        let r = match &self.backend {
            Backend::Sqlite(b) => b.execute(statement, deadline).await,
            Backend::SqlServer(b) => b.execute(statement, deadline).await,
        };
        r.map_err(|e| prefix(&self.name, e))
    }

    /// Whether the database answers a `SELECT 1` before `deadline` (`ferry doctor`).
    pub async fn ping(&self, deadline: Instant) -> Result<(), String> {
        let statement = Statement {
            sql: "SELECT 1".into(),
            params: Vec::new(),
        };
        match self.query(statement, deadline).await {
            Ok(_) => Ok(()),
            Err(SqlStop::Deadline) => Err("no answer in time".into()),
            Err(SqlStop::Failed(e)) => Err(ferry_domain::RoleError::from(e).to_string()),
        }
    }

    /// All statements in one transaction: all take effect or none.
    pub async fn transaction(
        &self,
        statements: Vec<Statement>,
        deadline: Instant,
    ) -> Result<Vec<u64>, SqlStop> {
        let r = match &self.backend {
            Backend::Sqlite(b) => b.transaction(statements, deadline).await,
            Backend::SqlServer(b) => b.transaction(statements, deadline).await,
        };
        r.map_err(|e| prefix(&self.name, e))
    }
}

fn prefix(name: &str, stop: SqlStop) -> SqlStop {
    let SqlStop::Failed(e) = stop else {
        return stop;
    };
    SqlStop::Failed(match e {
        Error::Fatal(m) => Error::Fatal(format!("sql '{name}': {m}")),
        Error::Conflict(m) => Error::Conflict(format!("sql '{name}': {m}")),
        Error::Transient(m) => Error::Transient(format!("sql '{name}': {m}")),
        other => other,
    })
}
