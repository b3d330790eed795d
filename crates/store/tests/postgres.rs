//! What only the PostgreSQL backend has: several nodes (pools) on one database at once —
//! migrations applied exactly once, claims that never hand a job to two nodes — and a
//! database migrated by a newer binary refused with the reason. On the throwaway cluster
//! `ferry_store::testing::pg` starts.

use std::collections::HashSet;
use std::sync::Arc;

use ferry_store::testing::pg::PgCluster;
use ferry_store::{Jobs, NewJob, Outcome, PgStore, StoreError, SyncState};
use serde_json::json;

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_opening_a_new_database_at_once_migrate_it_exactly_once() {
    let url = PgCluster::shared().database().await.expect("database");
    let opened = futures_join(&url, 4).await;
    let from: Vec<i64> = opened.iter().map(|s| s.schema().from).collect();
    assert_eq!(
        from.iter().filter(|v| **v == 0).count(),
        1,
        "one node migrated, the others found it done: {from:?}"
    );
    let to = opened[0].schema().to;
    assert!(opened.iter().all(|s| s.schema().to == to));
    opened[0]
        .set_cursor("acme", "items", "c1")
        .await
        .expect("write");
    assert_eq!(
        opened[3]
            .cursor("acme", "items")
            .await
            .expect("read")
            .as_deref(),
        Some("c1")
    );
    let version: i64 = connect(&url)
        .await
        .query_one("SELECT version FROM ferry_schema", &[])
        .await
        .expect("version row")
        .get(0);
    assert_eq!(version, to);
}

async fn futures_join(url: &str, n: usize) -> Vec<PgStore> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let url = url.to_string();
            tokio::spawn(async move { PgStore::open(&url).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task").expect("opens"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_by_a_newer_binary_is_refused_untouched() {
    let url = PgCluster::shared().database().await.expect("database");
    let store = PgStore::open(&url).await.expect("opens");
    let known = store.schema().to;
    drop(store);
    let admin = connect(&url).await;
    admin
        .execute(
            "UPDATE ferry_schema SET version = $1, readable_from = $1",
            &[&(known + 1)],
        )
        .await
        .expect("a newer binary whose schema older binaries would misread was here");
    let refused = PgStore::open(&url).await;
    let Err(err) = refused else {
        panic!("a newer database was opened");
    };
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, known: k, .. } if found == known + 1 && k == known),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("newer than this binary") && message.contains("postgres"),
        "{message}"
    );
    let version: i64 = admin
        .query_one("SELECT version FROM ferry_schema", &[])
        .await
        .expect("version")
        .get(0);
    assert_eq!(version, known + 1, "left as it was");
}

/// Rolling upgrade: a newer binary added to the schema only (readable_from left where it
/// was), so this binary, restarted mid-rollout, opens the database and works, changing no
/// schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_a_newer_binary_only_added_to_opens_untouched_and_works() {
    let url = PgCluster::shared().database().await.expect("database");
    let known = PgStore::open(&url).await.expect("opens").schema().to;
    let admin = connect(&url).await;
    let readable_from: Option<i64> = admin
        .query_one("SELECT readable_from FROM ferry_schema", &[])
        .await
        .expect("readable_from")
        .get(0);
    assert!(
        readable_from.is_some_and(|r| r <= known),
        "{readable_from:?}"
    );
    admin
        .batch_execute("CREATE TABLE added_by_a_newer_binary (x TEXT)")
        .await
        .expect("an added table");
    admin
        .execute("UPDATE ferry_schema SET version = $1", &[&(known + 1)])
        .await
        .expect("a newer binary was here");
    let store = PgStore::open(&url).await.expect("opens");
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
    let row = admin
        .query_one("SELECT version, readable_from FROM ferry_schema", &[])
        .await
        .expect("version");
    assert_eq!(
        (row.get::<_, i64>(0), row.get::<_, Option<i64>>(1)),
        (known + 1, readable_from),
        "left as it was"
    );
}

/// Four nodes' workers claim the same queue at once, round after round: every job is claimed
/// by exactly one of them (SKIP LOCKED lets them pass each other without waiting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_from_several_nodes_never_share_a_job() {
    const JOBS: usize = 60;
    let url = PgCluster::shared().database().await.expect("database");
    let nodes: Vec<Arc<PgStore>> = futures_join(&url, 4)
        .await
        .into_iter()
        .map(Arc::new)
        .collect();
    for i in 0..JOBS {
        let key = format!("Q{i}");
        let job = NewJob {
            tenant: "acme",
            kind: "quote-to-order",
            key: &key,
            checkpoint: json!({}),
        };
        nodes[0].enqueue(job, 0).await.expect("enqueue");
    }
    let workers: Vec<_> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| {
            (0..3).map(move |w| {
                let node = node.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let claims = node
                            .claim(&format!("node{n}-{w}"), 2, 60_000, 1)
                            .await
                            .expect("claim");
                        if claims.is_empty() {
                            return mine;
                        }
                        for c in claims {
                            node.finish(&c, Outcome::Done, 1).await.expect("finish");
                            mine.push(c.job.key);
                        }
                    }
                })
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), JOBS, "each job claimed once: {all:?}");
    assert_eq!(distinct.len(), JOBS);
}

/// Two nodes' jobs race for the same order reference, round after round: exactly one takes it
/// each time (the read and the take are one step across nodes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_racing_for_one_order_reference_never_both_take_it() {
    const ROUNDS: usize = 40;
    let url = PgCluster::shared().database().await.expect("database");
    let nodes = futures_join(&url, 2).await;
    for round in 0..ROUNDS {
        let (a, b) = (format!("A{round}"), format!("B{round}"));
        for key in [&a, &b] {
            let job = NewJob {
                tenant: "acme",
                kind: "quote-to-order",
                key,
                checkpoint: json!({}),
            };
            nodes[0].enqueue(job, 0).await.expect("enqueue");
        }
        let ca = nodes[0]
            .claim("n0-0", 1, 60_000, 1)
            .await
            .expect("claim")
            .pop()
            .expect("a");
        let cb = nodes[1]
            .claim("n1-0", 1, 60_000, 1)
            .await
            .expect("claim")
            .pop()
            .expect("b");
        let reference = format!("PO-{round}");
        let (ta, tb) = tokio::join!(
            nodes[0].lock_reference(&ca, &reference),
            nodes[1].lock_reference(&cb, &reference)
        );
        let (ta, tb) = (ta.expect("lock a"), tb.expect("lock b"));
        assert!(
            ta ^ tb,
            "round {round}: exactly one holder, got a={ta} b={tb}"
        );
        for c in [&ca, &cb] {
            nodes[0].finish(c, Outcome::Done, 2).await.expect("finish");
        }
    }
}

/// `/healthz`'s question: a ping answers while the server is up, and fails, not hangs, once
/// it is gone (the pooled connection is dead and no new one can be made).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_fails_once_the_database_server_is_gone() {
    use ferry_store::Health;
    let cluster = PgCluster::start().expect("a cluster of its own");
    let url = cluster.database().await.expect("database");
    let store = PgStore::open(&url).await.expect("open");
    store.ping().await.expect("the server is up");
    drop(cluster);
    // The server stops in the background after the drop: ask until it is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ping = tokio::time::timeout(std::time::Duration::from_secs(15), store.ping()).await;
        match ping {
            Ok(Err(StoreError::Backend(_))) => break,
            Ok(Ok(())) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => panic!("the ping should fail once the server is gone: {other:?}"),
        }
    }
}

/// Issue 14: M3 limits a tenant, not a node. Two handles (two nodes' pools) drawing from one
/// bucket as fast as they can never get more together than the bucket's burst plus its refill
/// over the time they drew; another key's bucket is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_bucket_is_shared_by_every_node_and_never_gives_more_than_its_refill() {
    use ferry_store::{BucketShape, Buckets};
    let url = PgCluster::shared().database().await.expect("database");
    let shape = BucketShape {
        rate_per_sec: 20.0,
        burst: 5.0,
    };
    let nodes = [
        Arc::new(PgStore::open(&url).await.expect("node a")),
        Arc::new(PgStore::open(&url).await.expect("node b")),
    ];
    let start = std::time::Instant::now();
    let draws: Vec<_> = nodes
        .iter()
        .map(|node| {
            let node = node.clone();
            tokio::spawn(async move {
                let mut got = 0u32;
                for _ in 0..200 {
                    got += node
                        .take_tokens("acme/m3", shape, 1)
                        .await
                        .expect("take")
                        .expect("PostgreSQL shares buckets");
                }
                got
            })
        })
        .collect();
    let mut taken = 0;
    for draw in draws {
        taken += draw.await.expect("task");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let most = shape.burst + shape.rate_per_sec * elapsed;
    assert!(
        f64::from(taken) <= most.ceil(),
        "{taken} tokens in {elapsed:.2} s: more than the burst and the refill ({most:.1})"
    );
    assert!(taken >= 5, "a new bucket starts full: {taken}");
    let other = nodes[0]
        .take_tokens("globex/m3", shape, 5)
        .await
        .expect("take");
    assert_eq!(other, Some(5), "another tenant's bucket is its own");
}
