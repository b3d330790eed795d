//! Issue 15: shadow runs. A candidate transform installed beside the active one maps every
//! live quote too; its answers are recorded and diffed (`ferry plugin shadow report`), never
//! sent: M3 gets one order per quote, mapped by the active version. `promote` makes the
//! candidate live.

use std::time::Duration;

use ferry_tests::orders::{definite_customers, quote, sellable_items};
use ferry_tests::plugin;
use ferry_tests::stack::{Options, READY, Stack};

const TENANT: &str = ferry_tests::stack::TENANT;

#[test]
fn a_shadow_transform_is_reported_with_its_diff_never_reaches_m3_and_goes_live_on_promote() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    // The candidate: the quote-to-order-only example, beside the shipped mapping component.
    let candidate = plugin("example_bundles");
    let digest = stack.install(&candidate, "transform");
    let started = stack.cli(&["plugin", "shadow", &digest, "--tenant", TENANT]);
    assert!(started.stdout.contains("never sent"), "{}", started.stdout);

    let items = sellable_items();
    let customers = definite_customers();
    let (first, _cuno, _lines, _tax) = quote(1, &items, &customers);
    let (first_id, _first_no) = stack.create_quote(&first);
    stack.set_status(first_id, READY);
    let jobs = stack.settle(1, Duration::from_secs(120));
    assert_eq!(jobs[0].1, "done", "{jobs:?}");
    let live_order = stack.m3_orders();
    assert_eq!(
        live_order.len(),
        1,
        "the shadow sent nothing: {live_order:?}"
    );

    let report = stack
        .cli(&["plugin", "shadow", "report", "--tenant", TENANT, "--json"])
        .json();
    eprintln!("{report:#}");
    let differing = report["differing"].as_array().expect("differing");
    let run = differing
        .iter()
        .find(|d| d["kind"] == "quote-to-order")
        .unwrap_or_else(|| panic!("the quote's mapping differs: {report:#}"));
    assert_eq!(run["key"], first_id.to_string(), "{report:#}");
    assert!(
        !run["changes"].as_array().expect("changes").is_empty(),
        "{report:#}"
    );
    assert!(
        report["agreed"].as_u64() < report["total"].as_u64(),
        "{report:#}"
    );
    let text = stack.cli(&["plugin", "shadow", "report", "--tenant", TENANT]);
    assert!(text.stdout.contains("agreement: "), "{}", text.stdout);
    assert!(
        text.stdout
            .contains(&format!("differs: run {first_id} (quote-to-order)")),
        "{}",
        text.stdout
    );

    let promoted = stack.cli(&["plugin", "shadow", "promote", "--tenant", TENANT]);
    assert!(promoted.stdout.contains(&digest), "{}", promoted.stdout);
    let listed = stack
        .cli(&["plugin", "list", "--tenant", TENANT, "--json"])
        .json();
    let active: Vec<_> = listed
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["role"] == "transform" && r["active"] == true)
        .map(|r| r["digest"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(active, std::slice::from_ref(&digest));
    let after = stack
        .cli(&["plugin", "shadow", "report", "--tenant", TENANT, "--json"])
        .json();
    assert_eq!(after["shadow"]["outcome"], "promoted");

    // The old version, shadowed in turn, shows the promoted one serving live: the next
    // quote's live mapping is the candidate's (no FACI), the old one's (FACI) only recorded.
    let old = report["shadow"]["live_digest"]
        .as_str()
        .expect("live digest")
        .to_string();
    stack.cli(&["plugin", "shadow", &old, "--tenant", TENANT]);
    // The server picks up the activation at its next registry refresh (every second).
    std::thread::sleep(Duration::from_millis(2500));
    let (second, _cuno, _lines, _tax) = quote(2, &items, &customers);
    let (second_id, _no) = stack.create_quote(&second);
    stack.set_status(second_id, READY);
    let jobs = stack.settle(2, Duration::from_secs(120));
    assert!(jobs.iter().all(|j| j.1 == "done"), "{jobs:?}");
    assert_eq!(stack.m3_orders().len(), 2, "one order per quote");
    let reverse = stack
        .cli(&["plugin", "shadow", "report", "--tenant", TENANT, "--json"])
        .json();
    assert_eq!(reverse["shadow"]["live_digest"], digest.as_str());
    let second_key = second_id.to_string();
    let run = reverse["differing"]
        .as_array()
        .expect("differing")
        .iter()
        .find(|d| d["kind"] == "quote-to-order" && d["key"].as_str() == Some(second_key.as_str()))
        .unwrap_or_else(|| panic!("the second quote compared: {reverse:#}"))
        .clone();
    let faci = run["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["path"] == "fields.FACI")
        .unwrap_or_else(|| panic!("FACI differs: {run:#}"))
        .clone();
    assert_eq!(faci["live"], serde_json::Value::Null, "{run:#}");
    assert_eq!(faci["shadow"]["text"], "A01", "{run:#}");
    stack.cli(&["plugin", "shadow", "stop", "--tenant", TENANT]);
    let stopped = stack
        .cli(&["plugin", "shadow", "report", "--tenant", TENANT, "--json"])
        .json();
    assert_eq!(stopped["shadow"]["outcome"], "stopped");
}
