//! The node registry (register, heartbeat, list, forget, the claims each node's workers hold)
//! and schedule slots (one taker per slot across every handle), seen from another handle as
//! another node would see them.

use std::sync::Arc;

use ferry_store::{NewNode, Outcome, Store};

use crate::common::{Fixture, job};

fn node<'a>(id: &'a str, version: &'a str) -> NewNode<'a> {
    NewNode {
        id,
        address: "10.0.0.7:8080",
        version,
    }
}

pub async fn nodes_register_heartbeat_and_are_listed_by_every_handle_with_their_claims(
    s: &Fixture,
) {
    s.register_node(node("node-b", "0.1.0"), 1_000)
        .await
        .expect("register b");
    s.ping().await.expect("the store answers a ping");
    let other = s.another().await;
    other
        .register_node(node("node-a", "0.1.0"), 1_000)
        .await
        .expect("register a");

    assert!(s.heartbeat_node("node-a", 5_000).await.expect("heartbeat"));
    assert!(
        !s.heartbeat_node("node-x", 5_000).await.expect("heartbeat"),
        "an unknown node is told to register"
    );
    // A restart under the same id replaces the row.
    s.register_node(node("node-b", "0.2.0"), 6_000)
        .await
        .expect("re-register b");
    let listed: Vec<(String, String, String, i64)> = other
        .nodes()
        .await
        .expect("nodes")
        .into_iter()
        .map(|n| (n.id, n.address, n.version, n.heartbeat_ms))
        .collect();
    let addr = "10.0.0.7:8080".to_string();
    assert_eq!(
        listed,
        vec![
            ("node-a".into(), addr.clone(), "0.1.0".into(), 5_000),
            ("node-b".into(), addr, "0.2.0".into(), 6_000),
        ]
    );

    // Claims by worker `{node}-{n}`, summed per node with the earliest lease.
    for key in ["1", "2", "3", "4"] {
        s.enqueue(job(key), 0).await.expect("enqueue");
    }
    let a0 = s.claim("node-a-0", 1, 10_000, 4_000).await.expect("claim");
    let a1 = other
        .claim("node-a-1", 1, 10_000, 5_000)
        .await
        .expect("claim");
    other
        .claim("node-b-0", 1, 10_000, 7_000)
        .await
        .expect("claim");
    let claims: Vec<(String, i64, i64)> = other
        .node_claims()
        .await
        .expect("claims")
        .into_iter()
        .map(|c| (c.node, c.jobs, c.oldest_lease_until))
        .collect();
    assert_eq!(
        claims,
        vec![("node-a".into(), 2, 14_000), ("node-b".into(), 1, 17_000)]
    );
    // A finished job is no longer held.
    s.finish(&a0[0], Outcome::Done, 8_000)
        .await
        .expect("finish");
    assert_eq!(
        s.node_claims()
            .await
            .expect("claims")
            .into_iter()
            .map(|c| (c.node, c.jobs, c.oldest_lease_until))
            .collect::<Vec<_>>(),
        vec![("node-a".into(), 1, 15_000), ("node-b".into(), 1, 17_000)]
    );
    assert_eq!(a1.len(), 1);

    // Forgetting long-silent nodes: node-a last beat at 5 000.
    assert_eq!(other.forget_nodes(5_500).await.expect("forget"), 1);
    let ids: Vec<String> = s
        .nodes()
        .await
        .expect("nodes")
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(ids, vec!["node-b".to_string()]);
    assert!(!s.heartbeat_node("node-a", 9_000).await.expect("heartbeat"));
}

pub async fn a_schedule_slot_is_taken_once_across_handles_and_never_after_a_later_one(s: &Fixture) {
    let other = s.another().await;
    assert!(
        s.take_slot("acme", "catalog-sync", 10, "a")
            .await
            .expect("take")
    );
    assert!(
        !other
            .take_slot("acme", "catalog-sync", 10, "b")
            .await
            .expect("take"),
        "another node finds the slot taken"
    );
    assert!(
        !s.take_slot("acme", "catalog-sync", 10, "a")
            .await
            .expect("take")
    );
    assert!(
        other
            .take_slot("acme", "catalog-sync", 11, "b")
            .await
            .expect("take"),
        "the next slot is free"
    );
    assert!(
        !s.take_slot("acme", "catalog-sync", 10, "a")
            .await
            .expect("take"),
        "a lagging clock can't take a slot another node moved past"
    );
    // Per tenant and per schedule.
    assert!(
        s.take_slot("globex", "catalog-sync", 10, "a")
            .await
            .expect("take")
    );
    assert!(s.take_slot("acme", "other", 10, "a").await.expect("take"));

    // Many takers at once, on two handles: one wins.
    let handles: Vec<Arc<dyn Store>> = vec![s.another().await, other];
    let racing = (0..8).map(|i| {
        let h = handles[i % 2].clone();
        tokio::spawn(async move { h.take_slot("acme", "catalog-sync", 20, "n").await })
    });
    let mut won = 0;
    for r in racing.collect::<Vec<_>>() {
        if r.await.expect("task").expect("take") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one taker per slot");
}
