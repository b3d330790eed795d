//! Shared by the host's integration tests: the built plugin components, a runtime, grants,
//! and a small real HTTP server standing in for a remote system.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ferry::runtime::connections::http::{HttpConnection, HttpSettings};
use ferry::runtime::{Grants, Plugin, Role, Runtime, RuntimeSettings};

/// A component built by `cargo xtask build-plugins` (found where `ferry_layout` says).
pub fn component(name: &str) -> Vec<u8> {
    let path = ferry_layout::component(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Build the plugins first: `cargo xtask test` does it, or `cargo xtask build-plugins`",
            path.display()
        )
    })
}

pub fn settings() -> RuntimeSettings {
    RuntimeSettings {
        call_deadline_ms: 5_000,
        memory_limit_mib: 64,
        max_instances: 64,
        ..RuntimeSettings::default()
    }
}

pub fn runtime() -> Arc<Runtime> {
    Runtime::new(settings()).expect("runtime")
}

pub fn load(runtime: &Runtime, name: &str, role: Role) -> Plugin {
    runtime
        .load(&component(name), Some(role))
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

pub fn grants(tenant: &str) -> Grants {
    Grants::for_tenant(tenant).with_plugin("test", BTreeMap::new())
}

pub fn http_connection(tenant: &str, name: &str, base: &str) -> Arc<HttpConnection> {
    let settings = HttpSettings::new(base.parse().expect("url"));
    Arc::new(HttpConnection::new(tenant, name, settings, None).expect("connection"))
}

/// One request a test server saw: method, path and the Authorization header.
pub type SeenRequest = (String, String, Option<String>);

/// What a test server saw, per request.
#[derive(Clone, Default)]
pub struct Seen(pub Arc<Mutex<Vec<SeenRequest>>>);

impl Seen {
    pub fn record(&self, method: &str, path: &str, auth: Option<String>) {
        self.0
            .lock()
            .expect("lock")
            .push((method.to_string(), path.to_string(), auth));
    }

    pub fn all(&self) -> Vec<SeenRequest> {
        self.0.lock().expect("lock").clone()
    }

    pub fn count(&self) -> usize {
        self.0.lock().expect("lock").len()
    }
}

/// Serves `router` on a free loopback port; returns its address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    addr
}
