//! A SyncCustomerPartyMaster BOD on the ERP events endpoint carries M3's change of a linked
//! customer to its QuoteWerks contact and open document without waiting for a sync run, over
//! the real binary and both simulators; the next `ferry sync customers` finds nothing to write.
//! One customer's BODs are durable jobs applied in arrival order, a kill between them loses none.

use std::io::Write as _;
use std::time::{Duration, Instant};

use ferry_sim::m3::CustomerChange;
use ferry_sim::seed::SeedCustomer;
use ferry_tests::customers::{contact_city, move_and_post, newest_bod, open_quote};
use ferry_tests::orders::definite_customers;
use ferry_tests::runs::{plugin_calls, requested, run_detail};
use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_json};

fn sold_to_city(stack: &Stack, id: i64) -> String {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("the QuoteWerks database");
    db.query_row(
        "SELECT CAST(SoldToCity AS TEXT) FROM DocumentHeaders WHERE ID = ?1",
        [id],
        |r| r.get(0),
    )
    .expect("header")
}

/// A stack whose customer sync links M3's first definite customer to an open QuoteWerks quote
/// (account `account`) and creates nothing in M3: the stack, that customer, the quote's id.
fn linked_customer(account: &str) -> (Stack, SeedCustomer, i64) {
    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&stack.config)
        .expect("config");
    writeln!(
        config,
        "\n[tenants.{TENANT}.sync.customers]\ncreate_in_m3 = false"
    )
    .expect("write config");
    drop(config);
    drop(listener);
    stack.start_ferry();

    let linked = definite_customers().remove(0);
    let q = open_quote(&linked, account);
    let open = stack.create_quote(&q).0;
    let first = sync_json(&stack, "customers", &["--full"]);
    assert!(count(&first, "linked") >= 1, "{first}");
    (stack, linked, open)
}

#[test]
fn a_customer_bod_updates_the_linked_quotewerks_contact_and_open_document() {
    let (stack, linked, open) = linked_customer("CM90002");

    // M3 changes the customer and sends its BOD; no sync runs.
    stack
        .m3
        .change_customer(
            &linked.cuno,
            &CustomerChange {
                town: Some("Bodtown".into()),
                ..Default::default()
            },
        )
        .expect("change");
    let bod = newest_bod(&stack, &linked.cuno);
    let (status, reply) = stack.post_bod(&bod).expect("post");
    assert_eq!(status, 202, "{reply}");

    let start = Instant::now();
    while contact_city(&stack, "CM90002") != "Bodtown" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the contact's city is still {:?}",
            contact_city(&stack, "CM90002")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(sold_to_city(&stack, open), "Bodtown");

    // The change's run detail (issue 13) shows the M3 read its job made (written once the
    // job committed, a moment after the contact changed).
    let (jobs, _) = customer_jobs(&stack, &linked.cuno);
    let key = jobs.last().expect("the BOD's job").0.replace('/', "%2F");
    let read_m3 = |detail: &serde_json::Value| {
        plugin_calls(detail)
            .iter()
            .any(|c| c["role"] == "erp" && requested(c, "CRS610MI"))
    };
    let start = Instant::now();
    loop {
        let detail = run_detail(&stack, &key, Some("customer-sync"));
        if read_m3(&detail) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no CRS610MI request in {}",
            detail["steps"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The BOD's write is Ferry's own: the next run writes nothing back to M3 or QuoteWerks.
    let next = sync_json(&stack, "customers", &[]);
    for what in ["inserted", "updated", "linked", "failed"] {
        assert_eq!(count(&next, what), 0, "{what}: {next}");
    }
}

/// The customer flow's jobs for `cuno` in queue order (key, state), and the `applied` trail
/// entries (job key, message) in the order they were written, from Ferry's SQLite store.
type Applied = (Vec<(String, String)>, Vec<(String, String)>);
fn customer_jobs(stack: &Stack, cuno: &str) -> Applied {
    let path = ferry_layout::DataDir::new(&stack.data).db();
    let db = rusqlite::Connection::open(path).expect("the store");
    let suffix = format!("%/customer/{cuno}");
    let mut st = db
        .prepare(
            "SELECT key, state FROM jobs WHERE kind = 'customer-sync' AND key LIKE ?1 ORDER BY id",
        )
        .expect("prepare");
    let jobs = st
        .query_map([&suffix], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("jobs")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut st = db
        .prepare("SELECT key, message FROM audit WHERE kind = 'customer-sync' AND step = 'applied' AND key LIKE ?1 ORDER BY id")
        .expect("prepare");
    let applied = st
        .query_map([&suffix], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("audit")
        .collect::<Result<_, _>>()
        .expect("rows");
    (jobs, applied)
}

#[test]
fn one_customers_bods_are_applied_in_order_and_none_is_lost_to_a_kill() {
    let (mut stack, linked, _) = linked_customer("CM90003");

    let towns = ["Ayton", "Beeston", "Catton"];
    move_and_post(&stack, &linked.cuno, towns[0]);
    move_and_post(&stack, &linked.cuno, towns[1]);
    // Killed right after M3's second BOD was accepted: it must not be lost.
    stack.kill_ferry();
    stack.start_ferry();
    move_and_post(&stack, &linked.cuno, towns[2]);

    let start = Instant::now();
    let (jobs, applied) = loop {
        let (jobs, applied) = customer_jobs(&stack, &linked.cuno);
        let done = jobs.len() == 3 && jobs.iter().all(|(_, s)| s == "done");
        if done && contact_city(&stack, "CM90003") == towns[2] {
            break (jobs, applied);
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "jobs {jobs:?}, applied {applied:?}, contact {:?}",
            contact_city(&stack, "CM90003")
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Each BOD applied once, in the order the BODs came (the trail's order is the jobs').
    let queued: Vec<&String> = jobs.iter().map(|(k, _)| k).collect();
    let ran: Vec<&String> = applied.iter().map(|(k, _)| k).collect();
    assert_eq!(ran, queued, "{applied:?}");
    // Each applied M3 as it was when it ran: never an older town after a newer one.
    let seen: Vec<usize> = applied
        .iter()
        .map(|(k, m)| {
            towns
                .iter()
                .position(|t| m.contains(t))
                .unwrap_or_else(|| panic!("{k}: no town in {m}"))
        })
        .collect();
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{applied:?}");
    assert_eq!(seen.last(), Some(&2), "{applied:?}");
}
