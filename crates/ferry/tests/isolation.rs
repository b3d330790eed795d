//! Hostile and careless plugins: loops, memory hogs, escape attempts. Each is stopped or
//! contained, and the host keeps serving everyone else.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use common::*;
use ferry::runtime::bindings::types::Error;
use ferry::runtime::{CallError, Role, Runtime, RuntimeSettings};
use ferry_domain::{Context, Document, Value};

fn empty(kind: &str) -> Document {
    Document {
        kind: kind.into(),
        id: None,
        fields: vec![],
        lines: vec![],
    }
}

fn ctx() -> Context {
    Context {
        tenant: "t".into(),
        settings: vec![],
        ids: vec![],
    }
}

fn outcome(doc: &Document) -> String {
    match doc
        .fields
        .iter()
        .find(|f| f.name == "outcome")
        .map(|f| &f.value)
    {
        Some(Value::Text(s)) => s.clone(),
        other => panic!("no outcome: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_is_stopped_at_its_deadline_while_other_calls_are_served() {
    let rt = Runtime::new(RuntimeSettings {
        call_deadline_ms: 300,
        ..settings()
    })
    .expect("runtime");
    let plugin = Arc::new(load(&rt, "test_transform", Role::Transform));
    let g = Arc::new(grants("t"));

    let spinner = {
        let (rt, plugin, g) = (rt.clone(), plugin.clone(), g.clone());
        tokio::spawn(async move {
            rt.transform(&plugin, g)
                .await
                .expect("instantiate")
                .map("spin", &empty("x"), &ctx())
                .await
        })
    };
    // While it spins, ordinary calls keep completing.
    let served = Arc::new(AtomicUsize::new(0));
    let mut others = Vec::new();
    for _ in 0..4 {
        let (rt, plugin, g, served) = (rt.clone(), plugin.clone(), g.clone(), served.clone());
        others.push(tokio::spawn(async move {
            for _ in 0..25 {
                let out = rt
                    .transform(&plugin, g.clone())
                    .await
                    .expect("instantiate")
                    .map("echo", &empty("q"), &ctx())
                    .await
                    .expect("call")
                    .expect("mapped");
                assert_eq!(out.document.kind, "q");
                served.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }));
    }
    for o in others {
        o.await.expect("task");
    }
    assert_eq!(served.load(Ordering::Relaxed), 100);
    let stopped = spinner.await.expect("task");
    assert_eq!(
        stopped.err(),
        Some(CallError::Deadline { deadline_ms: 300 })
    );
    // The runtime is fine afterwards.
    let again = rt
        .transform(&plugin, g)
        .await
        .expect("instantiate")
        .map("echo", &empty("z"), &ctx())
        .await;
    assert!(matches!(again, Ok(Ok(_))));
}

#[tokio::test]
async fn memory_growth_past_the_cap_traps_that_call_only() {
    let rt = Runtime::new(RuntimeSettings {
        memory_limit_mib: 24,
        ..settings()
    })
    .expect("runtime");
    let plugin = load(&rt, "test_transform", Role::Transform);
    let g = Arc::new(grants("t"));
    let hog = rt
        .transform(&plugin, g.clone())
        .await
        .expect("instantiate")
        .map("hog", &empty("x"), &ctx())
        .await;
    assert_eq!(hog.err(), Some(CallError::MemoryLimit { limit_mib: 24 }));
    let fine = rt
        .transform(&plugin, g)
        .await
        .expect("instantiate")
        .map("echo", &empty("ok"), &ctx())
        .await;
    assert_eq!(fine.expect("call").expect("mapped").document.kind, "ok");
}

#[tokio::test]
async fn a_panicking_plugin_is_reported_with_its_message() {
    let rt = runtime();
    let plugin = load(&rt, "test_transform", Role::Transform);
    let r = rt
        .transform(&plugin, Arc::new(grants("t")))
        .await
        .expect("instantiate")
        .map("panic", &empty("x"), &ctx())
        .await;
    match r {
        Err(CallError::Trap { message }) => {
            assert!(message.contains("panicked on purpose"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plugin_opens_no_file_no_socket_and_sees_no_environment() {
    // A real listener the plugin will try to reach directly.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let target = listener.local_addr().expect("addr").to_string();

    let rt = runtime();
    let plugin = load(&rt, "test_transform", Role::Transform);
    let mut g = grants("t");
    g.settings.insert("socket-target".into(), target);
    let g = Arc::new(g);
    let call = |kind: &'static str| {
        let (rt, g) = (rt.clone(), g.clone());
        let plugin = &plugin;
        async move {
            rt.transform(plugin, g)
                .await
                .expect("instantiate")
                .map(kind, &empty("x"), &ctx())
                .await
                .expect("call")
                .expect("mapped")
                .document
        }
    };

    let file = outcome(&call("read-file").await);
    assert!(file.starts_with("refused"), "{file}");
    let socket = outcome(&call("open-socket").await);
    assert!(socket.starts_with("refused"), "{socket}");
    assert!(
        listener.accept().is_err(),
        "the plugin's connection must never arrive"
    );

    let env = call("env").await;
    assert_eq!(
        env.fields[0].value,
        Value::Integer(0),
        "no environment variables leak in"
    );
}

#[tokio::test]
async fn http_reaches_only_the_connections_base_and_never_sets_credentials() {
    let seen = Seen::default();
    let inside = {
        let seen = seen.clone();
        serve(axum::Router::new().route(
            "/m3/items/{id}",
            get(
                move |axum::extract::Path(id): axum::extract::Path<String>| {
                    let seen = seen.clone();
                    async move {
                        seen.record("GET", &id, None);
                        axum::Json(serde_json::json!({"ITNO": id}))
                    }
                },
            ),
        ))
        .await
    };
    let outside_seen = Seen::default();
    let outside = {
        let seen = outside_seen.clone();
        serve(axum::Router::new().fallback(move || {
            let seen = seen.clone();
            async move {
                seen.record("ANY", "outside", None);
                "leaked"
            }
        }))
        .await
    };

    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    let mut g = grants("acme");
    g.http.insert(
        "erp".into(),
        http_connection("acme", "erp", &format!("http://{inside}/m3/")),
    );
    let g = Arc::new(g);
    let get_item = |id: String| {
        let (rt, g) = (rt.clone(), g.clone());
        let plugin = &plugin;
        async move {
            let mut call = rt.erp(plugin, g).await.expect("instantiate");
            let (erp, store) = call.parts();
            let r = erp.ferry_erp_erp().call_get_item(store, &id).await;
            call.finish(r).expect("call")
        }
    };

    assert!(get_item("A1".into()).await.is_ok());
    let escapes = [
        format!("path:http://{outside}/x"),
        format!("path://{outside}/x"),
        "path:../../x".to_string(),
        "path:items/%2e%2e/%2e%2e/x".to_string(),
        "path:items\\..\\x".to_string(),
        "header:Authorization".to_string(),
        "header:Host".to_string(),
        "header:Cookie".to_string(),
    ];
    for id in escapes {
        match get_item(id.clone()).await {
            Err(Error::Fatal(m)) => assert!(m.contains("refused"), "{id}: {m}"),
            other => panic!("{id}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(outside_seen.count(), 0, "nothing reached the other host");
    assert_eq!(
        seen.count(),
        1,
        "refused requests were never sent: {:?}",
        seen.all()
    );
}

#[tokio::test]
async fn one_tenants_plugin_cannot_use_another_tenants_connection() {
    let seen = Seen::default();
    let addr = {
        let seen = seen.clone();
        serve(axum::Router::new().fallback(move || {
            let seen = seen.clone();
            async move {
                seen.record("ANY", "b", None);
                "{}"
            }
        }))
        .await
    };
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    // Tenant b owns "erp-b"; tenant a owns "erp". Same plugin, different grants.
    let mut a = grants("a");
    a.http.insert(
        "erp".into(),
        http_connection("a", "erp", "http://127.0.0.1:9/a/"),
    );
    let mut b = grants("b");
    b.http.insert(
        "erp-b".into(),
        http_connection("b", "erp-b", &format!("http://{addr}/b/")),
    );

    let mut call = rt.erp(&plugin, Arc::new(a)).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp
        .ferry_erp_erp()
        .call_get_item(store, "conn:erp-b/X1")
        .await;
    match call.finish(r).expect("call") {
        Err(Error::Fatal(m)) => assert!(
            m.contains("tenant 'a' has no HTTP connection named 'erp-b'"),
            "{m}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(seen.count(), 0);

    // Tenant b's own call through the same plugin does reach it.
    let mut call = rt.erp(&plugin, Arc::new(b)).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp
        .ferry_erp_erp()
        .call_get_item(store, "conn:erp-b/X1")
        .await;
    assert!(call.finish(r).expect("call").is_ok());
    assert_eq!(seen.count(), 1);
}

#[tokio::test]
async fn oversized_responses_are_refused_not_buffered() {
    let addr = serve(axum::Router::new().fallback(|| async { "x".repeat(300_000) })).await;
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    let mut settings = ferry::runtime::connections::http::HttpSettings::new(
        format!("http://{addr}/").parse().expect("url"),
    );
    settings.max_response_bytes = 100_000;
    let conn = ferry::runtime::connections::http::HttpConnection::new("t", "erp", settings, None)
        .expect("conn");
    let mut g = grants("t");
    g.http.insert("erp".into(), Arc::new(conn));
    let mut call = rt.erp(&plugin, Arc::new(g)).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp.ferry_erp_erp().call_get_item(store, "A1").await;
    match call.finish(r).expect("call") {
        Err(Error::Fatal(m)) => assert!(m.contains("100000-byte limit"), "{m}"),
        other => panic!("expected fatal, got {other:?}"),
    }
}
