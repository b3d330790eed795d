//! Quote to order on in-memory roles (`fakes.rs`) and a real (temporary) SQLite store: each
//! step and its checkpoint, the in-doubt read-back, holds, retries by error class, lines in
//! chunks with progress, and checkpoints written before the domain types.

use ferry_domain::{ErrorClass, FieldError, Issue, QuoteSummary, RoleError, Severity, Value};
use serde_json::Value as Json;

use super::fakes::{Fail, Fakes, no_plugin, role_error};
use super::quote_to_order::{Checkpoint, KIND, run_for};
use super::{RetryPolicy, StepError, Tenant, now_ms, outcome_for, poller};
use crate::config::QuoteToOrderPolicy;
use crate::store::{Claim, JobState, JobStore, NewJob, Outcome, SqliteStore};

const TENANT: &str = "acme";

struct World {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    fakes: Fakes,
    tenant: Tenant,
}

impl World {
    /// Quote 17 (DocNo Q-17, `lines` lines) of customer K1, who is ERP customer C9.
    fn new(lines: usize) -> Self {
        let w = Self::empty();
        w.fakes.add_quote("17", "Q-17", lines);
        w.fakes.erp.add_customer("C9", "k1@example.com", "Kay Corp");
        w
    }

    fn empty() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(&dir.path().join("ferry.db")).expect("store");
        let fakes = Fakes::default();
        let tenant = Tenant {
            name: TENANT.into(),
            policy: QuoteToOrderPolicy {
                transferred_status: Some("Ordered".into()),
                ..QuoteToOrderPolicy::default()
            },
            retry: RetryPolicy {
                initial_interval_ms: 1_000,
                backoff_coefficient: 2,
                maximum_interval_ms: 60_000,
                maximum_attempts: 5,
            },
            roles: fakes.roles(),
            transform_settings: vec![("warehouse".into(), "200".into())],
        };
        Self {
            _dir: dir,
            store,
            fakes,
            tenant,
        }
    }

    fn enqueue(&self, quote: &str) {
        let checkpoint = serde_json::to_value(Checkpoint::new(quote, None)).expect("json");
        let job = NewJob {
            tenant: TENANT,
            kind: KIND,
            key: quote,
            checkpoint,
        };
        assert!(self.store.enqueue(job, now_ms()).expect("enqueue"));
    }

    /// Claims the next job as a worker would (far enough ahead to be past any backoff).
    fn claim(&self) -> Claim {
        self.store
            .claim("test-0", 1, 60_000, now_ms() + 3_600_000)
            .expect("claim")
            .pop()
            .expect("a job to claim")
    }

    /// One worker pass: claim, run, record the outcome; returns the outcome.
    async fn pass(&self) -> Outcome {
        let claim = self.claim();
        let outcome = run_for(&self.tenant, &self.store, &claim).await;
        self.store
            .finish(&claim, outcome.clone(), now_ms())
            .expect("finish");
        outcome
    }

    fn job(&self, quote: &str) -> crate::store::Job {
        self.store
            .job(TENANT, KIND, quote)
            .expect("read")
            .expect("a job")
    }

    fn checkpoint(&self, quote: &str) -> Checkpoint {
        serde_json::from_value(self.job(quote).checkpoint).expect("checkpoint")
    }

    fn trail(&self, quote: &str) -> Vec<String> {
        self.store
            .trail(TENANT, quote)
            .expect("trail")
            .into_iter()
            .map(|a| format!("{}: {}", a.step, a.message))
            .collect()
    }

    fn erp_calls(&self, call: &str) -> usize {
        self.fakes.erp.script.count(call)
    }
}

fn held(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Hold { reason } => reason,
        other => panic!("expected a hold, got {other:?}"),
    }
}

#[tokio::test]
async fn an_approved_quote_becomes_one_order_written_back_to_the_quote() {
    let w = World::new(3);
    w.enqueue("17");
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
    let recorded = w.store.order_by_number(TENANT, &receipt.order_number);
    assert_eq!(
        recorded.expect("read").map(|o| o.quote_id).as_deref(),
        Some("17")
    );
    assert_eq!(w.job("17").state, JobState::Done);
    assert_eq!(w.job("17").step, "written-back");
    let trail = w.trail("17").join("\n");
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
        w.enqueue("17");
        let outcome = w.pass().await;
        assert!(
            matches!(&outcome, Outcome::Retry { error, .. } if error == "transient: gateway said 503"),
            "{call}: {outcome:?}"
        );
        assert_eq!(w.job("17").step, committed, "{call}");
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
    w.enqueue("17");
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert_eq!(
        w.job("17").intent.as_deref(),
        Some("confirm"),
        "left in doubt"
    );

    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("confirm_order"), 1, "never confirmed twice");
    assert_eq!(w.erp_calls("begin_order"), 1);
    assert_eq!(w.erp_calls("find_order"), 2, "read back after the doubt");
    let trail = w.trail("17").join("\n");
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
    w.enqueue("17");
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
    w.enqueue("17");
    assert!(matches!(w.pass().await, Outcome::Done));
    // Quote 18 maps to the same reference, and nothing is in doubt: a duplicate to review.
    w.fakes.add_quote("18", "Q-17", 1);
    w.enqueue("18");
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
    w.enqueue("17");
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert_eq!(
        w.checkpoint("17").lines_added,
        10,
        "the first chunk is committed"
    );
    assert_eq!(w.job("17").step, "head");
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
    let trail = w.trail("17").join("\n");
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
    w.enqueue("17");
    assert!(matches!(w.pass().await, Outcome::Retry { .. }));
    assert_eq!(
        w.checkpoint("17").lines_added,
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
    w.enqueue("17");
    for pass in 1..=5 {
        let outcome = w.pass().await;
        assert!(
            matches!(outcome, Outcome::Retry { .. }),
            "pass {pass}: {outcome:?}"
        );
        assert_eq!(w.checkpoint("17").lines_added, pass * 10);
    }
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(
        w.job("17").attempts,
        6,
        "more attempts than the policy's 3, all moving"
    );
    assert_eq!(w.fakes.erp.order("Q-17").expect("order").lines.len(), 60);
}

#[tokio::test]
async fn no_customer_match_is_held_when_creating_customers_is_off() {
    let w = World::empty();
    w.fakes.add_quote("17", "Q-17", 1);
    w.enqueue("17");
    let outcome = w.pass().await;
    assert!(
        held(&outcome).starts_with(
            "no ERP customer matches customer K1 (email k1@example.com, name Kay Corp), and creating customers is off"
        ),
        "{outcome:?}"
    );
    assert_eq!(w.job("17").state, JobState::Held);
    assert_eq!(w.erp_calls("find_customers"), 2, "by email, then by name");
    assert_eq!(w.erp_calls("create_customer"), 0);
}

#[tokio::test]
async fn no_customer_match_creates_one_when_allowed_and_remembers_it() {
    let mut w = World::empty();
    w.tenant.policy.create_customers = true;
    w.fakes.add_quote("17", "Q-17", 1);
    w.fakes.add_quote("18", "Q-18", 1);
    w.enqueue("17");
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("create_customer"), 1);
    let created = w.fakes.erp.customers.lock().expect("lock")[0].clone();
    assert!(
        created.fields.iter().all(|f| !f.name.starts_with("match:")),
        "match hints are not sent to the ERP: {created:?}"
    );
    assert_eq!(
        w.store
            .xref_get(TENANT, "customer", "K1")
            .expect("xref")
            .as_deref(),
        Some("C1")
    );
    // The next quote of the same customer goes by the cross-reference.
    w.enqueue("18");
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
    w.enqueue("17");
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
    w.enqueue("17");
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
    w.enqueue("17");
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
    w.enqueue("17");
    let outcome = w.pass().await;
    assert_eq!(
        held(&outcome),
        "mapping quote-to-order: lines[1].ORQT: 'lots' is not a decimal [rule lines.ORQT]"
    );
    assert_eq!(w.job("17").step, "customer", "the customer step stays done");
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
    w.enqueue("17");
    assert!(matches!(w.pass().await, Outcome::Done));
    let trail = w.trail("17").join("\n");
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
    w.enqueue("17");
    let outcome = w.pass().await;
    assert_eq!(held(&outcome), "tenant 'acme' has no active erp plugin");
    assert_eq!(w.job("17").state, JobState::Held);
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
        w.enqueue("17");
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
    w.enqueue("17");
    w.pass().await;
    assert_eq!(w.job("17").state, JobState::Dead);
    let dead = w.store.dead_letters(Some(TENANT)).expect("dead letters");
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
    let old = include_str!("testdata/checkpoint-before-domain.json");
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
    w.store.enqueue(job, now_ms()).expect("enqueue");
    let claim = w.claim();
    w.store
        .commit_step(
            &claim,
            "confirmed",
            &claim.job.checkpoint,
            "old code got here",
            None,
        )
        .expect("commit");
    let retry = Outcome::Retry {
        at_ms: now_ms(),
        error: "stopped before the write-back".into(),
    };
    w.store.finish(&claim, retry, now_ms()).expect("finish");
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
    let job = w.job("150");
    assert_eq!(job.state, JobState::Queued);
    let cp: Checkpoint = serde_json::from_value(job.checkpoint).expect("checkpoint");
    assert_eq!(cp.quote_id, "150");
}
