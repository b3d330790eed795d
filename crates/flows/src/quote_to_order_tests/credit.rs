//! Credit holds (issue 17): an order past the customer's credit limit is held with the
//! figures before anything is written, and checked again when released; a batch order the ERP
//! stops for credit at confirm (M3 batch status 30) is held the same way, not dead-lettered,
//! and goes through once released, as one order.

use ferry_domain::{ErrorClass, FieldError};

use super::{TENANT, World, held};
use crate::OverCreditLimit;
use crate::fakes::{Fail, role_error};
use crate::now_ms;
use crate::quote_to_order::{CREDIT_FIELD, KIND};
use ferry_store::{JobState, Jobs, Outcome, Release};

const OVER: &str = "credit limit exceeded for customer C1: limit 100, exposure 40, order value 250; raise the limit in M3 (CRS610) or reduce the order, then release";

#[tokio::test]
async fn an_order_past_the_credit_limit_is_held_with_the_figures_and_checked_again_on_release() {
    let w = World::new(2);
    w.fakes.erp.problems.lock().expect("lock").push(FieldError {
        field: CREDIT_FIELD.into(),
        line: None,
        message: OVER.into(),
    });
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert_eq!(
        held(&outcome),
        format!("the ERP would refuse this order: credit: {OVER}")
    );
    assert_eq!(w.erp_calls("begin_order"), 0, "nothing written");

    // The limit is raised in the ERP; the order desk releases the hold.
    w.fakes.erp.problems.lock().expect("lock").clear();
    w.store
        .release(TENANT, KIND, "17", Release::AtCheckpoint, now_ms())
        .await
        .expect("release");
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("validate_order"), 2, "checked again on release");
    assert_eq!(w.erp_calls("confirm_order"), 1);
    assert_eq!(w.job("17").await.state, JobState::Done);
}

#[tokio::test]
async fn a_credit_stop_at_confirm_is_a_hold_and_the_order_goes_through_once_released() {
    let w = World::new(2);
    let stop = "OIS100MI/Confirm: Credit limit exceeded for customer C1: limit 100, exposure 40, order value 250 (OCR0301) [batch order 9000001]";
    w.fakes.erp.script.fail(
        "confirm_order",
        Fail::Before(role_error(ErrorClass::Invalid, stop)),
    );
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert!(held(&outcome).contains(stop), "{outcome:?}");
    assert_eq!(w.job("17").await.state, JobState::Held);
    assert!(
        w.fakes
            .erp
            .order("Q-17")
            .and_then(|o| o.confirmed)
            .is_none()
    );

    w.store
        .release(TENANT, KIND, "17", Release::AtCheckpoint, now_ms())
        .await
        .expect("release");
    assert!(matches!(w.pass().await, Outcome::Done));
    assert!(
        w.fakes
            .erp
            .order("Q-17")
            .and_then(|o| o.confirmed)
            .is_some()
    );
    assert_eq!(
        w.erp_calls("begin_order"),
        2,
        "the release reads the ERP back and reopens the batch order (the connector reuses it)"
    );
    assert_eq!(w.erp_calls("confirm_order"), 2);
}

#[tokio::test]
async fn send_and_flag_sends_the_order_and_flags_it_on_the_quote_and_in_its_trail() {
    let mut w = World::new(2);
    w.tenant.policy.over_credit_limit = OverCreditLimit::SendAndFlag;
    w.tenant.policy.credit_flag_status = Some("Ordered - credit review".into());
    w.fakes.erp.problems.lock().expect("lock").push(FieldError {
        field: CREDIT_FIELD.into(),
        line: None,
        message: OVER.into(),
    });
    w.enqueue("17").await;
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(w.erp_calls("confirm_order"), 1, "sent");
    assert_eq!(w.checkpoint("17").await.credit_flag.as_deref(), Some(OVER));
    let trail = w.trail("17").await;
    assert!(
        trail
            .iter()
            .any(|t| t.starts_with("credit-flag: ") && t.contains(OVER)),
        "{trail:?}"
    );
    let marked = w.fakes.quoting.transferred.lock().expect("lock").clone();
    assert_eq!(
        marked.last().map(|m| m.2.as_deref()),
        Some(Some("Ordered - credit review")),
        "{marked:?}"
    );
}

#[tokio::test]
async fn send_and_flag_still_holds_what_is_not_about_credit() {
    let mut w = World::new(2);
    w.tenant.policy.over_credit_limit = OverCreditLimit::SendAndFlag;
    {
        let mut problems = w.fakes.erp.problems.lock().expect("lock");
        problems.push(FieldError {
            field: CREDIT_FIELD.into(),
            line: None,
            message: OVER.into(),
        });
        problems.push(FieldError {
            field: "ITNO".into(),
            line: Some(1),
            message: "item X9 does not exist".into(),
        });
    }
    w.enqueue("17").await;
    let outcome = w.pass().await;
    let reason = held(&outcome);
    assert!(reason.contains("item X9 does not exist"), "{reason}");
    assert!(
        !reason.contains("credit limit"),
        "the credit finding is not a reason to hold: {reason}"
    );
    assert_eq!(w.erp_calls("begin_order"), 0);
}

#[tokio::test]
async fn send_and_flag_waits_out_an_erp_credit_stop_and_confirms_once_released() {
    let mut w = World::new(2);
    w.tenant.policy.over_credit_limit = OverCreditLimit::SendAndFlag;
    w.tenant.policy.credit_flag_status = Some("Credit review in M3".into());
    let stop = "OIS100MI/Confirm: Credit limit exceeded for customer C1: limit 100, exposure 40, order value 250 (OCR0301) [batch order 9000001]";
    let mut e = ferry_domain::RoleError::new(ErrorClass::Invalid, "");
    e.fields.push(FieldError {
        field: CREDIT_FIELD.into(),
        line: None,
        message: stop.into(),
    });
    w.fakes.erp.script.fail(
        "confirm_order",
        Fail::Before(ferry_domain::RoleFailure::Error(e.clone())),
    );
    w.enqueue("17").await;
    let outcome = w.pass().await;
    assert!(
        matches!(&outcome, Outcome::Wait { reason, .. } if reason.contains(stop)),
        "waits for the ERP, neither held nor retried: {outcome:?}"
    );
    assert_eq!(
        w.fakes.quoting.statuses.lock().expect("lock").clone(),
        [("17".to_string(), "Credit review in M3".to_string())],
        "the rep sees the flag at once"
    );
    let trail = w.trail("17").await;
    assert_eq!(
        trail
            .iter()
            .filter(|t| t.starts_with("credit-flag: "))
            .count(),
        1,
        "{trail:?}"
    );

    // Still stopped on the next look: no second flag.
    w.fakes.erp.script.fail(
        "confirm_order",
        Fail::Before(ferry_domain::RoleFailure::Error(e)),
    );
    assert!(matches!(w.pass().await, Outcome::Wait { .. }));
    assert_eq!(w.fakes.quoting.statuses.lock().expect("lock").len(), 1);

    // The credit department releases it: confirmed once, the usual status with the number.
    assert!(matches!(w.pass().await, Outcome::Done));
    assert_eq!(
        w.erp_calls("begin_order"),
        1,
        "the batch order is kept, not made again"
    );
    let marked = w.fakes.quoting.transferred.lock().expect("lock").clone();
    assert_eq!(
        marked.last().and_then(|m| m.2.clone()).as_deref(),
        Some("Ordered")
    );
    assert_eq!(w.checkpoint("17").await.credit_flag, None);
}
