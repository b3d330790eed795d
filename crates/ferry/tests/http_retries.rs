//! The `http` capability resends what never connected, and a read (`send-idempotent`) the
//! server refused before processing (429, 503), within a time budget; everything else, writes
//! answered 503 included, reaches the plugin once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get as get_route;
use common::*;
use ferry::runtime::Role;
use ferry::runtime::bindings::http::{Method, Request};
use ferry::runtime::bindings::types::Error;
use ferry::runtime::connections::http::{HttpConnection, HttpSettings};

#[derive(Clone, Default)]
struct Hits(Arc<AtomicUsize>);

async fn item(State(hits): State<Hits>, Path(id): Path<String>) -> axum::response::Response {
    let n = hits.0.fetch_add(1, Ordering::SeqCst);
    match id.as_str() {
        "flaky" if n < 2 => (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
        "busy" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "slow down",
        )
            .into_response(),
        "broken" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        _ => axum::Json(serde_json::json!({"ITNO": id})).into_response(),
    }
}

async fn call(id: &str, base: &str, budget_ms: u64) -> Result<(), Error> {
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    let mut settings = HttpSettings::new(base.parse().expect("url"));
    settings.retry_budget_ms = budget_ms;
    let mut g = grants("t");
    g.http.insert(
        "erp".into(),
        Arc::new(HttpConnection::new("t", "erp", settings, None).expect("conn")),
    );
    let mut c = rt.erp(&plugin, Arc::new(g)).await.expect("instantiate");
    let (erp, store) = c.parts();
    let r = erp.ferry_erp_erp().call_get_item(store, id).await;
    c.finish(r).expect("call").map(|_| ())
}

fn connection(base: &str, budget_ms: u64) -> HttpConnection {
    let mut settings = HttpSettings::new(base.parse().expect("url"));
    settings.retry_budget_ms = budget_ms;
    HttpConnection::new("t", "erp", settings, None).expect("conn")
}

fn get(path: &str) -> Request {
    Request {
        method: Method::Get,
        path: path.into(),
        headers: Vec::new(),
        body: None,
    }
}

#[tokio::test]
async fn a_read_refused_before_processing_is_resent_anything_else_is_not() {
    let hits = Hits::default();
    let addr = serve(
        axum::Router::new()
            .route("/items/{id}", get_route(item))
            .with_state(hits.clone()),
    )
    .await;
    let base = format!("http://{addr}/");

    // Two 503s, then success: the plugin sees only the success.
    assert!(call("flaky", &base, 3_000).await.is_ok());
    assert_eq!(hits.0.swap(0, Ordering::SeqCst), 3);

    // A 500 may have been processed: sent once, the plugin decides.
    assert!(matches!(
        call("broken", &base, 3_000).await,
        Err(Error::Transient(_))
    ));
    assert_eq!(hits.0.swap(0, Ordering::SeqCst), 1);

    // 429 with Retry-After: 1 s is honoured, but not past the budget; then the plugin gets
    // the rate-limit with its retry-after for the flow to schedule.
    let conn = connection(&base, 1_500);
    let r = conn
        .send_idempotent(get("items/busy"))
        .await
        .expect("answer");
    assert_eq!(r.status, 429);
    assert_eq!(hits.0.swap(0, Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_write_answered_503_is_not_resent_a_gateway_may_have_passed_it_on() {
    let hits = Hits::default();
    let addr = serve(
        axum::Router::new()
            .route("/items/{id}", get_route(item))
            .with_state(hits.clone()),
    )
    .await;
    let conn = connection(&format!("http://{addr}/"), 3_000);
    // M3 writes are GETs too: only the plugin knows; plain `send` is a write.
    let r = conn.send(get("items/flaky")).await.expect("answer");
    assert_eq!(
        r.status, 503,
        "the 503 reaches the plugin, which reads back"
    );
    assert_eq!(hits.0.swap(0, Ordering::SeqCst), 1, "sent exactly once");
    let r = conn.send(get("items/busy")).await.expect("answer");
    assert_eq!(r.status, 429);
    assert_eq!(hits.0.swap(0, Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_refused_is_retried_then_reported_as_transient() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    match call("x", &format!("http://127.0.0.1:{port}/"), 1_000).await {
        Err(Error::Transient(m)) => assert!(m.contains("could not connect"), "{m}"),
        other => panic!("expected transient, got {other:?}"),
    }
}
