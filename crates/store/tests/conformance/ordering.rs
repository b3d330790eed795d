//! Ordering keys: one entity's jobs run one at a time, in the order they were queued, across
//! handles (nodes); other keys, other tenants and jobs without a key are not held back.

use std::sync::{Arc, Mutex};

use ferry_store::{Claim, Ingested, JobState, NewJob, Outcome, Release, Store};
use serde_json::json;

use crate::common::Fixture;

const KIND: &str = "customer-sync";

fn update(tenant: &'static str, key: &'static str) -> NewJob<'static> {
    NewJob {
        tenant,
        kind: KIND,
        key,
        checkpoint: json!({ "bod": key }),
    }
}

/// Queues `key` (deduplicated by the same id) with `ordering`.
async fn queue(s: &dyn Store, tenant: &'static str, key: &'static str, ordering: &str) {
    let ev = json!({ "bod": key });
    let got = s
        .ingest_ordered(tenant, "erp", key, &ev, update(tenant, key), ordering, 0)
        .await
        .expect("ingest");
    assert_eq!(got, Ingested::Queued, "{key}");
}

fn keys(claims: &[Claim]) -> Vec<String> {
    let mut k: Vec<String> = claims.iter().map(|c| c.job.key.clone()).collect();
    k.sort();
    k
}

pub async fn one_keys_jobs_run_one_at_a_time_in_queue_order_under_concurrent_claimers(s: &Fixture) {
    let order = ["b1", "b2", "b3", "b4", "b5", "b6"];
    for key in order {
        queue(&**s, "acme", key, "customer:C1").await;
    }
    // A redelivered BOD queues nothing more.
    let ev = json!({ "bod": "b1" });
    assert_eq!(
        s.ingest_ordered(
            "acme",
            "erp",
            "b1",
            &ev,
            update("acme", "b1"),
            "customer:C1",
            0
        )
        .await
        .expect("ingest"),
        Ingested::Duplicate
    );
    let ran: Arc<Mutex<Vec<String>>> = Arc::default();
    let running: Arc<Mutex<u32>> = Arc::default();
    let mut workers = Vec::new();
    for n in 0..4 {
        // Each worker its own handle, as nodes have.
        let store = s.another().await;
        let (ran, running) = (ran.clone(), running.clone());
        workers.push(tokio::spawn(async move {
            let worker = format!("node-{n}-0");
            for _ in 0..2_000 {
                if ran.lock().expect("lock").len() == 6 {
                    return;
                }
                let claims = store.claim(&worker, 3, 60_000, 0).await.expect("claim");
                if claims.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    continue;
                }
                assert_eq!(
                    claims.len(),
                    1,
                    "one job of the key at a time: {:?}",
                    keys(&claims)
                );
                let claim = &claims[0];
                {
                    let mut r = running.lock().expect("lock");
                    assert_eq!(*r, 0, "{} claimed while another ran", claim.job.key);
                    *r += 1;
                }
                tokio::task::yield_now().await;
                ran.lock().expect("lock").push(claim.job.key.clone());
                *running.lock().expect("lock") -= 1;
                store.finish(claim, Outcome::Done, 0).await.expect("finish");
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    assert_eq!(*ran.lock().expect("lock"), order, "run in the order queued");
}

pub async fn other_keys_other_tenants_and_jobs_without_a_key_are_not_held_back(s: &Fixture) {
    queue(&**s, "acme", "a1", "customer:A").await;
    queue(&**s, "acme", "a2", "customer:A").await;
    queue(&**s, "acme", "b1", "customer:B").await;
    queue(&**s, "beta", "a1", "customer:A").await;
    s.enqueue(update("acme", "plain"), 0)
        .await
        .expect("enqueue");
    let first = s.claim("w", 10, 60_000, 0).await.expect("claim");
    let got: Vec<(String, String)> = {
        let mut v: Vec<_> = first
            .iter()
            .map(|c| (c.job.tenant.clone(), c.job.key.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        got,
        [
            ("acme".into(), "a1".into()),
            ("acme".into(), "b1".into()),
            ("acme".into(), "plain".into()),
            ("beta".into(), "a1".into()),
        ],
        "only acme's second job of customer:A waits"
    );
    let a1 = first
        .iter()
        .find(|c| c.job.tenant == "acme" && c.job.key == "a1")
        .expect("a1");
    assert_eq!(
        s.ordering_key(a1.job.id).await.expect("key").as_deref(),
        Some("customer:A")
    );
    let plain = first.iter().find(|c| c.job.key == "plain").expect("plain");
    assert_eq!(s.ordering_key(plain.job.id).await.expect("key"), None);
    for c in &first {
        if c.job.key != "a1" || c.job.tenant != "acme" {
            s.finish(c, Outcome::Done, 0).await.expect("finish");
        }
    }
    assert!(
        s.claim("w", 10, 60_000, 0).await.expect("claim").is_empty(),
        "a2 waits for a1 to end"
    );
    s.finish(a1, Outcome::Done, 0).await.expect("finish");
    let next = s.claim("w", 10, 60_000, 0).await.expect("claim");
    assert_eq!(keys(&next), ["a2"]);
}

pub async fn a_retrying_job_holds_its_key_back_and_a_held_or_dead_one_does_not(s: &Fixture) {
    for key in ["r1", "r2", "r3"] {
        queue(&**s, "acme", key, "customer:R").await;
    }
    let claim = |at: i64| s.claim("w", 10, 60_000, at);
    let r1 = claim(0).await.expect("claim");
    assert_eq!(keys(&r1), ["r1"]);
    s.finish(
        &r1[0],
        Outcome::Retry {
            at_ms: 1_000,
            error: "M3 busy".into(),
        },
        0,
    )
    .await
    .expect("retry");
    assert!(
        claim(10).await.expect("claim").is_empty(),
        "r2 waits while r1 backs off"
    );
    let r1 = claim(1_000).await.expect("claim");
    assert_eq!(keys(&r1), ["r1"]);
    s.finish(
        &r1[0],
        Outcome::Hold {
            reason: "review".into(),
        },
        1_000,
    )
    .await
    .expect("hold");
    // A held job waits for a person; the key's later jobs go on.
    let r2 = claim(1_000).await.expect("claim");
    assert_eq!(keys(&r2), ["r2"]);
    s.finish(
        &r2[0],
        Outcome::Dead {
            error: "gone".into(),
        },
        1_000,
    )
    .await
    .expect("dead");
    let r3 = claim(1_000).await.expect("claim");
    assert_eq!(keys(&r3), ["r3"]);
    // r1 released while r3 runs: never two of the key at once.
    let released = s
        .release("acme", KIND, "r1", Release::AtCheckpoint, 1_000)
        .await
        .expect("release");
    assert_eq!(released.state, JobState::Queued);
    assert!(
        claim(1_000).await.expect("claim").is_empty(),
        "r3 still runs"
    );
    s.finish(&r3[0], Outcome::Done, 1_000)
        .await
        .expect("finish");
    let again = claim(1_000).await.expect("claim");
    assert_eq!(keys(&again), ["r1"]);
}
