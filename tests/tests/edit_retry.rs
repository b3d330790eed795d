//! Issue 13 screen 4, edit-and-retry, end to end (the real `ferry serve`, both simulators,
//! loopback): a quote whose part number M3 doesn't know (a letter O for a zero) stops after
//! mapping; the operator PUTs the mapped order with the real item; the run goes on and M3
//! holds exactly one order for the quote, with the corrected item; editing the finished run
//! again is 409.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_tests::ferry;
use ferry_tests::orders::{d, definite_customers, sellable_items};
use ferry_tests::stack::{Options, READY, Stack, TENANT};
use rust_decimal::Decimal;
use serde_json::Value;

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
        po_number: "PO-EDIT".into(),
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
fn a_stopped_quotes_corrected_order_is_sent_once_and_a_finished_run_cant_be_edited() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let meant = sellable_items()
        .into_iter()
        .find(|i| i.get(3..).is_some_and(|n| n.contains('0')))
        .expect("an item number with a zero");
    let at = 3 + meant[3..].find('0').expect("a zero");
    let typed = format!("{}O{}", &meant[..at], &meant[at + 1..]);
    let customers = definite_customers();
    let (id, doc_no) = stack.create_quote(&quote(
        "Q7101",
        SoldTo::from_seed(&customers[0]),
        NewLine::product(&typed, d(2)).with_price(d(10)),
    ));
    stack.set_status(id, READY);
    let why = wait_for(&stack, id, "held").unwrap_or_default();
    assert!(why.contains(&typed), "stopped for the unknown item: {why}");
    assert!(stack.m3_orders().iter().all(|o| o.cuor != doc_no));

    let token = ferry(&stack.data, &["tokens", "create", "--tenant", TENANT])
        .expect_code(0)
        .stdout
        .trim()
        .to_string();
    let base = format!(
        "{}/api/v1/tenants/{TENANT}/runs/{doc_no}",
        stack.ferry_url()
    );
    let http = reqwest::blocking::Client::new();
    let detail: Value = http
        .get(&base)
        .bearer_auth(&token)
        .send()
        .expect("GET run")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json");
    let order = &detail["checkpoint"]["order"];
    let text = order.to_string();
    assert!(text.contains(&format!("\"{typed}\"")), "{order}");
    // The operator's correction: the real item where the typo was.
    let corrected: Value = serde_json::from_str(&text.replace(&typed, &meant)).expect("json");

    let put = |body: &Value| {
        http.put(format!("{base}/order"))
            .bearer_auth(&token)
            .json(body)
            .send()
            .expect("PUT order")
    };
    let answer = put(&corrected);
    assert_eq!(answer.status().as_u16(), 200);
    let edited: Value = answer.json().expect("json");
    assert_eq!(edited["run"]["status"], "queued", "{edited}");
    let changed = edited["changed"].as_array().expect("changed");
    assert!(
        changed
            .iter()
            .any(|c| c["was"] == typed.as_str() && c["now"] == meant.as_str()),
        "{edited}"
    );

    wait_for(&stack, id, "done");
    let orders = stack.m3_orders();
    let mine: Vec<_> = orders.iter().filter(|o| o.cuor == doc_no).collect();
    assert_eq!(mine.len(), 1, "exactly one M3 order: {mine:?}");
    let items: Vec<&str> = mine[0].lines.iter().map(|l| l.itno.as_str()).collect();
    assert_eq!(items, vec![meant.as_str()], "{:?}", mine[0]);

    // Done: M3 holds its order, so editing it again is refused and changes nothing.
    let again = put(&corrected);
    assert_eq!(again.status().as_u16(), 409);
    let orders = stack.m3_orders();
    assert_eq!(orders.iter().filter(|o| o.cuor == doc_no).count(), 1);
}
