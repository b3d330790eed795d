//! `ferry:plugin/http`: requests go out only on the tenant's named connections.

use crate::runtime::bindings::http::{Host, Request, Response};
use crate::runtime::bindings::types::Error;
use crate::runtime::state::PluginState;

impl Host for PluginState {
    async fn send(&mut self, connection: String, request: Request) -> Result<Response, Error> {
        let Some(conn) = self.grants.http.get(&connection).cloned() else {
            return Err(Error::Fatal(format!(
                "tenant '{}' has no HTTP connection named '{connection}'",
                self.grants.tenant
            )));
        };
        conn.send(request).await
    }
}
