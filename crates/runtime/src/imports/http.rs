//! `ferry:host/http`: requests go out only on the tenant's named connections, and each is
//! bounded by what is left of the calling plugin's deadline: a slow upstream stops the call as
//! a deadline stop, just like a loop in guest code. While the request is out the call gives its
//! tenant's turn back (guest code isn't running), and takes it again before returning.

use std::time::Instant;

use ferry_domain::journal::Exchange;

use crate::bindings::http::{Host, Request, Response};
use crate::bindings::types::Error;
use crate::state::PluginState;

impl Host for PluginState {
    async fn send(
        &mut self,
        connection: String,
        request: Request,
    ) -> wasmtime::Result<Result<Response, Error>> {
        self.bounded_send(connection, request, false).await
    }

    async fn send_idempotent(
        &mut self,
        connection: String,
        request: Request,
    ) -> wasmtime::Result<Result<Response, Error>> {
        self.bounded_send(connection, request, true).await
    }
}

impl PluginState {
    /// `idempotent`: the plugin says the request is safe to repeat (the host may resend it
    /// after a 429/503); otherwise only a request that never connected is resent.
    async fn bounded_send(
        &mut self,
        connection: String,
        request: Request,
        idempotent: bool,
    ) -> wasmtime::Result<Result<Response, Error>> {
        let Some(conn) = self.grants.http.get(&connection).cloned() else {
            return Ok(Err(Error::Fatal(format!(
                "tenant '{}' has no HTTP connection named '{connection}'",
                self.grants.tenant
            ))));
        };
        let taped = || crate::tape::TapedRequest::http(&connection, &request);
        if let Some(answer) = self.replayed(taped) {
            // A shadow's request: answered from the live call's exchanges, never sent.
            return Ok(match answer {
                Ok(crate::tape::Answer::Http(answer)) => answer,
                Ok(_) => Err(Error::Fatal("shadow run: not an HTTP answer".into())),
                Err(e) => Err(e),
            });
        }
        let taped = self.taping(taped);
        // Taken before the request goes (masked and cut), only when a run's journal asked.
        let mut exchange = self.exchanges.is_some().then(|| {
            let method = crate::connections::http::verb(&request.method);
            Exchange::request(
                &connection,
                method.as_str(),
                &request.path,
                &request.headers,
                request.body.as_deref(),
            )
        });
        let started = Instant::now();
        let sending = async {
            if idempotent {
                conn.send_idempotent(request).await
            } else {
                conn.send(request).await
            }
        };
        let left = self.remaining();
        let sent = self.off_turn(tokio::time::timeout(left, sending)).await;
        if let Some(mut exchange) = exchange.take() {
            match &sent {
                Ok(Ok(Ok(response))) => exchange.answered(response.status, &response.body),
                Ok(Ok(Err(e))) => exchange.failed(&format!("{e:?}")),
                Ok(Err(_)) | Err(_) => exchange.failed("stopped: the call's deadline passed"),
            }
            exchange.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.keep_exchange(exchange);
        }
        if let (Some((tape, request)), Ok(Ok(answer))) = (taped, &sent) {
            tape.keep(request, crate::tape::Answer::Http(answer.clone()));
        }
        match sent? {
            Ok(response) => Ok(response),
            // Past the deadline waiting on upstream: the same stop as guest code running too
            // long (`classify` reports it as a deadline stop).
            Err(_elapsed) => Err(wasmtime::Trap::Interrupt.into()),
        }
    }
}
