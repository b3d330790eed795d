//! The price and stock syncs on in-memory fakes: values land in the product table through
//! the batched calls (ceil(N / batch) of them), a second run writes nothing, only the item
//! whose value changed is written again, a dry run writes nothing, an ERP without the batched
//! calls is served per item with the same result, and a crashed run resumes at its page.

use std::sync::Arc;

use ferry_domain::Value;
use ferry_store::{Jobs, MemoryStore, Outcome};

use super::*;
use crate::RetryPolicy;
use crate::fakes::Fakes;
use crate::prices_fakes::{FakeErp, FakeTable};
use crate::stock::StockPolicy;

const TENANT: &str = "acme";

struct World {
    store: MemoryStore,
    erp: Arc<FakeErp>,
    table: Arc<FakeTable>,
    tenant: Tenant,
}

impl World {
    /// `n` items `A001`.. with list price n.50, customer `C1` price n.00, and stock 10·n in
    /// warehouse `W1` and n in `W2`.
    fn new(n: usize, batched: bool) -> Self {
        Self::with(
            n,
            FakeErp {
                batched,
                ..FakeErp::default()
            },
        )
    }

    fn with(n: usize, erp: FakeErp) -> Self {
        let erp = Arc::new(erp);
        for i in 1..=n {
            let key = format!("A{i:03}");
            erp.set_list(&key, &format!("{i}.50"));
            erp.set_customer(&key, "C1", &format!("{i}.00"));
            erp.set_stock(
                &key,
                &[("W1", &format!("{}", 10 * i)), ("W2", &format!("{i}"))],
            );
        }
        let table = Arc::new(FakeTable::default());
        let mut roles = Fakes::default().roles();
        roles.erp_catalog = erp.clone();
        roles.quoting_catalog = table.clone();
        let tenant = Tenant {
            name: TENANT.into(),
            policy: Default::default(),
            retry: RetryPolicy {
                initial_interval_ms: 1,
                backoff_coefficient: 1,
                maximum_interval_ms: 1,
                maximum_attempts: 5,
            },
            roles,
            transform_settings: vec![],
        };
        Self {
            store: MemoryStore::new(),
            erp,
            table,
            tenant,
        }
    }

    fn prices() -> Policy {
        Policy::Prices(PricesPolicy {
            page_size: 4,
            batch_size: 3,
            customer: Some("C1".into()),
            ..PricesPolicy::default()
        })
    }

    fn stock() -> Policy {
        Policy::Stock(StockPolicy {
            page_size: 4,
            batch_size: 3,
            warehouses: vec!["W1".into()],
            ..StockPolicy::default()
        })
    }

    /// Queues a run and works it as a worker would until it ends; its report.
    async fn sync(&self, policy: &Policy, dry_run: bool) -> ValuesReport {
        let options = RunOptions {
            dry_run,
            ..RunOptions::default()
        };
        self.sync_with(policy, options).await
    }

    async fn sync_with(&self, policy: &Policy, options: RunOptions) -> ValuesReport {
        let dry_run = options.dry_run;
        queue(&self.store, TENANT, policy, options)
            .await
            .expect("queue");
        loop {
            let claim = self
                .store
                .claim("test-0", 1, 60_000, now_ms() + 3_600_000)
                .await
                .expect("claim")
                .pop()
                .expect("a queued job");
            let outcome = run(&self.tenant, &self.store, &claim).await;
            self.store
                .finish(&claim, outcome.clone(), now_ms())
                .await
                .expect("finish");
            match outcome {
                Outcome::Retry { .. } => continue,
                Outcome::Done => break,
                other => panic!("the run ended {other:?}"),
            }
        }
        let job = self
            .store
            .job(TENANT, policy.kind(), policy.key(dry_run))
            .await
            .expect("read")
            .expect("the job");
        let cp: Checkpoint = serde_json::from_value(job.checkpoint).expect("checkpoint");
        cp.report
    }
}

fn dec(s: &str) -> Option<Value> {
    Some(Value::Decimal(s.into()))
}

#[tokio::test]
async fn prices_land_in_batches_and_a_second_run_writes_nothing() {
    let w = World::new(10, true);
    let r = w.sync(&World::prices(), false).await;
    // 10 items in pages of 4 (4, 4, 2), batches of 3 within a page: 2 + 2 + 1 calls.
    assert_eq!((r.read, r.written, r.batches, r.pages), (10, 10, 5, 3));
    assert_eq!(w.erp.calls("get_item_prices"), 5);
    assert_eq!(w.erp.calls("get_item_price"), 0, "no per-item call");
    assert_eq!(w.table.field("A007", "List"), dec("7.50"));
    assert_eq!(w.table.field("A007", "Price"), dec("7.00"));

    let again = w.sync(&World::prices(), false).await;
    assert_eq!((again.written, again.unchanged), (0, 10));
    assert_eq!(w.table.written().len(), 10, "the second run sent nothing");
}

#[tokio::test]
async fn only_the_changed_price_is_written_again() {
    let w = World::new(6, true);
    w.sync(&World::prices(), false).await;
    w.erp.set_list("A004", "99.95");
    let r = w.sync(&World::prices(), false).await;
    assert_eq!((r.written, r.unchanged), (1, 5));
    assert_eq!(w.table.written().last().map(String::as_str), Some("A004"));
    assert_eq!(w.table.field("A004", "List"), dec("99.95"));
}

#[tokio::test]
async fn a_price_delta_reads_only_the_items_changed_since_the_last_run() {
    let w = World::new(10, true);
    w.erp.age();
    let policy = Policy::Prices(PricesPolicy {
        page_size: 4,
        batch_size: 3,
        ..PricesPolicy::default()
    });
    let first = w.sync(&policy, false).await;
    assert_eq!(
        (first.read, first.written),
        (10, 10),
        "no cursor yet: every item"
    );
    assert_eq!(first.since, None);
    w.erp.set_list("A004", "99.95");
    w.erp.set_list("A009", "1.25");
    let delta = w.sync(&policy, false).await;
    assert!(delta.since.is_some(), "{delta:?}");
    assert_eq!((delta.read, delta.written, delta.unchanged), (2, 2, 0));
    assert_eq!(w.erp.calls("list_items_changed"), 1);
    assert_eq!(
        w.erp.calls("list_items"),
        3,
        "only the first run listed every item"
    );
    assert_eq!(w.table.field("A004", "List"), dec("99.95"));
    assert_eq!(w.table.field("A009", "List"), dec("1.25"));
    // Asked for in full: every item read again, nothing written (nothing else changed).
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let all = w.sync_with(&policy, full).await;
    assert_eq!((all.read, all.written, all.since), (10, 0, None));
}

#[tokio::test]
async fn with_a_reference_customer_every_price_run_reads_every_item() {
    // The customer's price may change without the item changing: no delta finds it.
    let w = World::new(6, true);
    w.erp.age();
    w.sync(&World::prices(), false).await;
    w.erp.set_customer("A002", "C1", "0.99");
    let r = w.sync(&World::prices(), false).await;
    assert_eq!((r.read, r.written, r.since), (6, 1, None));
    assert_eq!(w.erp.calls("list_items_changed"), 0);
    assert_eq!(w.table.field("A002", "Price"), dec("0.99"));
}

#[tokio::test]
async fn an_item_without_any_price_is_counted_missing_not_written() {
    let w = World::new(3, true);
    // Stocked, but no list price and no price for C1.
    w.erp.set_stock("B001", &[("W1", "1")]);
    let r = w.sync(&World::prices(), false).await;
    assert_eq!((r.read, r.written, r.missing), (4, 3, 1));
    assert_eq!(w.table.field("B001", "List"), None);
    assert!(!w.table.written().contains(&"B001".to_string()));
}

#[tokio::test]
async fn without_a_reference_customer_only_list_prices_are_written() {
    let w = World::new(2, true);
    let policy = Policy::Prices(PricesPolicy::default());
    let r = w.sync(&policy, false).await;
    assert_eq!(r.written, 2);
    assert_eq!(w.table.field("A001", "List"), dec("1.50"));
    assert_eq!(w.table.field("A001", "Price"), None);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_says_what_would_change() {
    let w = World::new(5, true);
    let r = w.sync(&World::prices(), true).await;
    assert_eq!((r.would_write, r.written), (5, 0));
    assert_eq!(r.would_write_keys.first().map(String::as_str), Some("A001"));
    assert!(w.table.written().is_empty());
    // Nothing recorded either: the real run still writes every item.
    let real = w.sync(&World::prices(), false).await;
    assert_eq!(real.written, 5);
}

#[tokio::test]
async fn an_erp_without_the_batched_calls_is_served_per_item_with_the_same_result() {
    let w = World::new(5, false);
    let r = w.sync(&World::prices(), false).await;
    assert_eq!(r.written, 5);
    assert_eq!(w.erp.calls("get_item_prices"), 0);
    assert_eq!(w.erp.calls("get_item_price"), 5);
    assert_eq!(w.erp.calls("get_customer_price"), 5);
    assert_eq!(w.table.field("A002", "List"), dec("2.50"));
    assert_eq!(w.table.field("A002", "Price"), dec("2.00"));
}

#[tokio::test]
async fn stock_of_the_configured_warehouses_lands_and_only_changes_are_written() {
    let w = World::new(5, true);
    let r = w.sync(&World::stock(), false).await;
    assert_eq!((r.written, r.batches), (5, 3));
    assert_eq!(w.erp.calls("get_stocks"), 3);
    assert_eq!(
        w.table.available("A003"),
        vec![(Some("W1".into()), "30".into())],
        "only W1 counts"
    );
    // W2 changing is not this tenant's stock: nothing written.
    w.erp.set_stock("A002", &[("W1", "20"), ("W2", "7")]);
    w.erp.set_stock("A005", &[("W1", "0")]);
    let r = w.sync(&World::stock(), false).await;
    assert_eq!((r.written, r.unchanged), (1, 4));
    assert_eq!(
        w.table.available("A005"),
        vec![(Some("W1".into()), "0".into())]
    );
}

#[tokio::test]
async fn a_stock_delta_reads_only_the_items_whose_balances_changed() {
    let erp = FakeErp {
        batched: true,
        stock_delta: true,
        ..FakeErp::default()
    };
    let w = World::with(10, erp);
    w.erp.age();
    let first = w.sync(&World::stock(), false).await;
    assert_eq!((first.read, first.written, first.since), (10, 10, None));
    assert_eq!(w.erp.calls("list_stocks_changed"), 0, "no cursor yet");
    let stocks_read = w.erp.calls("get_stocks");
    // A002's W1 balance changed; A007's changed only in W2, which the tenant does not count.
    w.erp.set_stock("A002", &[("W1", "3"), ("W2", "2")]);
    w.erp.set_stock("A007", &[("W1", "70"), ("W2", "1")]);
    let delta = w.sync(&World::stock(), false).await;
    assert!(delta.since.is_some(), "{delta:?}");
    assert_eq!((delta.read, delta.written, delta.unchanged), (2, 1, 1));
    assert_eq!(w.erp.calls("list_stocks_changed"), 1);
    assert_eq!(
        w.erp.calls("get_stocks"),
        stocks_read,
        "the delta read no item's stock one batch at a time"
    );
    assert_eq!(
        w.table.available("A002"),
        vec![(Some("W1".into()), "3".into())]
    );
    // Asked for in full: every item read, nothing written (nothing else changed).
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let all = w.sync_with(&World::stock(), full).await;
    assert_eq!((all.read, all.written, all.since), (10, 0, None));
}

#[tokio::test]
async fn a_stock_run_under_a_changed_policy_reads_every_item_again() {
    let erp = FakeErp {
        batched: true,
        stock_delta: true,
        ..FakeErp::default()
    };
    let w = World::with(5, erp);
    w.erp.age();
    w.sync(&World::stock(), false).await;
    // W2 counts now too: every product's availability changes, though no balance did.
    let both = Policy::Stock(StockPolicy {
        page_size: 4,
        batch_size: 3,
        warehouses: vec!["W1".into(), "W2".into()],
        ..StockPolicy::default()
    });
    let r = w.sync(&both, false).await;
    assert_eq!(
        (r.read, r.written, r.since.is_none()),
        (5, 5, true),
        "{r:?}"
    );
    assert_eq!(w.table.available("A003").len(), 2);
    // The same policy again: a delta, nothing changed.
    let again = w.sync(&both, false).await;
    assert!(again.since.is_some(), "{again:?}");
    assert_eq!((again.read, again.written), (0, 0));
}

#[tokio::test]
async fn an_erp_that_cannot_list_changed_stock_has_every_item_read() {
    let w = World::new(6, true);
    w.erp.age();
    w.sync(&World::stock(), false).await;
    w.erp.set_stock("A004", &[("W1", "1")]);
    let r = w.sync(&World::stock(), false).await;
    assert_eq!(
        w.erp.calls("list_stocks_changed"),
        1,
        "the delta was asked for"
    );
    assert_eq!((r.read, r.written, r.since), (6, 1, None));
    assert_eq!(
        w.table.available("A004"),
        vec![(Some("W1".into()), "1".into())]
    );
}

#[tokio::test]
async fn an_item_stocked_in_no_configured_warehouse_is_available_zero() {
    let w = World::new(2, false);
    w.erp.set_stock("A001", &[("W9", "5")]);
    let r = w.sync(&World::stock(), false).await;
    assert_eq!(r.written, 2);
    assert_eq!(w.table.available("A001"), vec![(None, "0".into())]);
    assert_eq!(w.erp.calls("get_stock"), 2, "per item on an older ERP");
}

#[tokio::test]
async fn a_run_that_failed_on_a_page_resumes_there_without_writing_twice() {
    let w = World::new(10, true);
    *w.erp.fail_page.lock().expect("lock") = Some(2);
    let r = w.sync(&World::prices(), false).await;
    assert_eq!((r.read, r.written, r.pages), (10, 10, 3));
    // The first page was not read again: 1 + failed 1 + 2 more pages.
    assert_eq!(w.erp.calls("list_items"), 4);
    assert_eq!(w.table.written().len(), 10, "no item written twice");
}

#[tokio::test]
async fn a_batch_the_quoting_system_refused_leaves_no_hash_and_is_written_on_the_retry() {
    for policy in [World::prices(), World::stock()] {
        let w = World::new(5, true);
        // The first batch's write fails once; the run retries from its page.
        *w.table.refuse_writes.lock().expect("lock") = 1;
        let r = w.sync(&policy, false).await;
        assert_eq!((r.read, r.written, r.unchanged), (5, 5, 0), "{policy:?}");
        let mut written = w.table.written();
        written.sort();
        assert_eq!(
            written,
            ["A001", "A002", "A003", "A004", "A005"],
            "the refused batch arrived on the retry, each item once: {policy:?}"
        );
        let again = w.sync(&policy, false).await;
        assert_eq!((again.written, again.unchanged), (0, 5), "{policy:?}");
    }
}

#[tokio::test]
async fn a_run_whose_node_died_after_its_last_page_is_not_run_again() {
    let w = World::new(5, true);
    let policy = World::prices();
    queue(&w.store, TENANT, &policy, RunOptions::default())
        .await
        .expect("queue");
    let report = async || {
        let job = w.store.job(TENANT, policy.kind(), policy.key(false)).await;
        let job = job.expect("read").expect("the job");
        let cp: Checkpoint = serde_json::from_value(job.checkpoint).expect("checkpoint");
        cp.report
    };
    let now = now_ms();
    // Node a runs the sync to its last page and dies before its `done` is written.
    let first = w.store.claim("node-a-0", 1, 1_000, now).await;
    let first = first.expect("claim").pop().expect("the run");
    let outcome = run(&w.tenant, &w.store, &first).await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert_eq!(report().await.written, 5);
    // Its lease runs out; node b claims the job and ends it without a second run.
    let later = now + 2_000;
    let second = w.store.claim("node-b-0", 1, 1_000, later).await;
    let second = second.expect("claim").pop().expect("the job comes back");
    let outcome = run(&w.tenant, &w.store, &second).await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    let report = report().await;
    assert_eq!(
        (report.written, report.unchanged),
        (5, 0),
        "the run's report stands: {report:?}"
    );
}

#[tokio::test]
async fn a_full_asked_for_while_a_delta_waits_its_turn_takes_its_place() {
    let w = World::new(5, true);
    w.erp.age();
    let policy = Policy::Prices(PricesPolicy {
        page_size: 4,
        batch_size: 3,
        ..PricesPolicy::default()
    });
    w.sync(&policy, false).await;
    // The schedule's delta is queued; asked again, it stands.
    let delta = queue(&w.store, TENANT, &policy, RunOptions::default()).await;
    assert_eq!(delta.expect("queue"), Ingested::Queued);
    let again = queue(&w.store, TENANT, &policy, RunOptions::default()).await;
    assert_eq!(again.expect("queue"), Ingested::Duplicate);
    // `ferry sync prices --full` runs instead, before the delta started.
    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    let all = w.sync_with(&policy, full).await;
    assert_eq!(all.read, 5, "every item read: {all:?}");
    assert_eq!(all.since, None);
}
