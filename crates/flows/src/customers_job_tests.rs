//! M3 customer changes as ordered jobs, against the fakes of both sides and the memory store.

use std::sync::Arc;

use ferry_domain::Change;
use ferry_store::{Audit, Ingested, JobState, Jobs, MemoryStore, Outcome};

use super::super::fakes::{FakeM3, FakeQuoteWerks};
use super::super::{CustomerPolicy, CustomerRoles, RunOptions, sync};
use super::{queue, run};
use crate::RetryPolicy;

const T: &str = "acme";

fn bod(cuno: &str, id: &str) -> Change {
    Change {
        entity: "customer".into(),
        key: cuno.into(),
        action: "updated".into(),
        changed_at: None,
        detail: Vec::new(),
        event_id: Some(id.into()),
    }
}

/// Both fakes with QuoteWerks customer C1 linked by a first sync to new M3 customer 10001.
async fn linked() -> (
    Arc<FakeM3>,
    Arc<FakeQuoteWerks>,
    CustomerRoles,
    MemoryStore,
    CustomerPolicy,
) {
    let m3 = Arc::new(FakeM3::default());
    let qw = Arc::new(FakeQuoteWerks::default());
    let roles = CustomerRoles {
        erp: m3.clone(),
        quoting: qw.clone(),
    };
    let store = MemoryStore::new();
    let policy = CustomerPolicy::default();
    qw.put(
        "C1",
        &[
            ("SoldToCompany", "Acme Ltd."),
            ("SoldToAddress1", "1 Main St"),
            ("SoldToCity", "Leeds"),
        ],
    );
    sync(T, &roles, &store, &policy, &RunOptions::default())
        .await
        .expect("first sync links C1 to a new M3 customer");
    assert_eq!(m3.field("10001", "CUNM"), "Acme Ltd.");
    (m3, qw, roles, store, policy)
}

#[tokio::test]
async fn one_customers_changes_apply_one_at_a_time_in_arrival_order_and_survive_a_lost_worker() {
    let (m3, qw, roles, store, policy) = linked().await;
    let cuno = "10001";

    for id in ["bod-a", "bod-b", "bod-c"] {
        let got = queue(&store, T, id, &bod(cuno, id), &policy)
            .await
            .expect("queue");
        assert_eq!(got, Ingested::Queued);
    }
    let again = queue(&store, T, "bod-a", &bod(cuno, "bod-a"), &policy)
        .await
        .expect("queue");
    assert_eq!(
        again,
        Ingested::Duplicate,
        "a redelivered BOD queues nothing"
    );

    let now = crate::now_ms();
    // A worker takes the first change and dies without a word: the later ones wait for it.
    let lost = store.claim("node-a-0", 5, 1_000, now).await.expect("claim");
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].job.key, "bod-a");
    assert!(
        store
            .claim("node-b-0", 5, 1_000, now + 10)
            .await
            .expect("claim")
            .is_empty(),
        "bod-b waits while bod-a is held by a claim"
    );
    let retry = RetryPolicy::default();
    let mut later = now + 2_000;
    for (id, town) in [
        ("bod-a", "Ayton"),
        ("bod-b", "Beeston"),
        ("bod-c", "Catton"),
    ] {
        // M3 moves on before each job runs: the job applies M3 as it is then.
        m3.edit(cuno, "TOWN", town, "20261204");
        let claims = store
            .claim("node-b-0", 5, 1_000, later)
            .await
            .expect("claim");
        assert_eq!(claims.len(), 1, "one change of the customer at a time");
        assert_eq!(claims[0].job.key, id, "in arrival order");
        let outcome = run(&roles, &store, &claims[0], &retry).await;
        assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
        store
            .finish(&claims[0], outcome, later)
            .await
            .expect("finish");
        assert_eq!(qw.field("C1", "SoldToCity"), town);
        let trail = store.trail(T, id).await.expect("trail");
        assert!(
            trail
                .iter()
                .any(|e| e.step == "applied" && e.message.contains(town)),
            "{id}: {trail:?}"
        );
        later += 10;
    }
    let jobs = store.jobs(Some(T), None).await.expect("jobs");
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.state == JobState::Done));
}

#[tokio::test]
async fn a_change_applied_by_a_node_that_died_before_marking_it_done_is_not_applied_again() {
    let (m3, qw, roles, store, policy) = linked().await;
    let cuno = "10001";
    queue(&store, T, "bod-a", &bod(cuno, "bod-a"), &policy)
        .await
        .expect("queue");
    m3.edit(cuno, "TOWN", "Ayton", "20261204");

    let now = crate::now_ms();
    let retry = RetryPolicy::default();
    // Node a applies the change and dies before its `done` is written.
    let first = store.claim("node-a-0", 5, 1_000, now).await.expect("claim");
    assert_eq!(first.len(), 1);
    let outcome = run(&roles, &store, &first[0], &retry).await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    // Its lease runs out; node b claims the job and finishes it without applying again.
    let later = now + 2_000;
    let second = store
        .claim("node-b-0", 5, 1_000, later)
        .await
        .expect("claim");
    assert_eq!(
        second.len(),
        1,
        "the job comes back once node a's lease ran out"
    );
    let outcome = run(&roles, &store, &second[0], &retry).await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    store
        .finish(&second[0], outcome, later)
        .await
        .expect("finish");

    let trail = store.trail(T, "bod-a").await.expect("trail");
    let applied = trail.iter().filter(|e| e.step == "applied").count();
    assert_eq!(applied, 1, "applied once: {trail:?}");
    assert_eq!(qw.field("C1", "SoldToCity"), "Ayton");
    let jobs = store.jobs(Some(T), None).await.expect("jobs");
    assert!(jobs.iter().all(|j| j.state == JobState::Done), "{jobs:?}");
}
