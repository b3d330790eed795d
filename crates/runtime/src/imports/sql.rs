//! `ferry:host/sql`: statements run only on the tenant's named database connections, and
//! only until the call's deadline: a statement stopped there traps with `Interrupt`, so the call
//! ends as a deadline stop exactly as a guest that ran too long. While a statement waits or
//! runs, the call gives its tenant's turn back (guest code isn't running), as `http` does.

use std::sync::Arc;

use crate::bindings::sql::{Dialect, Host, Rows, Statement};
use crate::bindings::types::Error;
use crate::connections::sql::{SqlConnection, SqlStop};
use crate::state::PluginState;
use crate::tape::{Answer, TapedRequest};

/// Upper bound on statements in one transaction call.
const MAX_STATEMENTS: usize = 1_000;

impl PluginState {
    fn sql_connection(&self, name: &str) -> Result<Arc<SqlConnection>, Error> {
        self.grants.sql.get(name).cloned().ok_or_else(|| {
            Error::Fatal(format!(
                "tenant '{}' has no SQL connection named '{name}'",
                self.grants.tenant
            ))
        })
    }
}

impl PluginState {
    /// Runs a statement off the tenant's turn. A refusal or failure goes back to the plugin; a
    /// deadline stop (or no turn again before the deadline) ends the call.
    async fn run_sql<T>(
        &mut self,
        work: impl Future<Output = Result<T, SqlStop>>,
    ) -> wasmtime::Result<Result<T, Error>> {
        match self.off_turn(work).await? {
            Ok(v) => Ok(Ok(v)),
            Err(SqlStop::Failed(e)) => Ok(Err(e)),
            Err(SqlStop::Deadline) => Err(wasmtime::Trap::Interrupt.into()),
        }
    }
}

fn not_sql() -> Error {
    Error::Fatal("shadow run: the live call's answer to this was not SQL's".into())
}

impl Host for PluginState {
    async fn get_dialect(
        &mut self,
        connection: String,
    ) -> wasmtime::Result<Result<Dialect, Error>> {
        Ok(self.sql_connection(&connection).map(|c| c.dialect()))
    }

    async fn query(
        &mut self,
        connection: String,
        statement: Statement,
    ) -> wasmtime::Result<Result<Rows, Error>> {
        let conn = match self.sql_connection(&connection) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let one = std::slice::from_ref(&statement);
        if let Some(taped) = self.replayed(|| TapedRequest::sql(&connection, "QUERY", one)) {
            return Ok(match taped {
                Ok(Answer::Rows(rows)) => rows,
                Ok(_) => Err(not_sql()),
                Err(e) => Err(e),
            });
        }
        let taping = self.taping(|| TapedRequest::sql(&connection, "QUERY", one));
        let deadline = self.deadline;
        let out = self.run_sql(conn.query(statement, deadline)).await;
        if let (Some((tape, request)), Ok(answer)) = (taping, &out) {
            tape.keep(request, Answer::Rows(answer.clone()));
        }
        out
    }

    async fn execute(
        &mut self,
        connection: String,
        statement: Statement,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let conn = match self.sql_connection(&connection) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let one = std::slice::from_ref(&statement);
        if let Some(taped) = self.replayed(|| TapedRequest::sql(&connection, "EXECUTE", one)) {
            return Ok(match taped {
                Ok(Answer::Count(count)) => count,
                Ok(_) => Err(not_sql()),
                Err(e) => Err(e),
            });
        }
        let taping = self.taping(|| TapedRequest::sql(&connection, "EXECUTE", one));
        let deadline = self.deadline;
        let out = self.run_sql(conn.execute(statement, deadline)).await;
        if let (Some((tape, request)), Ok(answer)) = (taping, &out) {
            tape.keep(request, Answer::Count(answer.clone()));
        }
        out
    }

    async fn transaction(
        &mut self,
        connection: String,
        statements: Vec<Statement>,
    ) -> wasmtime::Result<Result<Vec<u64>, Error>> {
        if statements.len() > MAX_STATEMENTS {
            return Ok(Err(Error::Fatal(format!(
                "a transaction may hold at most {MAX_STATEMENTS} statements"
            ))));
        }
        let conn = match self.sql_connection(&connection) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(taped) =
            self.replayed(|| TapedRequest::sql(&connection, "TRANSACTION", &statements))
        {
            return Ok(match taped {
                Ok(Answer::Counts(counts)) => counts,
                Ok(_) => Err(not_sql()),
                Err(e) => Err(e),
            });
        }
        let taping = self.taping(|| TapedRequest::sql(&connection, "TRANSACTION", &statements));
        let deadline = self.deadline;
        let out = self.run_sql(conn.transaction(statements, deadline)).await;
        if let (Some((tape, request)), Ok(answer)) = (taping, &out) {
            tape.keep(request, Answer::Counts(answer.clone()));
        }
        out
    }
}
