//! `ferry:plugin/sql`: statements run only on the tenant's named database connections.

use std::sync::Arc;

use crate::runtime::bindings::sql::{Dialect, Host, Rows, Statement};
use crate::runtime::bindings::types::Error;
use crate::runtime::connections::sql::SqlConnection;
use crate::runtime::state::PluginState;

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

impl Host for PluginState {
    async fn get_dialect(&mut self, connection: String) -> Result<Dialect, Error> {
        Ok(self.sql_connection(&connection)?.dialect())
    }

    async fn query(&mut self, connection: String, statement: Statement) -> Result<Rows, Error> {
        self.sql_connection(&connection)?.query(statement).await
    }

    async fn execute(&mut self, connection: String, statement: Statement) -> Result<u64, Error> {
        self.sql_connection(&connection)?.execute(statement).await
    }

    async fn transaction(
        &mut self,
        connection: String,
        statements: Vec<Statement>,
    ) -> Result<Vec<u64>, Error> {
        if statements.len() > MAX_STATEMENTS {
            return Err(Error::Fatal(format!(
                "a transaction may hold at most {MAX_STATEMENTS} statements"
            )));
        }
        self.sql_connection(&connection)?
            .transaction(statements)
            .await
    }
}
