//! The plugin registry: content-addressed installs, activation that refuses incompatible
//! plugins, hot swap under load with no call lost, rollback, and the compile cache.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use ferry::runtime::{LoadedFrom, Registry, RegistryError, Role, Runtime, RuntimeSettings};
use ferry_domain::{Context, Document, Value};
use ferry_store::SqliteStore;

async fn open(dir: &std::path::Path) -> Arc<Registry> {
    let rt = Runtime::new(RuntimeSettings {
        cache_dir: Some(dir.join("cache")),
        ..settings()
    })
    .expect("runtime");
    let store = Arc::new(
        SqliteStore::open(&dir.join("ferry.db"))
            .await
            .expect("store"),
    );
    Registry::open(rt, store, &dir.join("plugins"))
        .await
        .expect("registry")
}

async fn version_of(registry: &Registry, tenant: &str) -> String {
    let plugin = registry
        .active(tenant, Role::Transform)
        .expect("active plugin");
    let doc = Document {
        kind: "q".into(),
        id: None,
        fields: vec![],
        lines: vec![],
    };
    let ctx = Context {
        tenant: tenant.into(),
        settings: vec![],
        ids: vec![],
    };
    let out = registry
        .runtime()
        .transform(&plugin, Arc::new(grants(tenant)))
        .await
        .expect("instantiate")
        .map("echo", &doc, &ctx)
        .await
        .expect("call")
        .expect("mapped");
    match &out.document.fields[0].value {
        Value::Text(s) => s.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn incompatible_components_are_refused_before_activation() {
    let dir = tempfile::tempdir().expect("tmp");
    let registry = open(dir.path()).await;
    let v1 = registry
        .install(component("test_transform"), "acme", Role::Transform)
        .await
        .expect("install");
    registry
        .activate("acme", Role::Transform, &v1.digest[..10])
        .await
        .expect("activate");

    // A different major version of the contract, importing something the host lacks.
    let err = registry
        .install(component("future_transform"), "acme", Role::Transform)
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(msg.contains("ferry:transform@2.0.0"), "{msg}");
    assert!(
        msg.contains("incompatible with this host's ferry:transform@1.1.0"),
        "{msg}"
    );
    assert!(msg.contains("imports ferry:transform/kv@2.0.0"), "{msg}");

    // The wrong world for the role.
    let err = registry
        .install(component("test_erp"), "acme", Role::Transform)
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains(
            "role transform needs world ferry:transform/plugin (export ferry:transform/transform@1.1.0)"
        ),
        "{msg}"
    );
    assert!(msg.contains("implements world ferry:erp/plugin"), "{msg}");
    assert!(
        msg.contains(
            "imports ferry:host/http@1.1.0, which world ferry:transform/plugin is not granted"
        ),
        "{msg}"
    );

    // A core module or garbage is not a component.
    let err = registry
        .install(b"\0asm\x01\0\0\0".to_vec(), "acme", Role::Transform)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("expected a component"), "{err}");
    let err = registry
        .install(b"not wasm at all".to_vec(), "acme", Role::Transform)
        .await
        .expect_err("refused");
    assert!(matches!(err, RegistryError::Load(_)), "{err}");

    // Nothing refused was recorded, and the good plugin still serves.
    let listed = registry.list(Some("acme")).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].active);
    assert_eq!(version_of(&registry, "acme").await, "test-transform v1");
    // An unknown digest can't be activated.
    assert!(matches!(
        registry.activate("acme", Role::Transform, "deadbeef").await,
        Err(RegistryError::UnknownDigest(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_concurrent_calls_loses_nothing_and_rollback_restores() {
    let dir = tempfile::tempdir().expect("tmp");
    let registry = open(dir.path()).await;
    let v1 = registry
        .install(component("test_transform"), "acme", Role::Transform)
        .await
        .expect("v1");
    let v2 = registry
        .install(component("test_transform_v2"), "acme", Role::Transform)
        .await
        .expect("v2");
    assert_ne!(v1.digest, v2.digest);
    registry
        .activate("acme", Role::Transform, &v1.digest)
        .await
        .expect("activate v1");

    let stop = Arc::new(AtomicBool::new(false));
    let swapped = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let completed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let (registry, stop, swapped, started, completed) = (
            registry.clone(),
            stop.clone(),
            swapped.clone(),
            started.clone(),
            completed.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut after_swap_versions = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let swap_done_before = swapped.load(Ordering::SeqCst);
                started.fetch_add(1, Ordering::SeqCst);
                let version = version_of(&registry, "acme").await;
                completed.fetch_add(1, Ordering::SeqCst);
                if swap_done_before {
                    after_swap_versions.push(version);
                }
            }
            after_swap_versions
        }));
    }
    // Let traffic flow, swap, let it flow again.
    while completed.load(Ordering::SeqCst) < 50 {
        tokio::task::yield_now().await;
    }
    registry
        .activate("acme", Role::Transform, &v2.digest)
        .await
        .expect("activate v2");
    swapped.store(true, Ordering::SeqCst);
    let at_swap = completed.load(Ordering::SeqCst);
    while completed.load(Ordering::SeqCst) < at_swap + 50 {
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut after = Vec::new();
    for w in workers {
        after.extend(w.await.expect("worker"));
    }
    assert_eq!(
        started.load(Ordering::SeqCst),
        completed.load(Ordering::SeqCst),
        "no call lost"
    );
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|v| v == "test-transform v2"),
        "calls started after activation run the new version"
    );

    // Rollback restores v1, persistently.
    let restored = registry
        .rollback("acme", Role::Transform)
        .await
        .expect("rollback");
    assert_eq!(restored.digest, v1.digest);
    assert_eq!(version_of(&registry, "acme").await, "test-transform v1");
    let reopened = open(dir.path()).await;
    assert_eq!(version_of(&reopened, "acme").await, "test-transform v1");
    // Nothing earlier than v1: a second rollback is refused and changes nothing.
    assert!(registry.rollback("acme", Role::Transform).await.is_err());
    assert_eq!(version_of(&registry, "acme").await, "test-transform v1");
}

#[tokio::test]
async fn activations_made_by_another_process_are_picked_up_by_refresh() {
    let dir = tempfile::tempdir().expect("tmp");
    let serving = open(dir.path()).await;
    // The CLI (or another node) opens the same data directory and activates.
    let cli = open(dir.path()).await;
    let v1 = cli
        .install(component("test_transform"), "acme", Role::Transform)
        .await
        .expect("v1");
    cli.activate("acme", Role::Transform, &v1.digest)
        .await
        .expect("activate");
    assert!(serving.active("acme", Role::Transform).is_none());
    assert_eq!(serving.refresh().await.expect("refresh"), 1);
    assert_eq!(version_of(&serving, "acme").await, "test-transform v1");
    assert_eq!(
        serving.refresh().await.expect("refresh"),
        0,
        "no change, no reload"
    );
    // Tenants are separate: another tenant has nothing active.
    assert!(serving.active("globex", Role::Transform).is_none());
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().expect("tmp");
    let settings = RuntimeSettings {
        cache_dir: Some(dir.path().join("cache")),
        ..settings()
    };
    let first = Runtime::new(settings.clone()).expect("runtime");
    let bytes = component("test_transform");
    assert_eq!(
        first.load(&bytes, None).expect("load").loaded_from,
        LoadedFrom::Compiled
    );
    // A new runtime (a restart) loads it from the cache, and it runs.
    let second = Runtime::new(settings).expect("runtime");
    let plugin = second.load(&bytes, None).expect("load");
    assert_eq!(plugin.loaded_from, LoadedFrom::DiskCache);
    let doc = Document {
        kind: "q".into(),
        id: None,
        fields: vec![],
        lines: vec![],
    };
    let ctx = Context {
        tenant: "t".into(),
        settings: vec![],
        ids: vec![],
    };
    let out = second
        .transform(
            &plugin,
            Arc::new(grants("t").with_plugin("x", BTreeMap::new())),
        )
        .await
        .expect("instantiate")
        .map("echo", &doc, &ctx)
        .await
        .expect("call");
    assert!(out.is_ok());
    // A corrupt cache entry is ignored and rebuilt, not trusted. (Replaced, not overwritten
    // in place: the live runtime above has the old file mapped, as a real one would.)
    for entry in std::fs::read_dir(dir.path().join("cache")).expect("dir") {
        let path = entry.expect("entry").path();
        let tmp = path.with_extension("corrupt");
        std::fs::write(&tmp, b"garbage").expect("corrupt");
        std::fs::rename(&tmp, &path).expect("replace");
    }
    let third = Runtime::new(RuntimeSettings {
        cache_dir: Some(dir.path().join("cache")),
        ..common::settings()
    })
    .expect("runtime");
    assert_eq!(
        third.load(&bytes, None).expect("load").loaded_from,
        LoadedFrom::Compiled
    );
}

#[tokio::test]
async fn a_node_without_the_active_component_starts_and_serves_it_once_installed() {
    // Two nodes on one store, each with its own component folder: node A activates a
    // component node B has never installed. B serves it from the store at start.
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("ferry.db");
    let store = Arc::new(SqliteStore::open(&db).await.expect("store"));
    let node = |name: &str| {
        let rt = Runtime::new(settings()).expect("runtime");
        let blobs = dir.path().join(name);
        let store = store.clone();
        async move { Registry::open(rt, store, &blobs).await }
    };
    let a = node("a").await.expect("node a");
    let v1 = a
        .install(component("test_transform"), "acme", Role::Transform)
        .await
        .expect("install");
    a.activate("acme", Role::Transform, &v1.digest)
        .await
        .expect("activate");
    let b = node("b").await.expect("node b");
    assert_eq!(
        b.active("acme", Role::Transform).map(|p| p.digest.clone()),
        Some(v1.digest.clone()),
        "a node serves from the store what another node activated"
    );

    // An activation made before the store kept components: the bytes are only on node A.
    // Node C starts anyway, without it, and serves it once it is installed there.
    rusqlite::Connection::open(&db)
        .expect("open db")
        .execute("DELETE FROM plugin_blobs", [])
        .expect("forget the stored components");
    let c = node("c")
        .await
        .expect("node c starts without the component");
    assert!(c.active("acme", Role::Transform).is_none());
    c.install(component("test_transform"), "acme", Role::Transform)
        .await
        .expect("install on c");
    c.refresh().await.expect("refresh");
    assert_eq!(
        c.active("acme", Role::Transform).map(|p| p.digest.clone()),
        Some(v1.digest)
    );
}
