//! How a job ends when it cannot go on: holds a person resolves, retries by error class,
//! dead letters; checkpoints from before the domain types; the ready-quote poller.

use ferry_domain::{ErrorClass, FieldError, Issue, QuoteSummary, RoleError, Severity, Value};
use serde_json::Value as Json;

use super::{TENANT, World, held};
use crate::fakes::{Fail, no_plugin, role_error};
use crate::quote_to_order::{Checkpoint, KIND};
use crate::{RetryPolicy, StepError, now_ms, outcome_for, poller};
use ferry_store::{JobState, Jobs, Links, NewJob, Outcome};

#[tokio::test]
async fn no_customer_match_is_held_when_creating_customers_is_off() {
    let w = World::empty();
    w.fakes.add_quote("17", "Q-17", 1);
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert!(
        held(&outcome).starts_with(
            "no ERP customer matches customer K1 (email k1@example.com, name Kay Corp), and creating customers is off"
        ),
        "{outcome:?}"
    );
    assert_eq!(w.job("17").await.state, JobState::Held);
    assert_eq!(w.erp_calls("find_customers"), 2, "by email, then by name");
    assert_eq!(w.erp_calls("create_customer"), 0);
}

#[tokio::test]
async fn no_customer_match_creates_one_when_allowed_and_remembers_it() {
    let mut w = World::empty();
    w.tenant.policy.create_customers = true;
    w.fakes.add_quote("17", "Q-17", 1);
    w.fakes.add_quote("18", "Q-18", 1);
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("create_customer"), 1);
    let created = w.fakes.erp.customers.lock().expect("lock")[0].clone();
    assert!(
        created.fields.iter().all(|f| !f.name.starts_with("match:")),
        "match hints are not sent to the ERP: {created:?}"
    );
    assert_eq!(
        w.store
            .link(TENANT, "customer", "K1")
            .await
            .expect("link")
            .map(|l| l.remote_id)
            .as_deref(),
        Some("C1")
    );
    // The next quote of the same customer goes by the cross-reference.
    w.enqueue("18").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("create_customer"), 1);
    assert_eq!(
        w.erp_calls("find_customers"),
        2,
        "only the first quote searched"
    );
    assert_eq!(
        w.fakes.erp.order("Q-18").expect("order").header.get("CUNO"),
        Some(&Value::Text("C1".into()))
    );
}

#[tokio::test]
async fn a_lost_create_customer_answer_searches_again_before_creating() {
    let mut w = World::empty();
    w.tenant.policy.create_customers = true;
    w.fakes.add_quote("17", "Q-17", 1);
    w.fakes.erp.script.fail(
        "create_customer",
        Fail::After(role_error(ErrorClass::Transient, "reset")),
    );
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert!(matches!(w.pass().await, Outcome::Done));
    // The customer the lost call made is found by email: not created twice.
    assert_eq!(w.erp_calls("create_customer"), 1);
    assert_eq!(w.fakes.erp.customers.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn an_ambiguous_customer_match_is_held_naming_the_candidates() {
    let w = World::new(1);
    w.fakes
        .erp
        .add_customer("C10", "k1@example.com", "Kay Corp (old)");
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert_eq!(
        held(&outcome),
        "2 ERP customers match customer K1 (email k1@example.com, name Kay Corp) by email (C9, C10): make it unambiguous, then release"
    );
}

#[tokio::test]
async fn problems_the_erp_finds_hold_the_order_before_anything_is_written() {
    let w = World::new(1);
    w.fakes.erp.problems.lock().expect("lock").push(FieldError {
        field: "ITNO".into(),
        line: Some(0),
        message: "item P1 is not released".into(),
    });
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert_eq!(
        held(&outcome),
        "the ERP would refuse this order: lines[0].ITNO: item P1 is not released"
    );
    assert_eq!(w.erp_calls("begin_order"), 0);
}

#[tokio::test]
async fn mapping_issues_hold_the_order_naming_line_field_and_rule() {
    let w = World::new(3);
    w.fakes
        .set_line_field("17", 1, "Qty", Value::Text("lots".into()));
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert_eq!(
        held(&outcome),
        "mapping quote-to-order: lines[1].ORQT: 'lots' is not a decimal [rule lines.ORQT]"
    );
    assert_eq!(
        w.job("17").await.step,
        "customer",
        "the customer step stays done"
    );
}

#[tokio::test]
async fn mapping_warnings_are_audited_and_do_not_stop_the_order() {
    let w = World::new(1);
    w.fakes
        .transform
        .warnings
        .lock()
        .expect("lock")
        .push(Issue {
            severity: Severity::Warning,
            rule: Some("header.CUNM".into()),
            field: "CUNM".into(),
            line: None,
            message: "truncated to 36 characters".into(),
        });
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    let trail = w.trail("17").await.join("\n");
    assert!(
        trail.contains(
            "quote-to-order: mapping warnings: CUNM: truncated to 36 characters (warning) [rule header.CUNM]"
        ),
        "{trail}"
    );
}

#[tokio::test]
async fn a_missing_plugin_holds_the_job_with_how_to_install_one() {
    let w = World::new(1);
    w.fakes
        .erp
        .script
        .fail("find_customers", Fail::Before(no_plugin()));
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert_eq!(held(&outcome), "tenant 'acme' has no active erp plugin");
    assert_eq!(w.job("17").await.state, JobState::Held);
}

#[tokio::test]
async fn retries_follow_the_error_class() {
    let cases: [(RoleError, &str); 6] = [
        (RoleError::new(ErrorClass::Transient, "x"), "retry"),
        (RoleError::rate_limited("slow down", Some(30_000)), "retry"),
        (
            RoleError::new(
                ErrorClass::Unsupported,
                "this connector cannot validate orders",
            ),
            "dead",
        ),
        (
            RoleError::new(ErrorClass::NotFound, "no such quote"),
            "dead",
        ),
        (
            RoleError::new(ErrorClass::Unauthorized, "token refused"),
            "dead",
        ),
        (RoleError::new(ErrorClass::Conflict, "order locked"), "held"),
    ];
    for (error, expected) in cases {
        let w = World::new(1);
        w.fakes.erp.script.fail(
            "validate_order",
            Fail::Before(ferry_domain::RoleFailure::Error(error.clone())),
        );
        w.enqueue("17").await;
        let before = now_ms();
        let outcome = w.pass().await;
        let got = match &outcome {
            Outcome::Retry { at_ms, error: text } => {
                assert_eq!(*text, error.to_string());
                let wait = at_ms - before;
                let want = error
                    .retry_after_ms
                    .map_or(1_000, |ms| i64::try_from(ms).expect("small"));
                assert!(
                    (want..want + 5_000).contains(&wait),
                    "{error}: retried after {wait} ms, expected about {want}"
                );
                "retry"
            }
            Outcome::Dead { error: text } => {
                assert_eq!(*text, error.to_string(), "the reason is kept");
                "dead"
            }
            Outcome::Hold { .. } => "held",
            other => panic!("{other:?}"),
        };
        assert_eq!(got, expected, "{error}");
    }
    let w = World::new(1);
    w.fakes.erp.script.fail(
        "validate_order",
        Fail::Before(role_error(
            ErrorClass::Unsupported,
            "no validate-order in this connector",
        )),
    );
    w.enqueue("17").await;
    w.pass().await;
    assert_eq!(w.job("17").await.state, JobState::Dead);
    let dead = w
        .store
        .dead_letters(Some(TENANT))
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].error,
        "unsupported: no validate-order in this connector"
    );
}

#[test]
fn a_stopped_call_is_retried_and_gives_up_after_the_last_attempt() {
    let policy = RetryPolicy {
        initial_interval_ms: 100,
        backoff_coefficient: 2,
        maximum_interval_ms: 1_000,
        maximum_attempts: 3,
    };
    let stopped = StepError::from(ferry_domain::RoleFailure::Call(ferry_domain::CallFailure {
        kind: ferry_domain::CallFailureKind::Deadline,
        message: "stopped: the call ran past its 300 ms deadline".into(),
    }));
    match outcome_for(&stopped, 1, &policy, 0) {
        Outcome::Retry { at_ms, error } => {
            assert_eq!(at_ms, 100);
            assert_eq!(error, "stopped: the call ran past its 300 ms deadline");
        }
        other => panic!("{other:?}"),
    }
    match outcome_for(&stopped, 3, &policy, 0) {
        Outcome::Dead { error } => assert_eq!(
            error,
            "gave up after 3 attempts: stopped: the call ran past its 300 ms deadline"
        ),
        other => panic!("{other:?}"),
    }
    let limited = StepError::from(ferry_domain::RoleFailure::Error(RoleError::rate_limited(
        "429",
        Some(5_000),
    )));
    assert!(matches!(
        outcome_for(&limited, 1, &policy, 0),
        Outcome::Retry { at_ms: 5_000, .. }
    ));
}

#[tokio::test]
async fn a_checkpoint_written_before_the_domain_types_is_read_and_finished() {
    let old = include_str!("../testdata/checkpoint-before-domain.json");
    let cp: Checkpoint = serde_json::from_str(old).expect("the old checkpoint reads");
    let quote = cp.quote.as_ref().expect("quote");
    assert_eq!(
        quote.get("GrandTotal"),
        Some(&Value::Decimal("1234.50".into()))
    );
    assert_eq!(quote.get("Revision"), Some(&Value::Integer(2)));
    assert_eq!(quote.get("Taxable"), Some(&Value::Boolean(true)));
    assert_eq!(
        quote.get("DocDate"),
        Some(&Value::Date("2025-03-07".into()))
    );
    assert_eq!(quote.get("Notes"), Some(&Value::Null));
    let receipt = cp.receipt.as_ref().expect("receipt");
    assert_eq!(
        (
            receipt.order_number.as_str(),
            receipt.line_numbers.as_slice()
        ),
        ("0000456", ["1".to_string()].as_slice())
    );
    assert_eq!(cp.order.as_ref().expect("order").lines.len(), 1);
    // Written again in the canonical form, it reads back the same.
    let again: Checkpoint =
        serde_json::from_value(serde_json::to_value(&cp).expect("json")).expect("reads");
    assert_eq!(again, cp);

    // A job stopped at "confirmed" under the old code finishes under the new.
    let w = World::new(1);
    let job = NewJob {
        tenant: TENANT,
        kind: KIND,
        key: "17",
        checkpoint: serde_json::from_str::<Json>(old).expect("json"),
    };
    w.store.enqueue(job, now_ms()).await.expect("enqueue");
    let claim = w.claim().await;
    w.store
        .commit_step(
            &claim,
            "confirmed",
            &claim.job.checkpoint,
            "old code got here",
            None,
        )
        .await
        .expect("commit");
    let retry = Outcome::Retry {
        at_ms: now_ms(),
        error: "stopped before the write-back".into(),
    };
    w.store
        .finish(&claim, retry, now_ms())
        .await
        .expect("finish");
    let outcome = w.pass().await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert_eq!(
        w.fakes.quoting.transferred.lock().expect("lock")[0],
        ("17".into(), "0000456".into(), Some("Ordered".into()))
    );
}

#[tokio::test]
async fn the_poller_queues_each_ready_quote_once_across_pages() {
    let w = World::empty();
    let ready: Vec<QuoteSummary> = (1..=150)
        .map(|n| QuoteSummary {
            id: n.to_string(),
            number: format!("Q-{n}"),
            revision: None,
            status: "Approved".into(),
            modified_at: None,
        })
        .collect();
    *w.fakes.quoting.ready.lock().expect("lock") = ready;
    assert_eq!(
        poller::poll_once(&w.tenant, &w.store).await.expect("poll"),
        150
    );
    assert_eq!(
        w.fakes.quoting.script.count("list_ready_quotes"),
        2,
        "two pages of 100"
    );
    assert_eq!(
        poller::poll_once(&w.tenant, &w.store).await.expect("poll"),
        0,
        "nothing twice"
    );
    let job = w.job("150").await;
    assert_eq!(job.state, JobState::Queued);
    let cp: Checkpoint = serde_json::from_value(job.checkpoint).expect("checkpoint");
    assert_eq!(cp.quote_id, "150");
}

#[tokio::test]
async fn each_poll_slot_asks_the_quoting_system_on_one_node_only() {
    let w = World::empty();
    *w.fakes.quoting.ready.lock().expect("lock") = vec![QuoteSummary {
        id: "1".into(),
        number: "Q-1".into(),
        revision: None,
        status: "Approved".into(),
        modified_at: None,
    }];
    let slot = |slot, node| poller::poll_slot(&w.tenant, &w.store, slot, node);
    assert_eq!(slot(7, "node-a").await.expect("poll"), Some(1));
    assert_eq!(
        slot(7, "node-b").await.expect("poll"),
        None,
        "another node's slot"
    );
    assert_eq!(w.fakes.quoting.script.count("list_ready_quotes"), 1);
    assert_eq!(slot(8, "node-b").await.expect("poll"), Some(0));
    assert_eq!(w.fakes.quoting.script.count("list_ready_quotes"), 2);
}

#[tokio::test]
async fn each_status_poll_slot_reads_the_open_orders_on_one_node_only() {
    let w = World::empty();
    w.store
        .put_link(TENANT, crate::status::ORDER_LINK, "17", "ORD1", Some("22"))
        .await
        .expect("order");
    let slot = |slot, node| crate::status::poll_slot(&w.tenant, &w.store, slot, node);
    assert_eq!(slot(3, "node-a").await.expect("poll"), Some(0));
    assert_eq!(slot(3, "node-b").await.expect("poll"), None);
    assert_eq!(w.fakes.erp.script.count("get_order_status"), 1);
    slot(4, "node-b").await.expect("poll");
    assert_eq!(w.fakes.erp.script.count("get_order_status"), 2);
}
