//! Issue 13 screen 5 end to end (the real `ferry serve`, both simulators, loopback): a quote
//! whose part number is one character off a real M3 item (a letter O for a zero) is held;
//! the admin API's suggested fixes list that item first; accepting it releases the hold and
//! the order is created in M3 with the right item.

use ferry_tests::holds::{HeldQuote, hold_a_mistyped_item, tenant_token, wait_for};
use ferry_tests::stack::{Options, Stack, TENANT};
use serde_json::{Value, json};

#[test]
fn a_mistyped_part_number_is_held_and_accepting_the_suggested_item_creates_the_order() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let HeldQuote {
        id,
        doc_no,
        meant,
        typed,
    } = hold_a_mistyped_item(&stack, "Q7001", "PO-FIX", 3);
    let token = tenant_token(&stack);
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
