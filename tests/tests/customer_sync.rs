//! The customer sync over the real binary and both simulators: `ferry sync customers` creates
//! the M3 customer of a new QuoteWerks company (a `--dry-run` first writes nothing), links one
//! found by e-mail, holds one that two M3 customers could be (listing both), writes nothing on
//! a second run, carries an M3 change to the QuoteWerks contact and its open documents, and
//! records a `review` conflict with both values.

use std::io::Write as _;

use ferry_sim::m3::CustomerChange;
use ferry_sim::quotewerks::{NewLine, NewQuote};
use ferry_tests::orders::{definite_customers, sellable_items};
use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_json};
use serde_json::{Value, json};

fn m3_db(stack: &Stack) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(stack.m3.db_path()).expect("the M3 database");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    db
}

/// M3 customers (number, name) whose e-mail is `mail`.
fn m3_by_mail(stack: &Stack, mail: &str) -> Vec<(String, String)> {
    let db = m3_db(stack);
    let mut st = db
        .prepare("SELECT cuno, cunm FROM customers WHERE lower(mail) = lower(?1)")
        .expect("prepare");
    st.query_map([mail], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn m3_customers(stack: &Stack) -> i64 {
    m3_db(stack)
        .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0))
        .expect("count")
}

fn header(stack: &Stack, id: i64, column: &str) -> String {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("the QuoteWerks database");
    db.query_row(
        &format!("SELECT CAST({column} AS TEXT) FROM DocumentHeaders WHERE ID = ?1"),
        [id],
        |r| r.get(0),
    )
    .expect("header")
}

fn contact(stack: &Stack, account: &str, column: &str) -> String {
    let contacts = stack.qw.contacts().expect("contacts");
    let c = contacts
        .iter()
        .find(|c| c.get("AccountNo").map(String::as_str) == Some(account))
        .unwrap_or_else(|| panic!("no contact {account}"));
    c.get(column).cloned().unwrap_or_default()
}

fn quote(stack: &Stack, sold_to: Value) -> i64 {
    let mut q: NewQuote = serde_json::from_value(json!({
        "sold_to": sold_to,
        "status": "1-In Progress",
        "lines": [],
    }))
    .expect("quote");
    q.lines = vec![NewLine::product(&sellable_items()[0], 1.into())];
    stack.create_quote(&q).0
}

#[test]
fn customers_go_both_ways_once() {
    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        // The M3 sim then has the customer template that new customers are made from.
        create_customers: true,
        order_entry: "batch",
    });
    // New M3 customers are made from one of the sim's templates (the stack names one the
    // order flow never reaches).
    let text = std::fs::read_to_string(&stack.config).expect("config");
    assert!(text.contains("\"TEMPLATE\""), "{text}");
    std::fs::write(&stack.config, text.replace("\"TEMPLATE\"", "\"TMPLDOM\"")).expect("config");
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&stack.config)
        .expect("config");
    writeln!(
        config,
        "\n[tenants.{TENANT}.sync.customers]\nconflicts = {{ NAME = \"review\" }}"
    )
    .expect("write config");
    drop(config);
    drop(listener);
    stack.start_ferry();

    let known = definite_customers();
    let (linked, twin_a, twin_b) = (&known[0], &known[1], &known[2]);
    // Two M3 customers that one QuoteWerks company name could be.
    for (c, name) in [(twin_a, "Twin Traders Ltd"), (twin_b, "Twin Traders Inc")] {
        stack
            .m3
            .change_customer(
                &c.cuno,
                &CustomerChange {
                    cunm: Some(name.into()),
                    ..Default::default()
                },
            )
            .expect("rename");
    }
    // M3 wants an address for a new customer.
    quote(
        &stack,
        json!({"company": "Brand New Widgets Ltd", "email": "buyer@brandnew.example",
            "address1": "1 Quay Street", "city": "Galway", "country": "IE",
            "cm_account_no": "CM90001"}),
    );
    let open = quote(
        &stack,
        json!({"company": linked.name, "email": linked.email, "cm_account_no": "CM90002"}),
    );
    quote(
        &stack,
        json!({"company": "Twin Traders", "email": "twins@twins.example",
            "cm_account_no": "CM90003"}),
    );
    let before = m3_customers(&stack);

    let dry = sync_json(&stack, "customers", &["--full", "--dry-run"]);
    assert!(
        !dry["would_write"].as_array().expect("list").is_empty(),
        "{dry}"
    );
    assert_eq!(
        m3_customers(&stack),
        before,
        "a dry run created M3 customers: {dry}"
    );

    let first = sync_json(&stack, "customers", &["--full"]);
    assert_eq!(count(&first, "failed"), 0, "{first}");
    let created = m3_by_mail(&stack, "buyer@brandnew.example");
    assert_eq!(created.len(), 1, "{first}");
    assert_eq!(created[0].1, "Brand New Widgets Ltd");
    assert_eq!(m3_customers(&stack), before + 1, "{first}");
    assert!(count(&first, "linked") >= 1, "{first}");
    let holds = first["holds"].as_array().expect("holds");
    let twin = holds
        .iter()
        .find(|h| h["quotewerks_id"] == "CM90003")
        .unwrap_or_else(|| panic!("CM90003 not held: {first}"));
    let candidates = twin["candidates"].to_string();
    assert!(
        candidates.contains(&twin_a.cuno) && candidates.contains(&twin_b.cuno),
        "{twin}"
    );

    // Ferry's own writes are not synced back.
    let second = sync_json(&stack, "customers", &[]);
    for what in ["inserted", "updated", "linked", "failed"] {
        assert_eq!(count(&second, what), 0, "{what}: {second}");
    }

    // A change in M3 reaches the QuoteWerks contact and the customer's open document.
    stack
        .m3
        .change_customer(
            &linked.cuno,
            &CustomerChange {
                town: Some("Newtown".into()),
                ..Default::default()
            },
        )
        .expect("change");
    let third = sync_json(&stack, "customers", &[]);
    assert!(count(&third, "updated_quotewerks") >= 1, "{third}");
    assert_eq!(contact(&stack, "CM90002", "City"), "Newtown");
    assert_eq!(header(&stack, open, "SoldToCity"), "Newtown");
    let fourth = sync_json(&stack, "customers", &[]);
    assert_eq!(count(&fourth, "updated"), 0, "{fourth}");

    // Both sides rename the customer: NAME is `review`, so both values are recorded and
    // neither side is written.
    stack
        .m3
        .change_customer(
            &linked.cuno,
            &CustomerChange {
                cunm: Some("Renamed In M3 AB".into()),
                ..Default::default()
            },
        )
        .expect("rename in M3");
    assert!(
        stack
            .qw
            .edit_contact("CM90002", "Company", "Renamed In QuoteWerks AB")
            .expect("edit contact")
    );
    let fifth = sync_json(&stack, "customers", &[]);
    let conflict = fifth["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .find(|c| c["field"] == "NAME")
        .unwrap_or_else(|| panic!("no NAME conflict: {fifth}"))
        .clone();
    assert_eq!(conflict["m3"], "Renamed In M3 AB", "{conflict}");
    assert_eq!(
        conflict["quotewerks"], "Renamed In QuoteWerks AB",
        "{conflict}"
    );
    assert_eq!(conflict["policy"], "review", "{conflict}");
    assert!(conflict["winner"].is_null(), "{conflict}");
    assert_eq!(
        contact(&stack, "CM90002", "Company"),
        "Renamed In QuoteWerks AB"
    );
    let m3_name: String = m3_db(&stack)
        .query_row(
            "SELECT cunm FROM customers WHERE cuno = ?1",
            [&linked.cuno],
            |r| r.get(0),
        )
        .expect("name");
    assert_eq!(m3_name, "Renamed In M3 AB");
}
