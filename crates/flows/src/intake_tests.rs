//! An item BOD queues the tenant's catalog delta (when the tenant keeps a catalog) and is kept
//! in the inbox either way; a second BOD while that run waits adds none.

use ferry_domain::Change;
use ferry_store::{Inbox, Ingested, Jobs, MemoryStore, SyncState};

use super::{ERP, item_change};
use crate::catalog::{self, CatalogPolicy};

fn item_bod(itno: &str, bod: &str) -> Change {
    Change {
        entity: "item".into(),
        key: itno.into(),
        action: "updated".into(),
        changed_at: None,
        detail: Vec::new(),
        event_id: Some(bod.into()),
    }
}

async fn catalog_runs(store: &MemoryStore) -> Vec<String> {
    store
        .jobs(Some("acme"), None)
        .await
        .expect("jobs")
        .into_iter()
        .filter(|j| j.kind == catalog::KIND)
        .map(|j| j.state.as_str().to_string())
        .collect()
}

#[tokio::test]
async fn an_item_bod_queues_the_catalog_delta_of_a_tenant_that_keeps_a_catalog() {
    let store = MemoryStore::new();
    let policy = CatalogPolicy::default();

    // No schedule and no sync ever ran: the BOD is kept, and no catalog appears unasked.
    let (event, run) = item_change(&store, "acme", "bod-1", &item_bod("A1", "bod-1"), &policy)
        .await
        .expect("intake");
    assert_eq!((event, run), (Ingested::Stored, false));
    assert!(catalog_runs(&store).await.is_empty());

    // After a sync finished (its cursor is kept), a BOD queues the delta, once while it waits.
    store
        .set_cursor("acme", catalog::CURSOR, "2026-12-01T00:00:00Z")
        .await
        .expect("cursor");
    let (_, run) = item_change(&store, "acme", "bod-2", &item_bod("A1", "bod-2"), &policy)
        .await
        .expect("intake");
    assert!(run, "a delta queued");
    let (_, again) = item_change(&store, "acme", "bod-3", &item_bod("A2", "bod-3"), &policy)
        .await
        .expect("intake");
    assert!(!again, "the queued delta reads both items");
    assert_eq!(catalog_runs(&store).await, ["queued"]);

    // The same BOD redelivered is a duplicate in the inbox.
    let (event, _) = item_change(&store, "acme", "bod-2", &item_bod("A1", "bod-2"), &policy)
        .await
        .expect("intake");
    assert_eq!(event, Ingested::Duplicate);
    let events = store.events(Some("acme"), 10).await.expect("events");
    assert_eq!(events.iter().filter(|e| e.source == ERP).count(), 3);
}

#[tokio::test]
async fn a_scheduled_catalog_takes_item_bods_before_its_first_run() {
    let store = MemoryStore::new();
    let policy = CatalogPolicy {
        every: Some("15m".into()),
        ..CatalogPolicy::default()
    };
    let (_, run) = item_change(&store, "acme", "bod-1", &item_bod("A1", "bod-1"), &policy)
        .await
        .expect("intake");
    assert!(run);
    assert_eq!(catalog_runs(&store).await, ["queued"]);
}
