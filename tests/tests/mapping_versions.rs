//! Issue 13 screen 7, mappings, end to end (the real `ferry serve`, both simulators,
//! loopback): a changed quote-to-order mapping (every line's quantity × 10) saved over the admin
//! API serves the next approved quote, whose M3 order shows the change; the preview maps that
//! quote, the last real one; after a roll back the next quote is ordered by the old mapping.

use ferry_tests::holds::{tenant_token, wait_for};
use ferry_tests::orders::{d, definite_customers, quote, sellable_items, sorted};
use ferry_tests::stack::{Options, READY, Stack, TENANT};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Quote `k` cut to its first two product lines: (id, number, expected (item, quantity)).
fn small_quote(stack: &Stack, k: usize) -> (i64, String, Vec<(String, Decimal)>) {
    let (mut q, _cuno, mut lines, _tax) = quote(k, &sellable_items(), &definite_customers());
    q.lines.truncate(2);
    lines.truncate(2);
    let (id, doc_no) = stack.create_quote(&q);
    stack.set_status(id, READY);
    (id, doc_no, lines)
}

/// The (item, quantity) lines of quote `doc_no`'s one M3 order.
fn ordered(stack: &Stack, doc_no: &str) -> Vec<(String, Decimal)> {
    let orders = stack.m3_orders();
    let mine: Vec<_> = orders.iter().filter(|o| o.cuor.trim() == doc_no).collect();
    assert_eq!(mine.len(), 1, "one M3 order for {doc_no}: {mine:?}");
    sorted(
        mine[0]
            .lines
            .iter()
            .map(|l| {
                (
                    l.itno.trim().to_string(),
                    l.orqt.trim().parse::<Decimal>().expect("ORQT").normalize(),
                )
            })
            .collect(),
    )
}

fn times(lines: &[(String, Decimal)], n: i64) -> Vec<(String, Decimal)> {
    sorted(
        lines
            .iter()
            .map(|(i, q)| (i.clone(), (q * d(n)).normalize()))
            .collect(),
    )
}

#[test]
fn a_saved_mapping_version_orders_the_next_quote_and_a_roll_back_restores_the_old_mapping() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    // k = 1 and 2: plain product lines only (no groups, options or discounts).
    let token = tenant_token(&stack);
    let base = format!(
        "{}/api/v1/tenants/{TENANT}/mappings/quote-to-order",
        stack.ferry_url()
    );
    let http = reqwest::blocking::Client::new();
    let view: Value = http
        .get(&base)
        .bearer_auth(&token)
        .send()
        .expect("GET mapping")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json");
    assert_eq!(view["active_version"], 0, "{view}");
    let shipped = view["text"].as_str().expect("text").to_string();
    let orqt = shipped
        .lines()
        .find(|l| l.starts_with("ORQT = "))
        .expect("the ORQT rule");
    let changed = shipped.replace(
        orqt,
        "ORQT = { value = \"(OrderQuantity ?? QtyTotal) * 10\", type = \"decimal\" }",
    );

    let saved = http
        .post(format!("{base}/versions"))
        .bearer_auth(&token)
        .json(&json!({ "text": changed }))
        .send()
        .expect("POST version");
    assert_eq!(saved.status().as_u16(), 201);
    let saved: Value = saved.json().expect("json");
    assert_eq!(saved["version"], 1, "{saved}");

    let (id, doc_no, lines) = small_quote(&stack, 1);
    wait_for(&stack, id, "done");
    assert_eq!(
        ordered(&stack, &doc_no),
        times(&lines, 10),
        "the saved version ordered it"
    );

    // The preview maps the last real quote: this one.
    let preview: Value = http
        .post(format!("{base}/preview"))
        .bearer_auth(&token)
        .json(&json!({ "text": shipped }))
        .send()
        .expect("POST preview")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json");
    assert_eq!(preview["quote_number"], doc_no.as_str(), "{preview}");
    assert!(preview["output"]["lines"].is_array(), "{preview}");

    let back: Value = http
        .post(format!("{base}/rollback"))
        .bearer_auth(&token)
        .send()
        .expect("POST rollback")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json");
    assert_eq!(back["active_version"], 0, "{back}");

    let (id, doc_no, lines) = small_quote(&stack, 2);
    wait_for(&stack, id, "done");
    assert_eq!(
        ordered(&stack, &doc_no),
        times(&lines, 1),
        "the old mapping again"
    );
}
