//! What only the SQLite backend has: files made by earlier versions keep opening (their
//! orders become links), and a database locked by another process never stalls the async
//! thread that serves sockets.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::{
    Activations, Health, Inbox, JobState, Jobs, Links, NewJob, SqliteStore, Store, StoreError,
    SyncState,
};
use serde_json::json;

const V5: &str = include_str!("fixtures/store-v5.sql");

fn user_version(path: &std::path::Path) -> i64 {
    rusqlite::Connection::open(path)
        .expect("open")
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

#[tokio::test]
async fn a_database_made_before_this_crate_keeps_opening_with_its_orders_as_links() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    rusqlite::Connection::open(&path)
        .expect("create")
        .execute_batch(V5)
        .expect("the old schema and rows");

    let store = SqliteStore::open(&path).await.expect("opens");
    assert_eq!(
        user_version(&path),
        store.schema().to,
        "every migration after 5 applied"
    );
    assert_eq!(store.schema().from, 5);

    // Orders made from quotes are links of kind `order`, state = status last pushed.
    let order = store
        .link("acme", "order", "Q1")
        .await
        .expect("link")
        .expect("migrated");
    assert_eq!(
        (order.remote_id.as_str(), order.state.as_deref()),
        ("1000123", Some("22"))
    );
    let by_number = store
        .links_by_remote("acme", "order", "1000100")
        .await
        .expect("by remote");
    assert_eq!(by_number[0].local_id, "Q0");
    let open: Vec<String> = store
        .open_links("acme", "order", &["90".to_string()])
        .await
        .expect("open")
        .into_iter()
        .map(|l| l.local_id)
        .collect();
    assert_eq!(open, vec!["Q1"]);
    // Older cross-references are plain links.
    let customer = store
        .link("acme", "customer", "K1")
        .await
        .expect("link")
        .expect("kept");
    assert_eq!(
        (customer.remote_id.as_str(), customer.state),
        ("C900", None)
    );
    assert!(
        store
            .link("acme", "order-ref", "Q1")
            .await
            .expect("link")
            .is_some()
    );

    // Jobs, the inbox and the registry are as they were.
    let claimed = store.claim("w", 5, 1_000, 1_000).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.checkpoint, json!({"quote_id": "Q2"}));
    assert!(
        store
            .event("acme", "quotewerks", "e1")
            .await
            .expect("event")
            .is_some()
    );
    assert_eq!(store.active().await.expect("active")[0].digest, "d1");
    assert_eq!(
        store
            .ingest("acme", "quotewerks", "e1", &json!({}), None, 0)
            .await
            .expect("ingest"),
        ferry_store::Ingested::Duplicate,
        "dedup spans the upgrade"
    );

    // Opening again migrates nothing twice.
    drop(store);
    let again = SqliteStore::open(&path).await.expect("reopens");
    assert_eq!(user_version(&path), again.schema().to);
    assert_eq!(
        again
            .jobs(None, Some(JobState::Running))
            .await
            .expect("jobs")
            .len(),
        1
    );
}

#[tokio::test]
async fn two_processes_opening_a_new_file_at_once_both_get_the_full_schema() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    let (a, b) = tokio::join!(SqliteStore::open(&path), SqliteStore::open(&path));
    let (a, b) = (a.expect("a opens"), b.expect("b opens"));
    assert_eq!(user_version(&path), a.schema().to);
    a.set_cursor("acme", "items", "c1").await.expect("a writes");
    assert_eq!(
        b.cursor("acme", "items").await.expect("b reads").as_deref(),
        Some("c1")
    );
}

/// Single-threaded runtime on purpose: if a store call blocked the thread while it waits for
/// another process's lock, nothing else on it could run until the lock was gone.
#[tokio::test(flavor = "current_thread")]
async fn a_locked_database_does_not_stall_the_async_thread() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.expect("open"));

    // Another process (the CLI, another node) holds the write lock.
    let other = rusqlite::Connection::open(&path).expect("open");
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");

    let writer = tokio::spawn({
        // Callers that need one part hold just that part (trait upcasting).
        let store: Arc<dyn Jobs> = store.clone();
        async move {
            let job = NewJob {
                tenant: "acme",
                kind: "quote-to-order",
                key: "Q1",
                checkpoint: json!({}),
            };
            store.enqueue(job, 0).await
        }
    });
    // This thread stays free: the sleep ends (a blocked thread would first sit out the
    // store's 10 s busy timeout, and the write would fail), and the write is still waiting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !writer.is_finished(),
        "the write waits for the lock off this thread"
    );

    other.execute_batch("COMMIT").expect("unlock");
    assert!(writer.await.expect("task").expect("the write went through"));
}

#[tokio::test]
async fn readiness_says_the_database_is_locked_within_its_own_wait() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    let store = SqliteStore::open(&path).await.expect("open");
    store
        .can_write(Duration::from_millis(50))
        .await
        .expect("ready");
    let other = rusqlite::Connection::open(&path).expect("open");
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let ready = store.can_write(Duration::from_millis(50)).await;
    assert!(
        matches!(&ready, Err(StoreError::Backend(m)) if m.contains("locked")),
        "{ready:?}"
    );
    other.execute_batch("COMMIT").expect("unlock");
    store
        .can_write(Duration::from_millis(50))
        .await
        .expect("ready again");
}

#[tokio::test]
async fn a_file_migrated_by_a_newer_binary_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    let known = SqliteStore::open(&path).await.expect("open").schema().to;
    // A newer binary whose migration older binaries would misread: it raised readable_from.
    let newer = rusqlite::Connection::open(&path).expect("open");
    newer
        .pragma_update(None, "user_version", known + 1)
        .expect("a newer binary was here");
    newer
        .execute(
            "UPDATE ferry_schema_compat SET readable_from = ?1",
            [known + 1],
        )
        .expect("readable from its own version");
    let refused = SqliteStore::open(&path).await;
    assert!(
        matches!(&refused, Err(StoreError::SchemaTooNew { backend: "sqlite", found, .. }) if *found == known + 1),
        "{:?}",
        refused.as_ref().err()
    );
    assert_eq!(user_version(&path), known + 1, "left as it was");
}

/// Rolling upgrade: a newer binary added to the schema only (readable_from left where it
/// was), so this binary, restarted mid-rollout, opens the file and works, changing no schema.
#[tokio::test]
async fn a_file_a_newer_binary_only_added_to_opens_untouched_and_works() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.db");
    let known = SqliteStore::open(&path).await.expect("open").schema().to;
    let newer = rusqlite::Connection::open(&path).expect("open");
    newer
        .execute_batch("CREATE TABLE added_by_a_newer_binary (x TEXT)")
        .expect("an added table");
    newer
        .pragma_update(None, "user_version", known + 1)
        .expect("a newer binary was here");
    drop(newer);
    let store = SqliteStore::open(&path).await.expect("opens");
    assert_eq!(store.schema().from, known + 1);
    assert_eq!(store.schema().to, known + 1, "nothing migrated");
    store
        .set_cursor("acme", "stream", "7")
        .await
        .expect("writes");
    assert_eq!(
        store
            .cursor("acme", "stream")
            .await
            .expect("reads")
            .as_deref(),
        Some("7")
    );
    assert_eq!(user_version(&path), known + 1, "left as it was");
}
