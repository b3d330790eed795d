//! The catalog sync on the in-memory fakes and store: only changed products written, a
//! discontinued item written inactive, a crashed run resumed at its page, the delta from the
//! stored cursor.

use ferry_domain::{ErrorClass, Value};
use ferry_store::{Jobs, MemoryStore, Outcome, SyncState};

use super::*;
use crate::RetryPolicy;
use crate::catalog_fakes::item;
use crate::fakes::{Fail, Fakes, role_error};

const TENANT: &str = "acme";

fn assert_done(outcome: Outcome) {
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
}

struct World {
    store: MemoryStore,
    fakes: Fakes,
    tenant: Tenant,
}

impl World {
    /// `n` released items `A001`.. in the ERP.
    fn new(n: usize) -> Self {
        let fakes = Fakes::default();
        for i in 1..=n {
            let it = item(&format!("A{i:03}"), &format!("Item {i}"), "20");
            fakes.items.put_at(it, "2020-01-01T00:00:00Z");
        }
        let tenant = Tenant {
            name: TENANT.into(),
            policy: Default::default(),
            retry: RetryPolicy {
                initial_interval_ms: 1_000,
                backoff_coefficient: 2,
                maximum_interval_ms: 60_000,
                maximum_attempts: 5,
            },
            roles: fakes.roles(),
            transform_settings: vec![],
        };
        Self {
            store: MemoryStore::new(),
            fakes,
            tenant,
        }
    }

    fn policy() -> CatalogPolicy {
        CatalogPolicy {
            page_size: 2,
            batch_size: 2,
            ..CatalogPolicy::default()
        }
    }

    /// Queues a run and works it as a worker would until it ends; the last outcome.
    async fn sync(&self, mode: Mode) -> Outcome {
        queue(&self.store, TENANT, mode, &Self::policy())
            .await
            .expect("queue");
        self.work().await
    }

    /// Claims and runs the queued job until it is no longer queued.
    async fn work(&self) -> Outcome {
        loop {
            let claim = self
                .store
                .claim("test-0", 1, 60_000, now_ms() + 3_600_000)
                .await
                .expect("claim")
                .pop()
                .expect("a queued catalog job");
            let outcome = run(&self.tenant, &self.store, &claim).await;
            self.store
                .finish(&claim, outcome.clone(), now_ms())
                .await
                .expect("finish");
            if !matches!(outcome, Outcome::Retry { .. }) {
                return outcome;
            }
        }
    }

    async fn checkpoint(&self) -> Checkpoint {
        let job = self
            .store
            .job(TENANT, KIND, KEY)
            .await
            .expect("read")
            .expect("the job");
        serde_json::from_value(job.checkpoint).expect("checkpoint")
    }

    fn written(&self) -> Vec<String> {
        self.fakes.products.written()
    }
}

#[tokio::test]
async fn a_full_sync_writes_every_item_then_a_second_writes_nothing() {
    let w = World::new(5);
    assert_done(w.sync(Mode::Full).await);
    let first = w.checkpoint().await.report;
    assert_eq!((first.read, first.inserted, first.pages), (5, 5, 3));
    assert_eq!(w.written().len(), 5);
    let row = w.fakes.products.row("A003").expect("A003 written");
    assert_eq!(row.get("Description"), Some(&Value::Text("Item 3".into())));

    assert_done(w.sync(Mode::Full).await);
    let second = w.checkpoint().await.report;
    assert_eq!(
        (
            second.read,
            second.unchanged,
            second.inserted,
            second.updated
        ),
        (5, 5, 0, 0)
    );
    assert_eq!(w.written().len(), 5, "the second run sent nothing");
}

#[tokio::test]
async fn only_the_item_that_changed_is_written_again() {
    let w = World::new(4);
    assert_done(w.sync(Mode::Full).await);
    w.fakes.items.put(item("A002", "Item 2, new text", "20"));
    assert_done(w.sync(Mode::Full).await);
    assert_eq!(&w.written()[4..], ["A002"]);
    let report = w.checkpoint().await.report;
    assert_eq!((report.updated, report.unchanged), (1, 3));
}

#[tokio::test]
async fn a_discontinued_item_becomes_inactive_and_stays() {
    let w = World::new(3);
    assert_done(w.sync(Mode::Full).await);
    w.fakes.items.put(item("A001", "Item 1", "90"));
    // The tenant's own list discontinues A003 whatever its status.
    let mut policy = World::policy();
    policy.discontinued_items = vec!["A003".into()];
    queue(&w.store, TENANT, Mode::Full, &policy)
        .await
        .expect("queue");
    assert_done(w.work().await);
    for key in ["A001", "A003"] {
        let row = w.fakes.products.row(key).expect("still there");
        assert_eq!(row.get("Active"), Some(&Value::Boolean(false)), "{key}");
    }
    let active = w.fakes.products.row("A002").expect("A002");
    assert_eq!(active.get("Active"), Some(&Value::Boolean(true)));
    assert_eq!(w.checkpoint().await.report.deactivated, 2);
    assert_eq!(
        w.fakes.products.rows.lock().expect("rows").len(),
        3,
        "none deleted"
    );
}

#[tokio::test]
async fn a_run_that_failed_mid_way_resumes_at_its_page() {
    let w = World::new(6);
    // Pages of two: the first page's write goes through, the second's fails (M3 or SQL
    // Server gone for a moment).
    w.fakes.products.script.fail("upsert_products", Fail::Pass);
    w.fakes.products.script.fail(
        "upsert_products",
        Fail::Before(role_error(ErrorClass::Transient, "connection reset")),
    );
    queue(&w.store, TENANT, Mode::Full, &World::policy())
        .await
        .expect("queue");
    let claim = w
        .store
        .claim("test-0", 1, 60_000, now_ms())
        .await
        .expect("claim")
        .pop()
        .expect("job");
    let outcome = run(&w.tenant, &w.store, &claim).await;
    assert!(matches!(outcome, Outcome::Retry { .. }), "{outcome:?}");
    w.store
        .finish(&claim, outcome, now_ms())
        .await
        .expect("finish");
    let stopped = w.checkpoint().await;
    assert_eq!(stopped.cursor.as_deref(), Some("2"), "at the second page");
    assert!(!stopped.finished);

    assert_done(w.work().await);
    let pages: Vec<String> = w
        .fakes
        .items
        .script
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("list_items"))
        .collect();
    // Each page's successor is listed while it is written: the third page ("4") was read
    // ahead of the failed write and is read again after it; the first page never is.
    assert_eq!(
        pages,
        [
            "list_items",
            "list_items 2",
            "list_items 4",
            "list_items 2",
            "list_items 4"
        ],
        "the first page is not read again"
    );
    let mut written = w.written();
    written.sort();
    written.dedup();
    assert_eq!(written.len(), 6, "every item arrived");
    assert_eq!(w.written().len(), 6, "none written twice");
}

#[tokio::test]
async fn a_delta_reads_only_what_changed_since_the_last_run() {
    let w = World::new(3);
    // No cursor yet: the delta reads everything (and sets the cursor when it ends).
    assert_done(w.sync(Mode::Delta).await);
    assert_eq!(
        w.fakes.items.script.count("list_items"),
        2,
        "two pages of every item"
    );
    assert_eq!(w.fakes.items.script.count("list_items_changed"), 0);
    let cursor = w
        .store
        .cursor(TENANT, CURSOR)
        .await
        .expect("read")
        .expect("a cursor after the first run");

    w.fakes.items.put(item("A003", "Item 3, renamed", "20"));
    assert_done(w.sync(Mode::Delta).await);
    assert_eq!(
        w.fakes.items.script.calls().last().map(String::as_str),
        Some(format!("list_items_changed {cursor}").as_str())
    );
    let report = w.checkpoint().await.report;
    assert_eq!((report.read, report.updated), (1, 1), "{report:?}");
    assert_eq!(&w.written()[3..], ["A003"]);
}

#[test]
fn the_schedule_is_a_number_and_a_unit_and_off_by_default() {
    let every = |s: &str| {
        CatalogPolicy {
            every: Some(s.into()),
            ..CatalogPolicy::default()
        }
        .interval()
    };
    assert_eq!(CatalogPolicy::default().interval(), Ok(None));
    assert_eq!(every("15m"), Ok(Some(std::time::Duration::from_secs(900))));
    assert_eq!(every("2h"), Ok(Some(std::time::Duration::from_secs(7200))));
    for bad in ["15", "m", "0s", "15 minutes", "-5m"] {
        assert!(every(bad).is_err(), "{bad}");
    }
}

/// Two nodes' timers fire for the same slot, the second after the run the first queued has
/// ended: one run per slot (the job's key alone queued a finished run again).
#[tokio::test]
async fn a_schedule_slot_runs_once_across_nodes_even_after_its_run_ended() {
    let w = World::new(2);
    let policy = World::policy();
    assert!(
        tick(&w.store, TENANT, &policy, 7, "node-a")
            .await
            .expect("tick a")
    );
    assert_done(w.work().await);
    assert_eq!(w.written().len(), 2);

    assert!(
        !tick(&w.store, TENANT, &policy, 7, "node-b")
            .await
            .expect("tick b"),
        "the slot was node-a's"
    );
    let job = w.store.job(TENANT, KIND, KEY).await.expect("read");
    assert_eq!(
        job.map(|j| j.state),
        Some(ferry_store::JobState::Done),
        "nothing queued again"
    );

    assert!(
        tick(&w.store, TENANT, &policy, 8, "node-b")
            .await
            .expect("next slot")
    );
    let job = w.store.job(TENANT, KIND, KEY).await.expect("read");
    assert_eq!(job.map(|j| j.state), Some(ferry_store::JobState::Queued));
}

impl World {
    async fn sync_with(&self, mode: Mode, options: RunOptions) -> (Outcome, CatalogReport) {
        let key = options.key();
        queue_with(&self.store, TENANT, mode, &Self::policy(), options)
            .await
            .expect("queue");
        let outcome = self.work().await;
        let job = self.store.job(TENANT, KIND, key).await.expect("read");
        let cp: Checkpoint =
            serde_json::from_value(job.expect("the job").checkpoint).expect("checkpoint");
        (outcome, cp.report)
    }
}

fn dry() -> RunOptions {
    RunOptions {
        dry_run: true,
        since: None,
    }
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_what_a_real_run_would_write() {
    let w = World::new(5);
    let (outcome, report) = w.sync_with(Mode::Full, dry()).await;
    assert_done(outcome);
    assert_eq!((report.read, report.would_write), (5, 5), "{report:?}");
    assert_eq!(
        report.would_write_keys,
        ["A001", "A002", "A003", "A004", "A005"]
    );
    assert_eq!((report.inserted, report.updated), (0, 0));
    assert!(w.written().is_empty(), "nothing sent to the quoting system");
    assert_eq!(w.fakes.products.script.count("upsert_products"), 0);
    assert_eq!(w.store.cursor(TENANT, CURSOR).await.expect("read"), None);

    // Nothing was recorded either: the real run writes every item.
    assert_done(w.sync(Mode::Full).await);
    assert_eq!(w.written().len(), 5);

    w.fakes.items.put(item("A002", "Item 2, new text", "20"));
    let (_, report) = w.sync_with(Mode::Full, dry()).await;
    assert_eq!((report.would_write, report.unchanged), (1, 4), "{report:?}");
    assert_eq!(report.would_write_keys, ["A002"]);
    assert_eq!(w.written().len(), 5, "still nothing sent");
}

#[tokio::test]
async fn a_run_since_a_date_reads_from_it_and_leaves_the_cursor() {
    let w = World::new(3);
    let options = RunOptions {
        dry_run: false,
        since: Some("2019-06-01".into()),
    };
    let (outcome, report) = w.sync_with(Mode::Delta, options).await;
    assert_done(outcome);
    assert_eq!(report.read, 3);
    assert_eq!(
        w.fakes.items.script.calls().first().map(String::as_str),
        Some("list_items_changed 2019-06-01")
    );
    assert_eq!(
        w.store.cursor(TENANT, CURSOR).await.expect("read"),
        None,
        "a run from a given date does not move the delta's cursor"
    );
}

#[tokio::test]
async fn a_run_whose_node_died_after_its_last_page_is_not_run_again_unless_asked_again() {
    let w = World::new(5);
    queue(&w.store, TENANT, Mode::Full, &World::policy())
        .await
        .expect("queue");
    let now = now_ms();
    // Node a runs the sync to its last page and dies before its `done` is written.
    let first = w.store.claim("node-a-0", 1, 1_000, now).await;
    let first = first.expect("claim").pop().expect("the run");
    assert_done(run(&w.tenant, &w.store, &first).await);
    let listed = w.fakes.items.script.count("list_items");
    // Its lease runs out; node b claims the job and ends it without a second run.
    let later = now + 2_000;
    let second = w.store.claim("node-b-0", 1, 1_000, later).await;
    let second = second.expect("claim").pop().expect("the job comes back");
    let outcome = run(&w.tenant, &w.store, &second).await;
    assert_done(outcome.clone());
    w.store
        .finish(&second, outcome, later)
        .await
        .expect("finish");
    assert_eq!(
        w.fakes.items.script.count("list_items"),
        listed,
        "the ERP is not read again"
    );
    let report = w.checkpoint().await.report;
    assert_eq!(report.inserted, 5, "the run's report stands: {report:?}");
    let trail = ferry_store::Audit::trail(&w.store, TENANT, KEY);
    let trail = trail.await.expect("trail");
    let synced = trail.iter().filter(|e| e.step == "synced").count();
    assert_eq!(synced, 1, "one run: {trail:?}");
    let job = w.store.job(TENANT, KIND, KEY).await.expect("read");
    assert_eq!(job.expect("the job").state, ferry_store::JobState::Done);

    // A run asked for while one runs still runs once more, even if that one's node dies.
    w.fakes.items.put(item("A006", "Item 6", "20"));
    queue(&w.store, TENANT, Mode::Full, &World::policy())
        .await
        .expect("queue");
    let third = w.store.claim("node-a-0", 1, 1_000, later + 10).await;
    let third = third.expect("claim").pop().expect("the second run");
    queue(&w.store, TENANT, Mode::Full, &World::policy())
        .await
        .expect("queue while it runs");
    assert_done(run(&w.tenant, &w.store, &third).await);
    let fourth = w.store.claim("node-b-0", 1, 1_000, later + 5_000).await;
    let fourth = fourth.expect("claim").pop().expect("the job comes back");
    assert_done(run(&w.tenant, &w.store, &fourth).await);
    let report = w.checkpoint().await.report;
    assert_eq!(
        (report.read, report.unchanged),
        (6, 6),
        "the run asked for ran: {report:?}"
    );
}

#[tokio::test]
async fn a_full_asked_for_while_a_delta_waits_its_turn_takes_its_place() {
    let w = World::new(3);
    assert_done(w.sync(Mode::Full).await);
    let policy = World::policy();
    // The schedule's delta is queued; asked again, it stands.
    let delta = queue(&w.store, TENANT, Mode::Delta, &policy).await;
    assert_eq!(delta.expect("queue"), Ingested::Queued);
    let again = queue(&w.store, TENANT, Mode::Delta, &policy).await;
    assert_eq!(again.expect("queue"), Ingested::Duplicate);
    // The operator's full is not swallowed by it: it runs instead, before the delta started.
    let full = queue(&w.store, TENANT, Mode::Full, &policy).await;
    assert_eq!(full.expect("queue"), Ingested::Queued);
    assert_eq!(w.checkpoint().await.mode, Mode::Full);
    // A delta asked for now changes nothing: the full reads every item anyway.
    let late = queue(&w.store, TENANT, Mode::Delta, &policy).await;
    assert_eq!(late.expect("queue"), Ingested::Duplicate);
    assert_done(w.work().await);
    let cp = w.checkpoint().await;
    assert_eq!((cp.mode, cp.report.read), (Mode::Full, 3), "{cp:?}");
    // A delta from a date of its own takes a scheduled delta's place too.
    queue(&w.store, TENANT, Mode::Delta, &policy)
        .await
        .expect("queue");
    let since = RunOptions {
        since: Some("2019-12-31".into()),
        ..RunOptions::default()
    };
    let dated = queue_with(&w.store, TENANT, Mode::Delta, &policy, since).await;
    assert_eq!(dated.expect("queue"), Ingested::Queued);
    assert_eq!(
        w.checkpoint().await.options.since.as_deref(),
        Some("2019-12-31")
    );
}

/// Maps as the fakes' transform does, noting how many products were written when each page
/// was mapped.
struct Watching {
    inner: Arc<dyn ferry_domain::Transform>,
    products: Arc<crate::catalog_fakes::FakeProducts>,
    written_when_mapped: std::sync::Mutex<Vec<usize>>,
}

#[async_trait::async_trait]
impl ferry_domain::Transform for Watching {
    async fn map_document(
        &self,
        kind: &str,
        input: &ferry_domain::Document,
        context: &ferry_domain::Context,
    ) -> ferry_domain::RoleResult<Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>> {
        self.inner.map_document(kind, input, context).await
    }

    async fn map_documents(
        &self,
        kind: &str,
        inputs: &[ferry_domain::Document],
        context: &ferry_domain::Context,
    ) -> ferry_domain::RoleResult<Vec<Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>>> {
        let written = self.products.written().len();
        self.written_when_mapped
            .lock()
            .expect("watch")
            .push(written);
        self.inner.map_documents(kind, inputs, context).await
    }
}

/// The bug: a page was mapped only once the one before it was written (the mapping and the
/// writes, each about a third of a page's time, ran one after the other). Now the next page
/// is listed and mapped while this one is written: page 2 is mapped before page 1's products
/// are written, and every page still lands.
#[tokio::test]
async fn the_next_page_is_mapped_while_this_one_is_written() {
    let mut world = World::new(6);
    let watching = Arc::new(Watching {
        inner: world.fakes.transform.clone(),
        products: world.fakes.products.clone(),
        written_when_mapped: Default::default(),
    });
    world.tenant.roles.transform = watching.clone();
    assert_done(world.sync(Mode::Full).await);
    let seen = watching.written_when_mapped.lock().expect("watch").clone();
    assert_eq!(seen.len(), 3, "a mapping call per page of 2: {seen:?}");
    assert_eq!(
        seen[1], 0,
        "page 2 mapped after page 1 was written: {seen:?}"
    );
    assert_eq!(world.fakes.products.written().len(), 6);
}
