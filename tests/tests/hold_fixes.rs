//! Issue 13 screen 5 end to end (the real `ferry serve`, both simulators, loopback): a quote
//! whose part number is one character off a real M3 item (a letter O for a zero) is held;
//! the admin API's suggested fixes list that item first; accepting it releases the hold and
//! the order is created in M3 with the right item.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_tests::ferry;
use ferry_tests::orders::{d, definite_customers, sellable_items};
use ferry_tests::stack::{Options, READY, Stack, TENANT};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn quote(doc_no: &str, sold_to: SoldTo, line: NewLine) -> NewQuote {
    NewQuote {
        sold_to,
        ship_to: None,
        doc_no: Some(doc_no.into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: "PO-FIX".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: vec![line],
    }
}

fn wait_for(stack: &Stack, id: i64, state: &str) -> Option<String> {
    let start = Instant::now();
    loop {
        let jobs = stack.jobs();
        if let Some(j) = jobs.iter().find(|j| j.0 == id.to_string() && j.1 == state) {
            return j.2.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "quote {id} never became {state}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_mistyped_part_number_is_held_and_accepting_the_suggested_item_creates_the_order() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    // A real item with a zero after its prefix, typed with a letter O instead.
    let meant = sellable_items()
        .into_iter()
        .find(|i| i.get(3..).is_some_and(|n| n.contains('0')))
        .expect("an item number with a zero");
    let at = 3 + meant[3..].find('0').expect("a zero");
    let typed = format!("{}O{}", &meant[..at], &meant[at + 1..]);
    let customers = definite_customers();
    let (id, doc_no) = stack.create_quote(&quote(
        "Q7001",
        SoldTo::from_seed(&customers[0]),
        NewLine::product(&typed, d(3)).with_price(d(10)),
    ));
    stack.set_status(id, READY);
    let why = wait_for(&stack, id, "held").unwrap_or_default();
    assert!(why.contains(&typed), "held for the typed number: {why}");
    assert!(stack.m3_orders().iter().all(|o| o.cuor != doc_no));

    let token = ferry(&stack.data, &["tokens", "create", "--tenant", TENANT])
        .expect_code(0)
        .stdout
        .trim()
        .to_string();
    let url = format!(
        "{}/api/v1/tenants/{TENANT}/holds/{doc_no}/fixes",
        stack.ferry_url()
    );
    let http = reqwest::blocking::Client::new();
    let fixes: Value = http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .expect("GET fixes")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json");
    let problem = &fixes["problems"][0];
    assert_eq!(problem["kind"], "item", "{fixes}");
    assert_eq!(problem["from"], typed.as_str(), "{fixes}");
    let first = &problem["suggestions"][0];
    assert_eq!(first["id"], meant.as_str(), "the real item first: {fixes}");
    println!("suggestions for {typed}: {}", problem["suggestions"]);

    let accepted: Value = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"kind": "item", "from": typed, "to": meant}))
        .send()
        .expect("POST fixes")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json");
    assert_eq!(accepted["released"], true, "{accepted}");

    wait_for(&stack, id, "done");
    let orders = stack.m3_orders();
    let order = orders
        .iter()
        .find(|o| o.cuor == doc_no)
        .expect("the order in M3");
    let items: Vec<&str> = order.lines.iter().map(|l| l.itno.as_str()).collect();
    assert_eq!(items, vec![meant.as_str()], "{order:?}");
}
