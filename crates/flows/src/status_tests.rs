//! The status push-back job on in-memory roles and the in-memory store: the
//! status reaches the quote once, failures are retried by the job machinery, and an event
//! that arrives while the job runs makes it run again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;
use ferry_domain::{
    Change, Document, ErrorClass, FieldError, Invoice, Line, MatchCriteria, OrderReceipt,
    RoleError, RoleFailure, RoleResult,
};
use serde_json::json;

use super::*;
use ferry_store::{Audit, JobState, Jobs, Links, MemoryStore};

const TENANT: &str = "acme";

fn unsupported<T>() -> RoleResult<T> {
    Err(RoleError::new(ErrorClass::Unsupported, "not in this fake").into())
}

fn transient<T>() -> RoleResult<T> {
    Err(RoleFailure::Error(RoleError::new(
        ErrorClass::Transient,
        "gateway answered 500",
    )))
}

/// An ERP that knows order statuses; its next `failures` status reads fail as transient.
#[derive(Default)]
struct FakeErp {
    statuses: Mutex<HashMap<String, String>>,
    failures: AtomicU32,
    reads: AtomicU32,
    /// Invoices by order number; with `old_contract` the ERP can't list them.
    invoices: Mutex<HashMap<String, Vec<Invoice>>>,
    old_contract: AtomicBool,
}

#[async_trait]
impl Erp for FakeErp {
    async fn find_customers(&self, _: &MatchCriteria) -> RoleResult<Vec<Document>> {
        unsupported()
    }
    async fn create_customer(&self, _: &Document) -> RoleResult<String> {
        unsupported()
    }
    async fn validate_order(&self, _: &Document) -> RoleResult<Vec<FieldError>> {
        unsupported()
    }
    async fn find_order(&self, _: &str, _: Option<&str>) -> RoleResult<Option<OrderReceipt>> {
        unsupported()
    }
    async fn begin_order(&self, _: &Document, _: &str) -> RoleResult<String> {
        unsupported()
    }
    async fn add_order_lines(&self, _: &str, _: &[Line]) -> RoleResult<()> {
        unsupported()
    }
    async fn confirm_order(&self, _: &str) -> RoleResult<OrderReceipt> {
        unsupported()
    }
    async fn get_order_status(&self, order_number: &str) -> RoleResult<OrderReceipt> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return transient();
        }
        let status = self
            .statuses
            .lock()
            .expect("lock")
            .get(order_number)
            .cloned();
        match status {
            Some(status) => Ok(OrderReceipt {
                order_number: order_number.into(),
                reference: String::new(),
                status,
                line_numbers: Vec::new(),
            }),
            None => Err(RoleError::new(ErrorClass::NotFound, "no such order").into()),
        }
    }
    async fn parse_event(&self, _: &str, _: &[u8]) -> RoleResult<Vec<Change>> {
        unsupported()
    }
    async fn list_order_invoices(&self, order_number: &str) -> RoleResult<Vec<Invoice>> {
        if self.old_contract.load(Ordering::SeqCst) {
            return unsupported();
        }
        let invoices = self.invoices.lock().expect("lock");
        Ok(invoices.get(order_number).cloned().unwrap_or_default())
    }
}

/// A quoting system that records the statuses written to it; its next `failures` writes fail.
#[derive(Default)]
struct FakeQuoting {
    written: Mutex<Vec<(String, String)>>,
    failures: AtomicU32,
    /// (quote, invoice number, date) as written; with `old_contract` it can't write them, and
    /// its next `invoice_failures` writes fail.
    invoices: Mutex<Vec<(String, String, String)>>,
    old_contract: AtomicBool,
    invoice_failures: AtomicU32,
}

#[async_trait]
impl Quoting for FakeQuoting {
    async fn parse_webhook(
        &self,
        _: &ferry_domain::InboundWebhook,
    ) -> RoleResult<ferry_domain::QuoteEvent> {
        unsupported()
    }
    async fn list_ready_quotes(
        &self,
        _: &ferry_domain::PageRequest,
    ) -> RoleResult<ferry_domain::QuotePage> {
        unsupported()
    }
    async fn get_quote(&self, _: &str) -> RoleResult<Document> {
        unsupported()
    }
    async fn mark_transferred(&self, _: &str, _: &str, _: Option<&str>) -> RoleResult<()> {
        unsupported()
    }
    async fn set_status(&self, id: &str, status: &str) -> RoleResult<()> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return transient();
        }
        self.written
            .lock()
            .expect("lock")
            .push((id.into(), status.into()));
        Ok(())
    }
    async fn set_invoice(&self, id: &str, number: &str, date: &str) -> RoleResult<()> {
        if self.old_contract.load(Ordering::SeqCst) {
            return unsupported();
        }
        if self
            .invoice_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return transient();
        }
        self.invoices
            .lock()
            .expect("lock")
            .push((id.into(), number.into(), date.into()));
        Ok(())
    }
}

struct World {
    store: MemoryStore,
    erp: FakeErp,
    quoting: FakeQuoting,
    names: BTreeMap<String, String>,
    retry: RetryPolicy,
}

impl World {
    /// Quote 17 became ERP order ORD1 at status 22.
    async fn new() -> Self {
        let store = MemoryStore::new();
        store
            .put_link(TENANT, ORDER_LINK, "17", "ORD1", Some("22"))
            .await
            .expect("order");
        let erp = FakeErp::default();
        erp.statuses
            .lock()
            .expect("lock")
            .insert("ORD1".into(), "22".into());
        Self {
            store,
            erp,
            quoting: FakeQuoting::default(),
            names: BTreeMap::from([("44".to_string(), "7-M3 Picked".to_string())]),
            retry: RetryPolicy {
                initial_interval_ms: 10,
                backoff_coefficient: 2,
                maximum_interval_ms: 100,
                maximum_attempts: 5,
            },
        }
    }

    fn push(&self) -> StatusPush<'_> {
        StatusPush {
            tenant: TENANT,
            erp: &self.erp,
            quoting: &self.quoting,
            status_names: &self.names,
            invoiced_status: Some("77"),
            retry: &self.retry,
        }
    }

    fn erp_moves_to(&self, status: &str) {
        self.erp
            .statuses
            .lock()
            .expect("lock")
            .insert("ORD1".into(), status.into());
    }

    fn written(&self) -> Vec<(String, String)> {
        self.quoting.written.lock().expect("lock").clone()
    }

    /// An ERP event about ORD1 with this id.
    async fn event(&self, id: &str) -> Ingested {
        let payload = json!({ "bod": id });
        let event = NewEvent {
            source: "erp",
            dedup_key: id,
            payload: &payload,
        };
        queue(&self.store, TENANT, "ORD1", Some(event))
            .await
            .expect("queue")
    }

    /// Claims the push-back job as a worker would (far enough ahead to be past any backoff).
    async fn claim(&self) -> Option<Claim> {
        self.store
            .claim("test-0", 1, 60_000, now_ms() + 3_600_000)
            .await
            .expect("claim")
            .pop()
    }

    async fn state(&self) -> JobState {
        self.store
            .job(TENANT, KIND, "ORD1")
            .await
            .expect("job")
            .expect("a job")
            .state
    }
}

#[tokio::test]
async fn a_moved_status_reaches_the_quote_once_recorded_and_audited() {
    let w = World::new().await;
    assert!(!push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert!(w.written().is_empty(), "an unchanged status writes nothing");

    w.erp_moves_to("44");
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert!(!push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert_eq!(w.written(), [("17".to_string(), "7-M3 Picked".to_string())]);
    let order = w.store.links_by_remote(TENANT, ORDER_LINK, "ORD1").await;
    let order = order.expect("read").into_iter().next();
    assert_eq!(order.and_then(|o| o.state).as_deref(), Some("44"));
    let trail = w.store.trail(TENANT, "17").await.expect("trail");
    assert!(
        trail
            .iter()
            .any(|a| a.step == "status" && a.message.contains("22 → 44")),
        "{trail:?}"
    );

    w.erp_moves_to("55");
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert_eq!(w.written()[1].1, "ERP status 55", "an unnamed status");
}

#[tokio::test]
async fn an_order_ferry_did_not_make_asks_nobody() {
    let w = World::new().await;
    assert!(!push_back(&w.push(), &w.store, "OTHER").await.expect("ok"));
    assert_eq!(w.erp.reads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_failed_push_back_is_retried_until_the_quote_shows_the_status() {
    let w = World::new().await;
    w.erp_moves_to("44");
    w.erp.failures.store(1, Ordering::SeqCst);
    w.quoting.failures.store(1, Ordering::SeqCst);
    assert_eq!(w.event("bod-1").await, Ingested::Queued);
    // The ERP read fails, then the quote write: each attempt is a retry, not the end.
    for _ in 0..2 {
        let claim = w.claim().await.expect("claimed");
        let outcome = run(&w.push(), &w.store, &claim).await;
        assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
        w.store
            .finish(&claim, outcome, now_ms())
            .await
            .expect("finish");
        assert_eq!(w.state().await, JobState::Queued);
        assert!(w.written().is_empty());
    }
    let claim = w.claim().await.expect("claimed");
    let outcome = run(&w.push(), &w.store, &claim).await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    w.store
        .finish(&claim, outcome, now_ms())
        .await
        .expect("finish");
    assert_eq!(w.state().await, JobState::Done);
    assert_eq!(w.written(), [("17".to_string(), "7-M3 Picked".to_string())]);
}

#[tokio::test]
async fn an_event_while_the_job_runs_makes_it_run_once_more() {
    let w = World::new().await;
    assert_eq!(w.event("bod-1").await, Ingested::Queued);
    let claim = w.claim().await.expect("claimed");
    // The job read status 22 (nothing to do); meanwhile the order moved and its event came.
    let outcome = run(&w.push(), &w.store, &claim).await;
    w.erp_moves_to("44");
    assert_eq!(w.event("bod-2").await, Ingested::Queued);
    w.store
        .finish(&claim, outcome, now_ms())
        .await
        .expect("finish");
    assert_eq!(
        w.state().await,
        JobState::Queued,
        "runs again for the newer event"
    );
    let claim = w.claim().await.expect("claimed again");
    assert_eq!(claim.job.attempts, 1, "a rerun starts its attempts afresh");
    let outcome = run(&w.push(), &w.store, &claim).await;
    w.store
        .finish(&claim, outcome, now_ms())
        .await
        .expect("finish");
    assert_eq!(w.state().await, JobState::Done);
    assert_eq!(w.written(), [("17".to_string(), "7-M3 Picked".to_string())]);
}

#[tokio::test]
async fn a_new_event_queues_a_finished_job_again_and_a_redelivered_one_changes_nothing() {
    let w = World::new().await;
    assert_eq!(w.event("bod-1").await, Ingested::Queued);
    let claim = w.claim().await.expect("claimed");
    let outcome = run(&w.push(), &w.store, &claim).await;
    w.store
        .finish(&claim, outcome, now_ms())
        .await
        .expect("finish");
    assert_eq!(w.state().await, JobState::Done);

    assert_eq!(w.event("bod-1").await, Ingested::Duplicate);
    assert_eq!(
        w.state().await,
        JobState::Done,
        "the same event twice changes nothing"
    );
    assert!(w.claim().await.is_none());

    w.erp_moves_to("44");
    assert_eq!(w.event("bod-2").await, Ingested::Queued);
    let claim = w.claim().await.expect("claimed");
    let outcome = run(&w.push(), &w.store, &claim).await;
    w.store
        .finish(&claim, outcome, now_ms())
        .await
        .expect("finish");
    assert_eq!(w.written(), [("17".to_string(), "7-M3 Picked".to_string())]);
}

impl World {
    /// ORD1 is invoiced twice in the ERP (the later one is the one the quote shows).
    fn erp_invoices(&self) {
        let invoice = |number: &str, date: &str| Invoice {
            number: number.into(),
            date: date.into(),
            amount: Some("120.00".into()),
            currency: Some("EUR".into()),
        };
        self.erp.invoices.lock().expect("lock").insert(
            "ORD1".into(),
            vec![
                invoice("200001", "2026-12-01"),
                invoice("200002", "2026-12-03"),
            ],
        );
    }

    fn invoices_written(&self) -> Vec<(String, String, String)> {
        self.quoting.invoices.lock().expect("lock").clone()
    }
}

#[tokio::test]
async fn an_invoiced_order_writes_its_latest_invoice_to_the_quote_once() {
    let w = World::new().await;
    w.erp_invoices();
    w.erp_moves_to("66");
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert!(w.invoices_written().is_empty(), "not invoiced yet at 66");

    w.erp_moves_to("77");
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert!(!push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert_eq!(
        w.invoices_written(),
        [("17".into(), "200002".into(), "2026-12-03".into())]
    );
    let trail = w.store.trail(TENANT, "17").await.expect("trail");
    assert!(
        trail
            .iter()
            .any(|a| a.step == "invoice" && a.message.contains("invoice 200002 of 2026-12-03")),
        "{trail:?}"
    );
}

#[tokio::test]
async fn an_order_that_skips_straight_past_invoiced_still_brings_its_invoice() {
    let w = World::new().await;
    w.erp_invoices();
    w.erp_moves_to("90");
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert_eq!(w.invoices_written().len(), 1);
}

#[tokio::test]
async fn plugins_without_invoices_skip_the_write_and_the_status_still_arrives() {
    for (erp_old, quoting_old) in [(true, false), (false, true)] {
        let w = World::new().await;
        w.erp_invoices();
        w.erp.old_contract.store(erp_old, Ordering::SeqCst);
        w.quoting.old_contract.store(quoting_old, Ordering::SeqCst);
        w.erp_moves_to("77");
        assert!(
            push_back(&w.push(), &w.store, "ORD1")
                .await
                .expect("not a failure")
        );
        assert!(w.invoices_written().is_empty());
        assert_eq!(w.written().len(), 1, "the status is written all the same");
        let order = w.store.links_by_remote(TENANT, ORDER_LINK, "ORD1").await;
        let order = order.expect("read").into_iter().next();
        assert_eq!(order.and_then(|o| o.state).as_deref(), Some("77"));
    }
}

#[tokio::test]
async fn a_failed_invoice_write_retries_the_push_back_until_it_lands() {
    let w = World::new().await;
    w.erp_invoices();
    w.erp_moves_to("77");
    w.quoting.invoice_failures.store(1, Ordering::SeqCst);
    assert!(push_back(&w.push(), &w.store, "ORD1").await.is_err());
    assert!(w.invoices_written().is_empty());
    // The status is not recorded as pushed, so the retry writes the invoice.
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert_eq!(w.invoices_written().len(), 1);
}

#[tokio::test]
async fn no_invoiced_status_means_no_invoice_calls() {
    let w = World::new().await;
    w.erp_invoices();
    w.erp_moves_to("77");
    let push = StatusPush {
        invoiced_status: None,
        ..w.push()
    };
    assert!(push_back(&push, &w.store, "ORD1").await.expect("ok"));
    assert!(w.invoices_written().is_empty());
}

#[tokio::test]
async fn an_order_invoiced_before_its_invoice_is_listed_retries_until_the_invoice_arrives() {
    let w = World::new().await;
    w.erp_moves_to("77");
    let early = push_back(&w.push(), &w.store, "ORD1").await;
    let Err(e) = early else {
        panic!("an invoiced order without a listed invoice must not count as pushed back")
    };
    assert!(
        matches!(
            crate::outcome_for(&e, 1, &w.retry, now_ms()),
            Outcome::Retry { .. }
        ),
        "retried, not held or dead: {e}"
    );
    let order = w.store.links_by_remote(TENANT, ORDER_LINK, "ORD1").await;
    let order = order.expect("read").into_iter().next();
    assert_eq!(
        order.and_then(|o| o.state).as_deref(),
        Some("22"),
        "not recorded"
    );

    // M3 lists the invoice a moment later: the retry brings it onto the quote.
    w.erp_invoices();
    assert!(push_back(&w.push(), &w.store, "ORD1").await.expect("ok"));
    assert_eq!(
        w.invoices_written(),
        [("17".into(), "200002".into(), "2026-12-03".into())]
    );
}
