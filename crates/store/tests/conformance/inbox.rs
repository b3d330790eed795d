//! The inbox: every inbound event stored once, by its source's own id, before it is answered.

use ferry_store::Ingested;
use serde_json::json;

use crate::common::{Fixture, job};

pub async fn ingest_dedups_by_source_event_id_per_tenant_and_source(s: &Fixture) {
    let bod = json!({"bod": "SyncSalesOrder", "order": "1000123"});
    assert_eq!(
        s.ingest("acme", "ion", "BOD-1", &bod, None, 0)
            .await
            .expect("ingest"),
        Ingested::Stored
    );
    // The same BOD again (ION redelivers): nothing new, and the first payload stays.
    assert_eq!(
        s.ingest("acme", "ion", "BOD-1", &json!({"other": true}), None, 0)
            .await
            .expect("ingest"),
        Ingested::Duplicate
    );
    // The same id from another source or for another tenant is another event.
    assert_eq!(
        s.ingest("acme", "quotewerks", "BOD-1", &bod, None, 0)
            .await
            .expect("ingest"),
        Ingested::Stored
    );
    assert_eq!(
        s.ingest("beta", "ion", "BOD-1", &bod, None, 0)
            .await
            .expect("ingest"),
        Ingested::Stored
    );
    let stored = s
        .event("acme", "ion", "BOD-1")
        .await
        .expect("event")
        .expect("stored");
    assert_eq!(stored.payload, bod);
    // A duplicate queues no job even when it asks for one.
    assert_eq!(
        s.ingest("acme", "ion", "BOD-1", &bod, Some(job("Q1")), 0)
            .await
            .expect("ingest"),
        Ingested::Duplicate
    );
    assert!(s.jobs(None, None).await.expect("jobs").is_empty());
}

pub async fn stored_events_are_listed_newest_first_and_found_by_source_id(s: &Fixture) {
    for (tenant, id) in [
        ("acme", "e1"),
        ("beta", "e2"),
        ("acme", "e3"),
        ("acme", "e4"),
    ] {
        s.ingest(tenant, "quotewerks", id, &json!({ "id": id }), None, 0)
            .await
            .expect("ingest");
    }
    let ids = |events: Vec<ferry_store::InboxEvent>| {
        events.into_iter().map(|e| e.dedup_key).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.events(Some("acme"), 10).await.expect("events")),
        vec!["e4", "e3", "e1"]
    );
    assert_eq!(
        ids(s.events(None, 2).await.expect("events")),
        vec!["e4", "e3"]
    );
    let e2 = s
        .event("beta", "quotewerks", "e2")
        .await
        .expect("event")
        .expect("stored");
    assert_eq!(
        (e2.tenant.as_str(), e2.source.as_str()),
        ("beta", "quotewerks")
    );
    assert_eq!(e2.payload["id"], "e2");
    assert!(
        s.event("acme", "quotewerks", "e2")
            .await
            .expect("event")
            .is_none(),
        "another tenant's event is not this tenant's"
    );
    let all = s.events(None, 10).await.expect("events");
    assert!(
        all.windows(2).all(|w| w[0].id > w[1].id),
        "ids grow with arrival"
    );
}
