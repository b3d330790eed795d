//! The order is made exactly once: every step checkpointed, an interrupted write read back,
//! lines sent in chunks that survive failures.

use ferry_domain::{ErrorClass, Value};

use super::{TENANT, World, held};
use crate::fakes::{Fail, role_error};
use ferry_store::{Inbox, JobState, Links, Outcome};

#[tokio::test]
async fn an_approved_quote_becomes_one_order_written_back_to_the_quote() {
    let w = World::new(3);
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Done));

    let order = w
        .fakes
        .erp
        .order("Q-17")
        .expect("an order for the reference");
    let receipt = order.confirmed.expect("confirmed");
    assert_eq!(order.lines.len(), 3);
    assert_eq!(order.header.get("CUNO"), Some(&Value::Text("C9".into())));
    assert_eq!(order.header.get("WHLO"), Some(&Value::Text("200".into())));
    assert!(
        order.header.lines.is_empty(),
        "the head is sent without lines"
    );
    assert_eq!(
        *w.fakes.quoting.transferred.lock().expect("lock"),
        [(
            "17".into(),
            receipt.order_number.clone(),
            Some("Ordered".into())
        )]
    );
    let recorded = w
        .store
        .links_by_remote(TENANT, "order", &receipt.order_number)
        .await
        .expect("read");
    assert_eq!(recorded.first().map(|o| o.local_id.as_str()), Some("17"));
    assert_eq!(w.job("17").await.state, JobState::Done);
    assert_eq!(w.job("17").await.step, "written-back");
    let trail = w.trail("17").await.join("\n");
    for expected in [
        "quote fetched",
        "matched ERP customer C9 by email",
        "mapped to an order of 3 lines, reference Q-17",
        "validated by the ERP",
        "order head created (draft D1)",
        "3 lines added",
        "confirmed: ERP order ORD1 (status 22)",
        "order number ORD1 written back to the quote",
    ] {
        assert!(trail.contains(expected), "{expected:?} in\n{trail}");
    }
    assert_eq!(
        w.fakes.erp.script.calls(),
        [
            "find_customers k1@example.com",
            "validate_order",
            "find_order Q-17",
            "begin_order Q-17",
            "add_order_lines D1 3",
            "confirm_order D1"
        ]
    );
}

/// Each call in turn fails once (transiently, before it takes effect): the job is retried
/// from the last committed step, and the order is still made once.
#[tokio::test]
async fn a_failure_at_any_step_resumes_from_the_last_checkpoint_without_repeating_writes() {
    let steps = [
        ("get_quote", "received"),
        ("find_customers", "fetched"),
        ("map_document", "fetched"),
        ("validate_order", "mapped"),
        ("find_order", "validated"),
        ("begin_order", "validated"),
        ("add_order_lines", "head"),
        ("confirm_order", "lines"),
        ("mark_transferred", "confirmed"),
    ];
    for (call, committed) in steps {
        let w = World::new(2);
        let fail = || Fail::Before(role_error(ErrorClass::Transient, "gateway said 503"));
        match call {
            "get_quote" | "mark_transferred" => w.fakes.quoting.script.fail(call, fail()),
            "map_document" => w.fakes.transform.script.fail(call, fail()),
            _ => w.fakes.erp.script.fail(call, fail()),
        }
        w.enqueue("17").await;
        let outcome = w.pass().await;
        assert!(
            matches!(&outcome, Outcome::Retry { error, .. } if error == "transient: gateway said 503"),
            "{call}: {outcome:?}"
        );
        assert_eq!(w.job("17").await.step, committed, "{call}");
        assert!(matches!(w.pass().await, Outcome::Done), "{call}");
        // One draft, both lines once, confirmed once (a second confirm would number it ORD2).
        assert_eq!(w.fakes.erp.orders.lock().expect("lock").len(), 1, "{call}");
        let order = w.fakes.erp.order("Q-17").expect("order");
        assert_eq!(order.lines.len(), 2, "{call}");
        assert_eq!(
            order.confirmed.expect("confirmed").order_number,
            "ORD1",
            "{call}"
        );
        assert_eq!(w.fakes.quoting.transferred.lock().expect("lock").len(), 1);
    }
}

#[tokio::test]
async fn a_lost_confirm_answer_is_resolved_by_reading_the_erp_back_not_by_confirming_again() {
    let w = World::new(2);
    w.fakes.erp.script.fail(
        "confirm_order",
        Fail::After(role_error(ErrorClass::Transient, "connection reset")),
    );
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert_eq!(
        w.job("17").await.intent.as_deref(),
        Some("confirm"),
        "left in doubt"
    );

    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("confirm_order"), 1, "never confirmed twice");
    assert_eq!(w.erp_calls("begin_order"), 1);
    assert_eq!(w.erp_calls("find_order"), 2, "read back after the doubt");
    let trail = w.trail("17").await.join("\n");
    assert!(
        trail.contains("in-doubt: an order write was interrupted"),
        "{trail}"
    );
    assert!(
        trail.contains("order ORD1 already exists for reference Q-17: adopted, not created again"),
        "{trail}"
    );
    let transferred = w.fakes.quoting.transferred.lock().expect("lock").clone();
    assert_eq!(transferred.len(), 1);
    assert_eq!(transferred[0].1, "ORD1");
}

#[tokio::test]
async fn a_lost_head_answer_reuses_the_open_draft() {
    let w = World::new(2);
    w.fakes.erp.script.fail(
        "begin_order",
        Fail::After(role_error(ErrorClass::Transient, "timed out")),
    );
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("find_order"), 2, "looked before writing again");
    assert_eq!(w.erp_calls("begin_order"), 2);
    assert_eq!(
        w.fakes.erp.orders.lock().expect("lock").len(),
        1,
        "one draft"
    );
    assert_eq!(w.fakes.erp.order("Q-17").expect("order").lines.len(), 2);
}

#[tokio::test]
async fn an_order_of_another_quote_with_the_same_reference_is_held_not_adopted() {
    let w = World::new(1);
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    // Quote 18 maps to the same reference, and nothing is in doubt: a duplicate to review.
    w.fakes.add_quote("18", "Q-17", 1);
    w.enqueue("18").await;
    let outcome = w.pass().await;
    let reason = held(&outcome);
    assert!(
        reason.starts_with("ERP order ORD1 already carries reference Q-17")
            && reason.contains("(made for quote 17)"),
        "{reason}"
    );
    assert_eq!(w.erp_calls("begin_order"), 1);
}

#[tokio::test]
async fn lines_go_in_chunks_and_a_failed_chunk_resumes_after_the_committed_ones() {
    let w = World::new(25);
    let erp = &w.fakes.erp;
    erp.script.fail("add_order_lines", Fail::Pass);
    erp.script.fail(
        "add_order_lines",
        Fail::Before(role_error(ErrorClass::Transient, "busy")),
    );
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert_eq!(
        w.checkpoint("17").await.lines_added,
        10,
        "the first chunk is committed"
    );
    assert_eq!(w.job("17").await.step, "head");
    assert!(matches!(w.pass().await, Outcome::Done));
    let adds: Vec<String> = erp
        .script
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("add_order_lines"))
        .collect();
    assert_eq!(
        adds,
        [
            "add_order_lines D1 10",
            "add_order_lines D1 20",
            "add_order_lines D1 20",
            "add_order_lines D1 25"
        ],
        "each call names every line up to its chunk's end; the first chunk is not sent again"
    );
    assert_eq!(erp.order("Q-17").expect("order").lines.len(), 25);
    let trail = w.trail("17").await.join("\n");
    for progress in [
        "10 of 25 lines added",
        "20 of 25 lines added",
        "25 lines added",
    ] {
        assert!(trail.contains(progress), "{progress} in\n{trail}");
    }
}

#[tokio::test]
async fn a_lost_chunk_answer_is_sent_again_without_duplicating_lines() {
    let w = World::new(25);
    let erp = &w.fakes.erp;
    erp.script.fail(
        "add_order_lines",
        Fail::After(role_error(ErrorClass::Transient, "lost")),
    );
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert_eq!(
        w.checkpoint("17").await.lines_added,
        0,
        "the lost chunk is not counted"
    );
    assert_eq!(
        erp.order("Q-17").expect("order").lines.len(),
        10,
        "but the ERP holds it"
    );
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(
        erp.order("Q-17").expect("order").lines.len(),
        25,
        "no line twice"
    );
}

#[tokio::test]
async fn a_big_order_that_keeps_moving_is_not_given_up_on() {
    let mut w = World::new(60);
    w.tenant.retry.maximum_attempts = 3;
    // Every pass gets one more chunk in before the next one fails: six passes in all.
    for _ in 0..5 {
        w.fakes.erp.script.fail("add_order_lines", Fail::Pass);
        w.fakes.erp.script.fail(
            "add_order_lines",
            Fail::Before(role_error(ErrorClass::Transient, "busy")),
        );
    }
    w.enqueue("17").await;
    for pass in 1..=5 {
        let outcome = w.pass().await;
        assert!(
            matches!(outcome, Outcome::Retry { .. }),
            "pass {pass}: {outcome:?}"
        );
        assert_eq!(w.checkpoint("17").await.lines_added, pass * 10);
    }
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(
        w.job("17").await.attempts,
        6,
        "more attempts than the policy's 3, all moving"
    );
    assert_eq!(w.fakes.erp.order("Q-17").expect("order").lines.len(), 60);
}

#[tokio::test]
async fn writing_back_again_keeps_a_status_pushed_back_since() {
    let w = World::new(1);
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    // The status push-back moved the order on; then the quote's job runs again (a crash
    // between the order record and the commit repeats the write-back).
    assert!(
        w.store
            .set_link_state(TENANT, "order", "17", "44")
            .await
            .expect("state")
    );
    let job = ferry_store::NewJob {
        tenant: TENANT,
        kind: super::KIND,
        key: "17",
        checkpoint: w.job("17").await.checkpoint,
    };
    w.store
        .rerun(None, job, super::now_ms())
        .await
        .expect("rerun");
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(
        w.erp_calls("begin_order"),
        1,
        "the order was adopted, not made again"
    );
    let link = w.store.link(TENANT, "order", "17").await.expect("read");
    assert_eq!(
        link.and_then(|l| l.state).as_deref(),
        Some("44"),
        "a repeated write-back must not make the pushed status look unpushed"
    );
}
