//! Shadow runs: one live shadow per tenant and role, its comparisons kept (the latest per run
//! and kind), and ended shadows kept with how they ended, seen by every handle.

use ferry_store::ShadowRecord;
use serde_json::json;

use crate::common::Fixture;

fn record(shadow_id: i64, key: &str, shadow: serde_json::Value) -> ShadowRecord {
    let live = json!({"CUNO": "C1"});
    ShadowRecord {
        shadow_id,
        kind: "quote-to-order".into(),
        key: key.into(),
        agree: live == shadow,
        live,
        shadow,
        recorded_at: "2026-12-04T05:00:00Z".into(),
    }
}

pub async fn a_shadow_runs_once_per_role_keeps_its_latest_records_and_ends_with_an_outcome(
    s: &Fixture,
) {
    let first = s
        .start_shadow("acme", "transform", "sha-new", "sha-live")
        .await
        .expect("start");
    assert_eq!(first.live_digest, "sha-live");
    assert!(first.ended_at.is_none() && first.outcome.is_none());
    // Another tenant's shadow of the same role is independent.
    let other = s
        .start_shadow("beta", "transform", "sha-b", "sha-live")
        .await
        .expect("start beta");

    s.record_shadow(&record(first.id, "Q2", json!({"CUNO": "C9"})))
        .await
        .expect("record");
    s.record_shadow(&record(first.id, "Q1", json!({"CUNO": "C1"})))
        .await
        .expect("record");
    // A retried run is compared once, on its latest try.
    s.record_shadow(&record(first.id, "Q2", json!({"CUNO": "C1"})))
        .await
        .expect("re-record");
    s.record_shadow(&record(other.id, "Q1", json!({"CUNO": "C7"})))
        .await
        .expect("record beta");

    let another = s.another().await;
    let records = another.shadow_records(first.id).await.expect("records");
    let keys: Vec<_> = records.iter().map(|r| (r.key.as_str(), r.agree)).collect();
    assert_eq!(keys, [("Q1", true), ("Q2", true)]);
    assert_eq!(records[1].shadow, json!({"CUNO": "C1"}));

    // Starting another shadow replaces the live one.
    let second = s
        .start_shadow("acme", "transform", "sha-newer", "sha-live")
        .await
        .expect("restart");
    assert_ne!(second.id, first.id);
    let acme = another.shadows(Some("acme")).await.expect("shadows");
    assert_eq!(acme.len(), 2);
    assert_eq!(acme[0].id, second.id, "newest first");
    assert_eq!(acme[1].outcome.as_deref(), Some("replaced"));
    assert!(acme[1].ended_at.is_some());
    assert_eq!(s.shadows(None).await.expect("all").len(), 3);

    let ended = s
        .end_shadow("acme", "transform", "promoted")
        .await
        .expect("end")
        .expect("there was one");
    assert_eq!(ended.id, second.id);
    assert_eq!(ended.outcome.as_deref(), Some("promoted"));
    assert!(
        s.end_shadow("acme", "transform", "stopped")
            .await
            .expect("end again")
            .is_none(),
        "nothing live to end"
    );
    // The ended shadow keeps its records for the report.
    assert_eq!(s.shadow_records(first.id).await.expect("kept").len(), 2);
}
