//! Issue 14: an activation made through this node (its admin API, shadow promote) is never
//! undone by a background refresh that read the activation list just before it. The store
//! here hands the refresh a list read before the activation, deterministically.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::component;
use ferry::runtime::{Registry, Role, Runtime, RuntimeSettings};
use ferry_store::{Activation, Activations, Install, SqliteStore, StoreError};
use tokio::sync::oneshot;

/// The SQLite store, except that one `active()` call, once armed, reads the list and then
/// waits (telling the test it has read) until the test lets it return that now stale list.
struct Stale {
    inner: SqliteStore,
    hold: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

#[async_trait]
impl Activations for Stale {
    async fn record_install(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<(), StoreError> {
        self.inner.record_install(tenant, role, digest).await
    }
    async fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError> {
        self.inner.installs(tenant).await
    }
    async fn activate(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<Activation, StoreError> {
        self.inner.activate(tenant, role, digest).await
    }
    async fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError> {
        self.inner.rollback(tenant, role).await
    }
    async fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError> {
        self.inner.previous(tenant, role).await
    }
    async fn active(&self) -> Result<Vec<Activation>, StoreError> {
        let list = self.inner.active().await?;
        let hold = self.hold.lock().map_err(|_| StoreError::Poisoned)?.take();
        if let Some((read, release)) = hold {
            let _ = read.send(());
            let _ = release.await;
        }
        Ok(list)
    }
    async fn generation(&self) -> Result<i64, StoreError> {
        self.inner.generation().await
    }
    async fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.put_blob(digest, bytes).await
    }
    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.blob(digest).await
    }
    async fn put_plugin_file(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        self.inner.put_plugin_file(digest, tenant, name, text).await
    }
    async fn plugin_files(
        &self,
        digest: &str,
        tenant: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.plugin_files(digest, tenant).await
    }
}

fn digest(registry: &Registry) -> String {
    registry
        .active("acme", Role::Transform)
        .map(|p| p.digest.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_read_the_list_before_an_activation_does_not_undo_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Stale {
        inner: SqliteStore::open(&dir.path().join("ferry.db"))
            .await
            .expect("store"),
        hold: Mutex::new(None),
    });
    let runtime = Runtime::new(RuntimeSettings {
        cache_dir: Some(dir.path().join("cache")),
        ..common::settings()
    })
    .expect("runtime");
    let registry = Registry::open(runtime, store.clone(), &dir.path().join("plugins"))
        .await
        .expect("registry");
    let v1 = registry
        .install(component("test_transform"), "acme", Role::Transform)
        .await
        .expect("v1");
    let v2 = registry
        .install(component("test_transform_v2"), "acme", Role::Transform)
        .await
        .expect("v2");
    registry
        .activate("acme", Role::Transform, &v1.digest)
        .await
        .expect("activate v1");

    // The background refresh reads the list (v1 active) and is overtaken...
    let (read_tx, read_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    *store.hold.lock().expect("lock") = Some((read_tx, release_rx));
    let refreshing = tokio::spawn({
        let registry = registry.clone();
        async move { registry.refresh().await }
    });
    read_rx.await.expect("the refresh read the list");

    // ...by an activation of v2 on this node, which serves v2 at once.
    registry
        .activate("acme", Role::Transform, &v2.digest)
        .await
        .expect("activate v2");
    assert_eq!(digest(&registry), v2.digest);

    // The refresh finishing with its stale list leaves v2 serving.
    release_tx.send(()).expect("release");
    refreshing.await.expect("task").expect("refresh");
    assert_eq!(digest(&registry), v2.digest, "the stale list put v1 back");
    registry.refresh().await.expect("refresh");
    assert_eq!(digest(&registry), v2.digest);
}

/// Issue 14: components live in the store, not in one node's data directory. A node that
/// never saw the component file serves another node's activation at its next refresh, with
/// the texts the installing node kept beside it (a package's manifest: its grants).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_a_component_another_node_installed_and_activated() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("ferry.db");
    let runtime = Runtime::new(RuntimeSettings {
        cache_dir: Some(dir.path().join("cache")),
        ..common::settings()
    })
    .expect("runtime");
    let node = |n: &str| {
        let (runtime, db, blobs) = (runtime.clone(), db.clone(), dir.path().join(n));
        async move {
            let store = Arc::new(SqliteStore::open(&db).await.expect("store"));
            Registry::open(runtime, store, &blobs)
                .await
                .expect("registry")
        }
    };
    let (a, b) = (node("a").await, node("b").await);
    let installed = a
        .install(component("test_transform_v2"), "acme", Role::Transform)
        .await
        .expect("install on a");
    a.put_beside(&installed.digest, "acme", "manifest.toml", "name = \"p\"\n")
        .await
        .expect("manifest");
    a.activate("acme", Role::Transform, &installed.digest)
        .await
        .expect("activate on a");
    assert!(
        b.blob(&installed.digest).is_err(),
        "b has no copy of its own yet"
    );

    assert_eq!(b.refresh().await.expect("refresh on b"), 1);
    assert_eq!(digest(&b), installed.digest, "b serves what a activated");
    assert_eq!(
        b.beside(&installed.digest, "acme", "manifest.toml")
            .expect("read")
            .as_deref(),
        Some("name = \"p\"\n"),
        "with the manifest a kept beside it"
    );
    assert_eq!(
        b.blob(&installed.digest).expect("b's copy now"),
        component("test_transform_v2")
    );
}

/// Issue 14, upgrading: a component an older binary installed (and activated) is only in the
/// installing node's data directory, with its manifest beside it. When that node starts on the
/// new binary it puts both in the store, so another node serves it with the same manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_only_on_the_node_that_installed_it_reaches_the_store_when_it_starts() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("ferry.db");
    let runtime = Runtime::new(common::settings()).expect("runtime");
    let node = |n: &str| {
        let (runtime, db, blobs) = (runtime.clone(), db.clone(), dir.path().join(n));
        async move {
            let store = Arc::new(SqliteStore::open(&db).await.expect("store"));
            Registry::open(runtime, store, &blobs)
                .await
                .expect("registry")
        }
    };
    let a = node("a").await;
    let installed = a
        .install(component("test_transform_v2"), "acme", Role::Transform)
        .await
        .expect("install on a");
    a.put_beside(&installed.digest, "acme", "manifest.toml", "name = \"p\"\n")
        .await
        .expect("manifest");
    a.activate("acme", Role::Transform, &installed.digest)
        .await
        .expect("activate on a");
    drop(a);
    // As an older binary left it: the store has the install and the activation, not the bytes.
    let raw = rusqlite::Connection::open(&db).expect("db");
    raw.execute_batch("DELETE FROM plugin_blobs; DELETE FROM plugin_files;")
        .expect("forget");
    assert!(
        node("b").await.active("acme", Role::Transform).is_none(),
        "nothing to serve before node a starts again"
    );

    let _a = node("a").await;
    let c = node("c").await;
    assert_eq!(digest(&c), installed.digest, "c serves what only a had");
    assert_eq!(
        c.beside(&installed.digest, "acme", "manifest.toml")
            .expect("read")
            .as_deref(),
        Some("name = \"p\"\n"),
        "with its manifest"
    );
}
