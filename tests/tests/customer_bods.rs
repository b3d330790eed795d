//! A SyncCustomerPartyMaster BOD on the ERP events endpoint carries M3's change of a linked
//! customer to its QuoteWerks contact and open document without waiting for a sync run, over
//! the real binary and both simulators; the next `ferry sync customers` finds nothing to write.

use std::io::Write as _;
use std::time::{Duration, Instant};

use ferry_sim::m3::CustomerChange;
use ferry_sim::quotewerks::{NewLine, NewQuote};
use ferry_tests::orders::{definite_customers, sellable_items};
use ferry_tests::stack::{ION_TOKEN, Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_json};
use serde_json::{Value, json};

fn contact_city(stack: &Stack, account: &str) -> String {
    let contacts = stack.qw.contacts().expect("contacts");
    contacts
        .iter()
        .find(|c| c.get("AccountNo").map(String::as_str) == Some(account))
        .and_then(|c| c.get("City").cloned())
        .unwrap_or_default()
}

fn sold_to_city(stack: &Stack, id: i64) -> String {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("the QuoteWerks database");
    db.query_row(
        "SELECT CAST(SoldToCity AS TEXT) FROM DocumentHeaders WHERE ID = ?1",
        [id],
        |r| r.get(0),
    )
    .expect("header")
}

/// Posts a BOD as ION does (bearer token, bare XML); the status and the JSON answer.
fn post_bod(stack: &Stack, bod: &str) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/ion/{TENANT}/events", stack.ferry_url()))
        .bearer_auth(ION_TOKEN)
        .header("content-type", "application/xml")
        .body(bod.to_string())
        .send()
        .expect("post");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn a_customer_bod_updates_the_linked_quotewerks_contact_and_open_document() {
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

    let linked = &definite_customers()[0];
    let mut q: NewQuote = serde_json::from_value(json!({
        "sold_to": {"company": linked.name, "email": linked.email, "cm_account_no": "CM90002"},
        "status": "1-In Progress",
        "lines": [],
    }))
    .expect("quote");
    q.lines = vec![NewLine::product(&sellable_items()[0], 1.into())];
    let open = stack.create_quote(&q).0;
    let first = sync_json(&stack, "customers", &["--full"]);
    assert!(count(&first, "linked") >= 1, "{first}");

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
    let bod = stack
        .m3
        .bods()
        .expect("bods")
        .into_iter()
        .rev()
        .find(|b| b.xml.contains("SyncCustomerPartyMaster") && b.xml.contains(&linked.cuno))
        .unwrap_or_else(|| panic!("no SyncCustomerPartyMaster BOD for {}", linked.cuno));
    let (status, reply) = post_bod(&stack, &bod.xml);
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

    // The BOD's write is Ferry's own: the next run writes nothing back to M3 or QuoteWerks.
    let next = sync_json(&stack, "customers", &[]);
    for what in ["inserted", "updated", "linked", "failed"] {
        assert_eq!(count(&next, what), 0, "{what}: {next}");
    }
}
