//! One call cannot hold others up: guest code yields its thread while it runs, a tenant's calls
//! take turns (and only its own), a call gives its turn back while it waits on the network, and
//! a slow upstream is cut off at the calling plugin's deadline, reported as a deadline stop.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get as get_route;
use common::*;
use ferry::runtime::bindings::quoting::InboundWebhook;
use ferry::runtime::connections::http::{HttpConnection, HttpSettings};
use ferry::runtime::{CallError, Plugin, Role, Runtime, RuntimeSettings};

fn runtime_with(deadline_ms: u64, tenant_concurrency: usize, queue_ms: u64) -> Arc<Runtime> {
    Runtime::new(RuntimeSettings {
        call_deadline_ms: deadline_ms,
        tenant_concurrency,
        tenant_queue_ms: queue_ms,
        ..settings()
    })
    .expect("runtime")
}

/// test-quoting's `parse-webhook` with a body that makes it `behave` (spin, or a plain parse).
async fn webhook(
    rt: &Runtime,
    plugin: &Plugin,
    tenant: &str,
    behave: &str,
) -> Result<(), CallError> {
    let hook = InboundWebhook {
        headers: vec![],
        body: format!(r#"{{"DocID": "7", "behave": "{behave}"}}"#).into_bytes(),
    };
    let mut call = rt.quoting(plugin, Arc::new(grants(tenant))).await?;
    let (q, s) = call.parts();
    let r = q.ferry_quoting_quoting().call_parse_webhook(s, &hook).await;
    call.finish(r).map(|_| ())
}

#[test]
fn a_looping_plugin_does_not_hold_the_thread_it_runs_on() {
    // One thread for everything: before epoch yielding, the loop held it until its deadline and
    // the ticker beside it could not run at all.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    tokio.block_on(async {
        let rt = runtime_with(1_000, 1, 1_000);
        let plugin = load(&rt, "test_quoting", Role::Quoting);
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let outcome = webhook(&rt, &plugin, "a", "spin").await;
        let seen = ticks.load(Ordering::SeqCst);
        ticker.abort();
        assert_eq!(outcome, Err(CallError::Deadline { deadline_ms: 1_000 }));
        // ~100 ticks fit in the second the loop ran; allow for a slow, busy machine.
        assert!(
            seen >= 10,
            "the ticker ran {seen} times while the plugin looped"
        );
    });
}

#[tokio::test]
async fn a_tenants_calls_take_turns_and_other_tenants_do_not_wait_behind_them() {
    let rt = runtime_with(1_500, 1, 200);
    let plugin = Arc::new(load(&rt, "test_quoting", Role::Quoting));
    let (r2, p2) = (rt.clone(), plugin.clone());
    let spinning = tokio::spawn(async move { webhook(&r2, &p2, "a", "spin").await });
    // Let the loop take tenant a's only turn.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        webhook(&rt, &plugin, "a", "none").await,
        Err(CallError::Busy {
            tenant: "a".into(),
            queue_ms: 200
        }),
        "a's second call waits its turn, and no longer than the queue allows"
    );
    assert_eq!(
        webhook(&rt, &plugin, "b", "none").await,
        Ok(()),
        "b has turns of its own"
    );
    assert_eq!(
        spinning.await.expect("join"),
        Err(CallError::Deadline { deadline_ms: 1_500 })
    );
    // The turn came back with the stopped call.
    assert_eq!(webhook(&rt, &plugin, "a", "none").await, Ok(()));
}

/// Answers once `want` requests are in flight together (or after 3 s); records the most seen.
#[derive(Clone, Default)]
struct Together {
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

async fn together(State(t): State<Together>) -> axum::Json<serde_json::Value> {
    let now = t.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    t.most.fetch_max(now, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_secs(3);
    while t.most.load(Ordering::SeqCst) < 2 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    t.in_flight.fetch_sub(1, Ordering::SeqCst);
    axum::Json(serde_json::json!({"ITNO": "x"}))
}

#[tokio::test]
async fn a_call_waiting_on_the_network_gives_its_turn_to_the_tenants_next_call() {
    let seen = Together::default();
    let addr = serve(
        axum::Router::new()
            .route("/items/{id}", get_route(together))
            .with_state(seen.clone()),
    )
    .await;
    let rt = runtime_with(10_000, 1, 10_000);
    let plugin = Arc::new(load(&rt, "test_erp", Role::Erp));
    let mut g = grants("a");
    g.http.insert(
        "erp".into(),
        http_connection("a", "erp", &format!("http://{addr}/")),
    );
    let g = Arc::new(g);
    let calls = (0..2).map(|_| {
        let (rt, plugin, g) = (rt.clone(), plugin.clone(), g.clone());
        tokio::spawn(async move {
            let mut c = rt.erp(&plugin, g).await?;
            let (erp, store) = c.parts();
            let r = erp.ferry_erp_erp().call_get_item(store, "x").await;
            c.finish(r).map(|r| r.is_ok())
        })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.expect("join"), Ok(true));
    }
    assert_eq!(
        seen.most.load(Ordering::SeqCst),
        2,
        "with one turn per tenant, both requests were out at once"
    );
}

#[tokio::test]
async fn a_slow_upstream_is_cut_off_at_the_call_deadline() {
    // Accepts, reads, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let rt = runtime_with(500, 1, 1_000);
    let plugin = load(&rt, "test_erp", Role::Erp);
    let mut settings = HttpSettings::new(format!("http://{addr}/").parse().expect("url"));
    settings.timeout_ms = 20_000;
    let mut g = grants("a");
    g.http.insert(
        "erp".into(),
        Arc::new(HttpConnection::new("a", "erp", settings, None).expect("conn")),
    );
    let started = Instant::now();
    let mut c = rt.erp(&plugin, Arc::new(g)).await.expect("instantiate");
    let (erp, store) = c.parts();
    let r = erp.ferry_erp_erp().call_get_item(store, "slow").await;
    let outcome = c.finish(r);
    let took = started.elapsed();
    assert_eq!(
        outcome.map(|r| r.is_ok()),
        Err(CallError::Deadline { deadline_ms: 500 })
    );
    // Before: the request ran to the connection's own 20 s timeout first.
    assert!(
        took < Duration::from_secs(5),
        "stopped after {took:?}, the deadline was 500 ms"
    );
}
