//! Links (cross-references): by local id, by remote id, and "open" by state; an order made
//! for a quote is a link of kind `order` from the quote id to the order number, its state the
//! status last pushed back.

use ferry_store::{LinkRef, StoreError};
use serde_json::json;

use crate::common::{Fixture, job};

pub async fn a_link_is_found_by_local_and_by_remote_id_per_tenant_and_kind(s: &Fixture) {
    s.put_link("acme", "order", "Q1", "1000123", Some("22"))
        .await
        .expect("put");
    s.put_link("acme", "customer", "Q1", "C9", None)
        .await
        .expect("put");
    s.put_link("beta", "order", "Q1", "1000123", Some("22"))
        .await
        .expect("put");
    let order = s
        .link("acme", "order", "Q1")
        .await
        .expect("link")
        .expect("some");
    assert_eq!(
        (order.remote_id.as_str(), order.state.as_deref()),
        ("1000123", Some("22"))
    );
    assert_eq!(
        s.link("acme", "customer", "Q1")
            .await
            .expect("link")
            .expect("some")
            .state,
        None
    );
    assert!(s.link("acme", "order", "Q2").await.expect("link").is_none());

    let by_remote = s
        .links_by_remote("acme", "order", "1000123")
        .await
        .expect("by remote");
    assert_eq!(by_remote.len(), 1, "not beta's, not another kind's");
    assert_eq!(
        (by_remote[0].tenant.as_str(), by_remote[0].local_id.as_str()),
        ("acme", "Q1")
    );
    assert!(
        s.links_by_remote("acme", "order", "C9")
            .await
            .expect("by remote")
            .is_empty()
    );

    // Re-recording the same order (a retried write-back) is idempotent; a rewrite without a
    // state keeps the state; a new remote id replaces the old one in both lookups.
    s.put_link("acme", "order", "Q1", "1000123", Some("22"))
        .await
        .expect("again");
    s.put_link("acme", "order", "Q1", "1000200", None)
        .await
        .expect("rewrite");
    let order = s
        .link("acme", "order", "Q1")
        .await
        .expect("link")
        .expect("some");
    assert_eq!(
        (order.remote_id.as_str(), order.state.as_deref()),
        ("1000200", Some("22"))
    );
    assert!(
        s.links_by_remote("acme", "order", "1000123")
            .await
            .expect("by remote")
            .is_empty()
    );
    assert_eq!(
        s.links_by_remote("acme", "order", "1000200")
            .await
            .expect("by remote")
            .len(),
        1
    );

    // State changes only on an existing link.
    assert!(
        s.set_link_state("acme", "order", "Q1", "66")
            .await
            .expect("set")
    );
    assert!(
        !s.set_link_state("acme", "order", "Q404", "66")
            .await
            .expect("set")
    );
    assert!(
        s.link("acme", "order", "Q404")
            .await
            .expect("link")
            .is_none()
    );
    assert_eq!(
        s.link("beta", "order", "Q1")
            .await
            .expect("link")
            .expect("some")
            .state
            .as_deref(),
        Some("22"),
        "another tenant's link is untouched"
    );
}

pub async fn open_links_are_those_whose_state_is_not_closed(s: &Fixture) {
    let closed = vec!["77".to_string(), "90".to_string()];
    s.put_link("acme", "order", "Q1", "O1", Some("22"))
        .await
        .expect("put");
    s.put_link("acme", "order", "Q2", "O2", Some("77"))
        .await
        .expect("put");
    s.put_link("acme", "order", "Q3", "O3", Some("44"))
        .await
        .expect("put");
    // Plain cross-references carry no state: nothing to track.
    s.put_link("acme", "order", "Q4", "O4", None)
        .await
        .expect("put");
    s.put_link("acme", "customer", "K1", "C1", Some("22"))
        .await
        .expect("put");
    s.put_link("beta", "order", "Q9", "O9", Some("22"))
        .await
        .expect("put");
    let open: Vec<String> = s
        .open_links("acme", "order", &closed)
        .await
        .expect("open")
        .into_iter()
        .map(|l| l.local_id)
        .collect();
    let mut sorted = open.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["Q1", "Q3"]);

    // An order reaching a final status leaves the open list; one moving on stays in it.
    s.set_link_state("acme", "order", "Q1", "90")
        .await
        .expect("set");
    s.set_link_state("acme", "order", "Q3", "66")
        .await
        .expect("set");
    let open: Vec<String> = s
        .open_links("acme", "order", &closed)
        .await
        .expect("open")
        .into_iter()
        .map(|l| l.local_id)
        .collect();
    assert_eq!(open, vec!["Q3"]);
    assert_eq!(
        s.open_links("acme", "order", &[])
            .await
            .expect("open")
            .len(),
        3,
        "with no closed states every link with a state is open"
    );
}

pub async fn a_step_commits_its_link_with_the_checkpoint_and_keeps_the_links_state(s: &Fixture) {
    s.put_link("acme", "order", "7", "1000123", Some("22"))
        .await
        .expect("put");
    s.enqueue(job("7"), 0).await.expect("enqueue");
    let c = s
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    let link = LinkRef {
        kind: "order",
        local_id: "7",
        remote_id: "1000124",
    };
    s.commit_step(&c, "confirmed", &json!({"quote_id": "7"}), "ok", Some(link))
        .await
        .expect("commit");
    let stored = s
        .link("acme", "order", "7")
        .await
        .expect("link")
        .expect("some");
    assert_eq!(
        (stored.remote_id.as_str(), stored.state.as_deref()),
        ("1000124", Some("22"))
    );
    // Once the claim is taken over, its late step writes no link either.
    let taken = s.claim("w2", 1, 1_000, 5_000).await.expect("claim");
    assert_eq!(taken.len(), 1);
    let stale = LinkRef {
        kind: "order",
        local_id: "7",
        remote_id: "STALE",
    };
    assert!(matches!(
        s.commit_step(&c, "confirmed", &json!({}), "late", Some(stale))
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert_eq!(
        s.link("acme", "order", "7")
            .await
            .expect("link")
            .expect("some")
            .remote_id,
        "1000124"
    );
}
