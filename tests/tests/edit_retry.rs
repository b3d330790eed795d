//! Issue 13 screen 4, edit-and-retry, end to end (the real `ferry serve`, both simulators,
//! loopback): a quote whose part number M3 doesn't know (a letter O for a zero) stops after
//! mapping; the operator PUTs the mapped order with the real item; the run goes on and M3
//! holds exactly one order for the quote, with the corrected item; editing the finished run
//! again is 409.

use ferry_tests::holds::{HeldQuote, hold_a_mistyped_item, tenant_token, wait_for};
use ferry_tests::runs::{plugin_calls, requested, run_detail};
use ferry_tests::stack::{Options, Stack, TENANT};
use serde_json::Value;

#[test]
fn a_stopped_quotes_corrected_order_is_sent_once_and_a_finished_run_cant_be_edited() {
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
    } = hold_a_mistyped_item(&stack, "Q7101", "PO-EDIT", 2);
    let token = tenant_token(&stack);
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

    // The run detail (screen 3): each step's plugin calls with the M3 requests they sent.
    let detail = run_detail(&stack, &doc_no, None);
    let calls = plugin_calls(&detail);
    let head = calls
        .iter()
        .find(|c| requested(c, "OIS100MI/AddBatchHead"))
        .unwrap_or_else(|| panic!("no AddBatchHead request in {}", detail["steps"]));
    assert_eq!(head["role"], "erp", "{head}");
    assert_eq!(
        head["plugin"]["digest"].as_str().map(str::len),
        Some(12),
        "{head}"
    );
    assert!(head["plugin"]["contract"].is_string(), "{head}");
    let text = detail.to_string().to_lowercase();
    assert!(!text.contains("bearer ey"), "a token in the run detail");

    // Done: M3 holds its order, so editing it again is refused and changes nothing.
    let again = put(&corrected);
    assert_eq!(again.status().as_u16(), 409);
    let orders = stack.m3_orders();
    assert_eq!(orders.iter().filter(|o| o.cuor == doc_no).count(), 1);
}
