//! Accepted substitutes (a suggested fix for an unknown part number): the held order goes
//! through with the substitute once released, and the next quote with the same typo is
//! corrected without a hold.

use super::{TENANT, World, held};
use crate::now_ms;
use crate::quote_to_order::{KIND, SUBSTITUTE_KIND, substitute_key};
use ferry_domain::Value;
use ferry_store::{JobState, Jobs, Links, Outcome, Release};

#[tokio::test]
async fn an_accepted_substitute_replaces_the_refused_part_number_on_release_and_after() {
    let w = World::new(2);
    w.fakes
        .erp
        .unknown
        .lock()
        .expect("lock")
        .push(("ITNO".into(), "P2".into()));
    w.enqueue("17").await;
    let reason = held(&w.pass().await).to_string();
    assert!(
        reason.contains("lines[1].ITNO: P2 does not exist"),
        "{reason}"
    );

    // The operator accepts the suggestion: P2 means P20 in the ERP.
    w.store
        .put_link(
            TENANT,
            SUBSTITUTE_KIND,
            &substitute_key("ITNO", "P2"),
            "P20",
            None,
        )
        .await
        .expect("link");
    w.store
        .release(TENANT, KIND, "17", Release::AtCheckpoint, now_ms())
        .await
        .expect("release");
    assert!(matches!(w.pass().await, Outcome::Done));
    let order = w.fakes.erp.order("Q-17").expect("one order");
    let itnos: Vec<_> = order.lines.iter().map(|l| l.get("ITNO").cloned()).collect();
    assert_eq!(
        itnos,
        vec![
            Some(Value::Text("P1".into())),
            Some(Value::Text("P20".into()))
        ]
    );
    assert!(
        w.trail("17")
            .await
            .iter()
            .any(|t| t.contains("ITNO P2 replaced by P20")),
        "the substitution is in the quote's trail"
    );

    // The same typo on the next quote: corrected, not held.
    w.fakes.add_quote("18", "Q-18", 2);
    w.enqueue("18").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.job("18").await.state, JobState::Done);
}

#[tokio::test]
async fn a_refusal_without_a_substitute_still_holds_and_costs_one_validation() {
    let w = World::new(1);
    w.fakes
        .erp
        .unknown
        .lock()
        .expect("lock")
        .push(("ITNO".into(), "P1".into()));
    w.enqueue("17").await;
    held(&w.pass().await);
    assert_eq!(w.erp_calls("validate_order"), 1);
    assert_eq!(w.erp_calls("begin_order"), 0);
}
