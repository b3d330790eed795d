//! The customer sync against the in-memory fakes of both sides and the memory store.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ferry_store::{Audit, Links, MemoryStore, SyncState};

use super::fakes::{FakeM3, FakeQuoteWerks};
use super::*;

const T: &str = "acme";

struct World {
    m3: Arc<FakeM3>,
    qw: Arc<FakeQuoteWerks>,
    store: MemoryStore,
    policy: CustomerPolicy,
}

impl World {
    fn new() -> Self {
        Self {
            m3: Arc::new(FakeM3::default()),
            qw: Arc::new(FakeQuoteWerks::default()),
            store: MemoryStore::new(),
            policy: CustomerPolicy::default(),
        }
    }

    fn roles(&self) -> CustomerRoles {
        CustomerRoles {
            erp: self.m3.clone(),
            quoting: self.qw.clone(),
        }
    }

    async fn run_with(&self, options: RunOptions) -> Result<CustomerReport, SyncError> {
        sync(T, &self.roles(), &self.store, &self.policy, &options).await
    }

    async fn run(&self) -> CustomerReport {
        match self.run_with(RunOptions::default()).await {
            Ok(r) => r,
            Err(e) => panic!("sync failed: {e}"),
        }
    }

    fn writes(&self) -> (u32, u32, u32) {
        (
            self.m3.creates.load(Ordering::SeqCst),
            self.m3.updates.load(Ordering::SeqCst),
            self.qw.upserts.load(Ordering::SeqCst),
        )
    }
}

fn qw_acme(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SoldToCompany", name.to_string()),
        ("SoldToAddress1", "1 Main St".to_string()),
        ("SoldToCity", "Leeds".to_string()),
    ]
}

fn put_qw(w: &World, id: &str, fields: &[(&str, String)]) {
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.qw.put(id, &f);
}

async fn linked_to(w: &World, id: &str) -> Option<String> {
    w.store
        .link(T, LINK_KIND, id)
        .await
        .ok()
        .flatten()
        .map(|l| l.remote_id)
}

#[tokio::test]
async fn spellings_of_one_company_never_make_a_second_m3_customer() {
    let w = World::new();
    put_qw(&w, "C1", &qw_acme("Acme Ltd."));
    let first = w.run().await;
    assert_eq!((first.inserted, w.m3.count()), (1, 1));
    // Two more QuoteWerks customers spelled otherwise: matched to the same M3 customer.
    put_qw(&w, "C2", &qw_acme("ACME Limited"));
    put_qw(&w, "C3", &qw_acme("Acme, Ltd"));
    let second = w.run().await;
    assert_eq!(second.inserted, 0, "{second:?}");
    assert_eq!(second.linked, 2, "{second:?}");
    assert_eq!(w.m3.count(), 1);
    assert_eq!(w.m3.creates.load(Ordering::SeqCst), 1);
    assert_eq!(linked_to(&w, "C2").await, Some("10001".into()));
    assert_eq!(linked_to(&w, "C3").await, Some("10001".into()));
}

#[tokio::test]
async fn an_existing_m3_customer_is_matched_by_email_before_name() {
    let w = World::new();
    w.m3.put(
        "20001",
        &[
            ("CUNM", "Totally Different Name"),
            ("MAIL", "buy@acme.test"),
        ],
    );
    w.m3.put("20002", &[("CUNM", "Acme Ltd")]);
    let mut fields = qw_acme("Acme Ltd");
    fields.push(("SoldToEmail", "BUY@acme.test".into()));
    put_qw(&w, "C1", &fields);
    let r = w.run().await;
    assert_eq!((r.inserted, r.linked, r.held), (0, 1, 0), "{r:?}");
    let link = w.store.link(T, LINK_KIND, "C1").await.ok().flatten();
    assert_eq!(link.map(|l| l.remote_id), Some("20001".into()));
}

#[tokio::test]
async fn two_candidates_hold_the_customer_with_both_listed_and_create_nothing() {
    let w = World::new();
    w.m3.put("20001", &[("CUNM", "Acme Ltd"), ("CUA1", "North")]);
    w.m3.put("20002", &[("CUNM", "ACME Limited"), ("CUA1", "South")]);
    put_qw(&w, "C1", &qw_acme("Acme, Ltd."));
    let r = w.run().await;
    assert_eq!((r.held, r.inserted, r.linked), (1, 0, 0), "{r:?}");
    let held = &r.holds[0];
    assert_eq!(held.quotewerks_id, "C1");
    assert_eq!(
        held.candidates,
        vec!["20001 Acme Ltd", "20002 ACME Limited"]
    );
    assert_eq!(w.m3.count(), 2);
    assert!(
        w.store
            .link(T, LINK_KIND, "C1")
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let trail = w.store.trail(T, "customer:C1").await.unwrap_or_default();
    assert!(trail.iter().any(|e| e.step == "held"), "{trail:?}");
}

/// Links C1 to a new M3 customer, then changes EMAIL on both sides before the next run.
async fn conflict_on_email(policy: CustomerPolicy, m3_date: &str, qw_time: &str) -> World {
    let mut w = World::new();
    w.policy = policy;
    let mut fields = qw_acme("Acme Ltd");
    fields.push(("SoldToEmail", "old@acme.test".into()));
    put_qw(&w, "C1", &fields);
    w.run().await;
    w.m3.edit("10001", "MAIL", "m3@acme.test", m3_date);
    w.qw.edit("C1", "SoldToEmail", "qw@acme.test", qw_time);
    w
}

fn policy(email: Resolution) -> CustomerPolicy {
    let mut p = CustomerPolicy::default();
    p.conflicts.insert("EMAIL".into(), email);
    p
}

#[tokio::test]
async fn m3_wins_writes_m3s_value_to_quotewerks_and_records_the_conflict() {
    let w = conflict_on_email(
        policy(Resolution::M3Wins),
        "20261201",
        "2026-11-01T00:00:00Z",
    )
    .await;
    let r = w.run().await;
    assert_eq!(w.qw.field("C1", "SoldToEmail"), "m3@acme.test");
    assert_eq!(w.m3.field("10001", "MAIL"), "m3@acme.test");
    assert_eq!(r.conflicts.len(), 1, "{r:?}");
    let c = &r.conflicts[0];
    assert_eq!(
        (c.field.as_str(), c.quotewerks.as_str(), c.m3.as_str()),
        ("EMAIL", "qw@acme.test", "m3@acme.test")
    );
    assert_eq!((c.policy, c.winner), (Resolution::M3Wins, Some(Side::M3)));
    assert_eq!(c.base.as_deref(), Some("old@acme.test"));
}

#[tokio::test]
async fn quotewerks_wins_writes_quotewerks_value_to_m3() {
    let w = conflict_on_email(
        policy(Resolution::QuotewerksWins),
        "20261201",
        "2026-11-01T00:00:00Z",
    )
    .await;
    let r = w.run().await;
    assert_eq!(w.m3.field("10001", "MAIL"), "qw@acme.test");
    assert_eq!(w.qw.field("C1", "SoldToEmail"), "qw@acme.test");
    assert_eq!(r.conflicts[0].winner, Some(Side::Quotewerks));
}

#[tokio::test]
async fn newest_wins_takes_the_later_change_either_way() {
    let w = conflict_on_email(
        policy(Resolution::NewestWins),
        "20261202",
        "2026-12-01T10:00:00Z",
    )
    .await;
    w.run().await;
    assert_eq!(w.qw.field("C1", "SoldToEmail"), "m3@acme.test");
    let w = conflict_on_email(
        policy(Resolution::NewestWins),
        "20261130",
        "2026-12-01T10:00:00Z",
    )
    .await;
    w.run().await;
    assert_eq!(w.m3.field("10001", "MAIL"), "qw@acme.test");
}

#[tokio::test]
async fn review_writes_neither_side_and_holds_the_customer() {
    let w = conflict_on_email(
        policy(Resolution::Review),
        "20261201",
        "2026-12-01T10:00:00Z",
    )
    .await;
    let r = w.run().await;
    assert_eq!(w.m3.field("10001", "MAIL"), "m3@acme.test");
    assert_eq!(w.qw.field("C1", "SoldToEmail"), "qw@acme.test");
    assert_eq!((r.held, r.conflicts[0].winner), (1, None), "{r:?}");
    let trail = w.store.trail(T, "customer:C1").await.unwrap_or_default();
    assert!(trail.iter().any(|e| e.step == "conflict"), "{trail:?}");
}

#[tokio::test]
async fn fields_changed_on_one_side_each_flow_across_without_a_conflict() {
    let w = conflict_on_email(
        policy(Resolution::Review),
        "20261201",
        "2026-12-01T10:00:00Z",
    )
    .await;
    w.m3.edit("10001", "PHNO", "0113 555", "20261201");
    w.qw.edit("C1", "SoldToCity", "York", "2026-12-01T10:00:00Z");
    let r = w.run().await;
    assert_eq!(w.qw.field("C1", "SoldToPhone"), "0113 555");
    assert_eq!(w.m3.field("10001", "TOWN"), "York");
    // Only EMAIL (changed on both sides) is a conflict.
    let fields: Vec<&str> = r.conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["EMAIL"]);
}

#[tokio::test]
async fn a_second_sync_after_a_two_sided_change_changes_nothing() {
    let w = conflict_on_email(
        policy(Resolution::M3Wins),
        "20261201",
        "2026-11-01T00:00:00Z",
    )
    .await;
    w.qw.edit("C1", "SoldToCity", "York", "2026-11-01T00:00:00Z");
    w.run().await;
    let before = w.writes();
    let again = w.run().await;
    assert_eq!(w.writes(), before, "{again:?}");
    assert_eq!(
        (again.updated, again.inserted, again.conflicts.len()),
        (0, 0, 0)
    );
    // And a full run, which reads everything, writes nothing either.
    let full = w
        .run_with(RunOptions {
            full: true,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(w.writes(), before, "{full:?}");
    assert!(full.unchanged >= 2, "{full:?}");
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_says_what_it_would() {
    let w = World::new();
    put_qw(&w, "C1", &qw_acme("Acme Ltd"));
    let r = w
        .run_with(RunOptions {
            dry_run: true,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.inserted, 1);
    assert_eq!(r.would_write, vec!["m3 new: Acme Ltd"]);
    assert_eq!((w.m3.count(), w.writes()), (0, (0, 0, 0)));
    assert!(w.store.cursor(T, CURSOR_M3).await.ok().flatten().is_none());
    // The real run afterwards still creates it.
    assert_eq!(w.run().await.inserted, 1);
}

#[tokio::test]
async fn an_m3_outage_stops_the_run_and_the_next_run_skips_and_duplicates_nothing() {
    let w = World::new();
    for (id, name) in [
        ("C1", "Alpha Ltd"),
        ("C2", "Beta GmbH"),
        ("C3", "Gamma Inc"),
    ] {
        put_qw(&w, id, &qw_acme(name));
    }
    // The third M3 call fails: after C1 was created (find + create + get), C2's search fails.
    w.m3.fail_next.store(0, Ordering::SeqCst);
    let roles = w.roles();
    let outage = Arc::new(FlakyAfter {
        inner: w.m3.clone(),
        ok_calls: 4.into(),
    });
    let flaky = CustomerRoles {
        erp: outage,
        quoting: roles.quoting.clone(),
    };
    let failed = sync(T, &flaky, &w.store, &w.policy, &RunOptions::default()).await;
    assert!(matches!(failed, Err(SyncError::Role(_))), "{failed:?}");
    assert!(
        w.store
            .cursor(T, CURSOR_QUOTEWERKS)
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let r = w.run().await;
    assert_eq!(w.m3.count(), 3, "{r:?}");
    assert_eq!(w.m3.creates.load(Ordering::SeqCst), 3);
    for id in ["C1", "C2", "C3"] {
        assert!(
            w.store
                .link(T, LINK_KIND, id)
                .await
                .ok()
                .flatten()
                .is_some(),
            "{id}"
        );
    }
}

#[tokio::test]
async fn a_customer_created_by_a_run_that_died_before_linking_is_linked_not_made_again() {
    let w = World::new();
    put_qw(&w, "C1", &qw_acme("Acme Ltd"));
    // M3 created it, but the answer never arrived: the next call fails.
    w.m3.put(
        "10001",
        &[
            ("CUNM", "Acme Ltd"),
            ("CUA1", "1 Main St"),
            ("TOWN", "Leeds"),
        ],
    );
    let r = w.run().await;
    assert_eq!((r.inserted, r.linked, w.m3.count()), (0, 1, 1), "{r:?}");
}

#[tokio::test]
async fn an_m3_change_reaches_the_linked_quotewerks_customer_and_not_back() {
    let w = World::new();
    put_qw(&w, "C1", &qw_acme("Acme Ltd"));
    w.run().await;
    w.m3.edit("10001", "CUA1", "2 High St", "20261203");
    let r = w.run().await;
    assert_eq!(w.qw.field("C1", "SoldToAddress1"), "2 High St");
    assert_eq!(
        (r.updated_quotewerks, r.updated_m3, r.conflicts.len()),
        (1, 0, 0),
        "{r:?}"
    );
    let before = w.writes();
    w.run().await;
    assert_eq!(w.writes(), before);
}

#[test]
fn a_policy_naming_an_unsynced_field_is_refused() {
    let mut p = CustomerPolicy::default();
    p.conflicts.insert("FAX".into(), Resolution::Review);
    assert!(p.check().is_err_and(|e| e.contains("FAX")));
    let parsed: CustomerPolicy = serde_json::from_value(serde_json::json!({
        "default": "newest-wins", "conflicts": { "EMAIL": "m3-wins", "NAME": "review" }
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.resolution("EMAIL"), Resolution::M3Wins);
    assert_eq!(parsed.resolution("CITY"), Resolution::NewestWins);
    assert!(parsed.check().is_ok());
}

/// An M3 that answers `ok_calls` calls, then is down (every call transient).
struct FlakyAfter {
    inner: Arc<FakeM3>,
    ok_calls: std::sync::atomic::AtomicU32,
}

impl FlakyAfter {
    fn up(&self) -> RoleResult<()> {
        let left = self.ok_calls.load(Ordering::SeqCst);
        if left == 0 {
            return Err(ferry_domain::RoleError::new(ErrorClass::Transient, "503").into());
        }
        self.ok_calls.store(left - 1, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl ErpCustomers for FlakyAfter {
    async fn get_customer(&self, id: &str) -> RoleResult<Document> {
        self.up()?;
        self.inner.get_customer(id).await
    }
    async fn find_customers(&self, c: &MatchCriteria) -> RoleResult<Vec<Document>> {
        self.up()?;
        self.inner.find_customers(c).await
    }
    async fn create_customer(&self, c: &Document) -> RoleResult<String> {
        self.up()?;
        self.inner.create_customer(c).await
    }
    async fn update_customer(&self, id: &str, c: &Document) -> RoleResult<()> {
        self.up()?;
        self.inner.update_customer(id, c).await
    }
    async fn list_customers_changed(&self, s: &str, p: &PageRequest) -> RoleResult<DocumentPage> {
        self.up()?;
        self.inner.list_customers_changed(s, p).await
    }
}

#[tokio::test]
async fn an_m3_change_reaches_every_quotewerks_customer_linked_to_it() {
    let w = World::new();
    put_qw(&w, "C1", &qw_acme("Acme Ltd."));
    put_qw(&w, "C2", &qw_acme("ACME Limited"));
    w.run().await;
    // A change on both sides of C1: its merge reads M3's new town too.
    w.m3.edit("10001", "TOWN", "York", "20261203");
    w.qw.edit("C1", "SoldToPhone", "0113", "2026-12-03T10:00:00Z");
    w.run().await;
    assert_eq!(w.qw.field("C1", "SoldToCity"), "York");
    assert_eq!(w.qw.field("C2", "SoldToCity"), "York");
    assert_eq!(w.qw.field("C2", "SoldToPhone"), "0113");
    let before = w.writes();
    w.run().await;
    assert_eq!(w.writes(), before);
}
