//! The backends under test, each opened fresh per test, and small shared helpers.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use ferry_store::testing::pg::PgCluster;
use ferry_store::{MemoryStore, NewJob, PgStore, SqliteStore, Store};
use serde_json::json;

type Opening = Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>>;

/// A fresh store, plus a way to open another handle on the same data (as another process or
/// node would: for SQLite a second connection to the file; for memory the same value).
pub struct Fixture {
    store: Arc<dyn Store>,
    another: Box<dyn Fn() -> Opening + Send + Sync>,
    _dir: Option<tempfile::TempDir>,
}

impl Fixture {
    pub async fn another(&self) -> Arc<dyn Store> {
        (self.another)().await
    }
}

impl Deref for Fixture {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

pub async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    let store = Arc::new(SqliteStore::open(&path).await.expect("open"));
    Fixture {
        store,
        another: Box::new(move || {
            let path = path.clone();
            Box::pin(async move {
                Arc::new(SqliteStore::open(&path).await.expect("reopen")) as Arc<dyn Store>
            })
        }),
        _dir: Some(dir),
    }
}

/// A fresh database in the process's throwaway PostgreSQL cluster; another handle is another
/// pool on it (as another node would have).
pub async fn postgres() -> Fixture {
    let url = PgCluster::shared()
        .database()
        .await
        .expect("a fresh database");
    let store = Arc::new(PgStore::open(&url).await.expect("open"));
    Fixture {
        store,
        another: Box::new(move || {
            let url = url.clone();
            Box::pin(async move {
                Arc::new(PgStore::open(&url).await.expect("reopen")) as Arc<dyn Store>
            })
        }),
        _dir: None,
    }
}

pub async fn memory() -> Fixture {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let same = store.clone();
    Fixture {
        store,
        another: Box::new(move || {
            let same = same.clone();
            Box::pin(async move { same })
        }),
        _dir: None,
    }
}

pub const KIND: &str = "quote-to-order";

/// A quote job of tenant `acme`.
pub fn job(key: &str) -> NewJob<'_> {
    NewJob {
        tenant: "acme",
        kind: KIND,
        key,
        checkpoint: json!({ "quote_id": key }),
    }
}
