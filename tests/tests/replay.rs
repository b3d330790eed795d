//! Issue 15: replay. A hundred quotes are ordered with the shipped mapping, and one more is held
//! by it (a line of quantity 0). A fixed mapping sets the order type (ORTP) to A02 for quotes
//! whose customer PO number has a 7 in it and leaves out lines of quantity 0: `ferry replay`
//! reports exactly those runs changed (the ordered ones with the one field), and sends nothing.
//! `--post` skips the quotes that have their order (M3 gets no second one), refuses to re-queue
//! the held one until the tenant serves the fixed mapping, then re-queues it: one new order.

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_tests::ferry;
use ferry_tests::orders::{
    approve_all, create_quotes, d, definite_customers, quote, sellable_items, settle_all_done,
};
use ferry_tests::stack::{Options, READY, Stack};

const TENANT: &str = ferry_tests::stack::TENANT;
const QUOTES: usize = 100;

fn cli(stack: &Stack, args: &[&str]) -> ferry_tests::Run {
    let mut all = vec!["replay", "--tenant", TENANT];
    all.extend_from_slice(args);
    stack.ferry(&all)
}

/// The shipped quote-to-order mapping, and the fixed one: ORTP A02 for PO numbers with a 7,
/// and lines of quantity 0 left out.
fn mappings() -> (String, String) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mappings/quote-to-order.toml"
    );
    let shipped = std::fs::read_to_string(path).expect("the shipped mapping");
    let ortp = "ORTP = \"setting.order_type ?? 'A01'\"";
    let lines = "has_flag(LineAttributes, 256))\"";
    assert!(
        shipped.contains(ortp) && shipped.contains(lines),
        "the shipped rules"
    );
    let fixed = shipped
        .replace(
            ortp,
            "ORTP = \"if(contains(SoldToPONumber ?? '', '7'), 'A02', setting.order_type ?? 'A01')\"",
        )
        .replace(
            lines,
            "has_flag(LineAttributes, 256)) and decimal(OrderQuantity ?? QtyTotal) > 0\"",
        );
    (shipped, fixed)
}

/// Waits until the run `key` is in `state`.
fn wait_for(stack: &Stack, key: &str, state: &str) {
    let start = std::time::Instant::now();
    loop {
        let jobs = stack.jobs();
        if jobs.iter().any(|j| j.0 == key && j.1 == state) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "run {key} never {state}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn replay_through_a_fixed_mapping_changes_exactly_the_affected_runs_and_reposting_orders_nothing_twice()
 {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "bulk",
    });
    let expected = create_quotes(&stack, QUOTES);
    approve_all(&stack, &expected);
    settle_all_done(&stack, QUOTES, Duration::from_secs(300));
    assert_eq!(stack.m3_orders().len(), QUOTES);
    // One more quote, with a line of quantity 0: the shipped mapping holds it.
    let (mut zero, _cuno, _lines, _tax) = quote(QUOTES, &sellable_items(), &definite_customers());
    let item = sellable_items()[0].clone();
    zero.lines
        .push(ferry_sim::quotewerks::NewLine::product(&item, d(0)));
    let (held_id, held_no) = stack.create_quote(&zero);
    stack.set_status(held_id, READY);
    let held = held_id.to_string();
    wait_for(&stack, &held, "held");

    // Quote k's PO number is PO-k: the fix changes the ordered quotes whose k has a 7, and
    // maps the held one.
    let mut affected: BTreeSet<String> = expected
        .iter()
        .enumerate()
        .filter(|(k, _)| k.to_string().contains('7'))
        .map(|(_, e)| e.doc_id.to_string())
        .collect();
    assert_eq!(affected.len(), 19);
    affected.insert(held.clone());

    let dir = stack.dir.path();
    let (shipped, fixed_text) = mappings();
    let same = dir.join("same.toml");
    std::fs::write(&same, &shipped).expect("write");
    let fixed = dir.join("fixed.toml");
    std::fs::write(&fixed, &fixed_text).expect("write");
    let fixed = fixed.to_str().expect("utf-8");
    let summary = |r: &serde_json::Value| {
        ["selected", "changed", "unchanged", "failed"].map(|k| r[k].as_u64().unwrap_or(u64::MAX))
    };

    // The shipped mapping replayed maps every ordered run as it was sent (and still refuses
    // the held one).
    let unchanged = cli(
        &stack,
        &["--mapping", same.to_str().expect("utf-8"), "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(summary(&unchanged), [101, 0, 100, 1], "{unchanged:#}");

    let report = cli(&stack, &["--mapping", fixed, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(summary(&report), [101, 20, 81, 0], "{report:#}");
    let runs = report["runs"].as_array().expect("runs");
    let changed: BTreeSet<String> = runs
        .iter()
        .filter(|r| r["outcome"] == "changed")
        .map(|r| r["run"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(changed, affected, "exactly the affected runs changed");
    for run in runs
        .iter()
        .filter(|r| r["outcome"] == "changed" && r["run"] != held.as_str())
    {
        assert_eq!(
            run["changes"],
            serde_json::json!([{"path": "fields.ORTP.text", "sent": "A01", "replayed": "A02"}]),
            "{run:#}"
        );
    }
    assert_eq!(stack.m3_orders().len(), QUOTES, "a dry run sends nothing");

    // The text report: per run, the diff, and the sums.
    let text = cli(&stack, &["--mapping", fixed]).expect_code(0);
    assert!(
        text.stdout
            .contains("101 selected, 20 changed, 81 unchanged, 0 failed; dry run, nothing sent"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  fields.ORTP.text: - \"A01\"  + \"A02\""),
        "{}",
        text.stdout
    );

    // Filters: a time after every run selects nothing; the held status, the held run.
    let later = cli(
        &stack,
        &["--mapping", fixed, "--since", "2999-01-01", "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(later["selected"], 0, "{later:#}");
    let only_held = cli(&stack, &["--mapping", fixed, "--status", "held", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(only_held["selected"], 1, "{only_held:#}");
    assert_eq!(only_held["runs"][0]["run"], held.as_str(), "{only_held:#}");

    // An installed component replays the same way: the quote-to-order-only example maps no
    // FACI, so every ordered run differs there; installing it activated nothing.
    let config = stack.config.to_str().expect("utf-8");
    let example = ferry_tests::plugin("example_bundles");
    let installed = ferry(
        &stack.data,
        &[
            "--config",
            config,
            "plugin",
            "install",
            example.to_str().expect("utf-8"),
            "--tenant",
            TENANT,
            "--role",
            "transform",
        ],
    )
    .expect_code(0);
    let digest = installed
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("installed DIGEST")
        .to_string();
    let by_plugin = cli(&stack, &["--plugin", &digest, "--status", "done", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(by_plugin["selected"], 100, "{:#}", by_plugin["runs"][0]);
    assert_eq!(by_plugin["changed"], 100, "{:#}", by_plugin["runs"][0]);
    for run in by_plugin["runs"].as_array().expect("runs") {
        let faci = run["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["path"] == "fields.FACI"))
            .unwrap_or_else(|| panic!("FACI differs: {run:#}"));
        assert_eq!(
            (&faci["sent"], &faci["replayed"]),
            (
                &serde_json::json!({"text": "A01"}),
                &serde_json::Value::Null
            ),
            "{run:#}"
        );
    }

    // Re-posting two affected ordered quotes (by number): both already have their M3 order,
    // so neither is queued again.
    let two: Vec<&ferry_tests::orders::Expected> = expected
        .iter()
        .filter(|e| affected.contains(&e.doc_id.to_string()))
        .take(2)
        .collect();
    let (first, second) = (two[0].doc_no.as_str(), two[1].doc_no.as_str());
    let posted = cli(
        &stack,
        &[
            "--mapping",
            fixed,
            "--quote",
            first,
            "--quote",
            second,
            "--post",
            "--json",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        (&posted["selected"], &posted["skipped"], &posted["requeued"]),
        (&2.into(), &2.into(), &0.into()),
        "{posted:#}"
    );
    for run in posted["runs"].as_array().expect("runs") {
        assert_eq!(run["posted"], "skipped", "{run:#}");
        assert!(run["order_number"].is_string(), "{run:#}");
    }

    // The held quote would be re-queued, but the tenant still serves the shipped mapping:
    // refused, nothing moves.
    let refused = cli(&stack, &["--mapping", fixed, "--quote", &held_no, "--post"]).expect_code(3);
    assert!(
        refused.stderr.contains("mapping.quote-to-order"),
        "{}",
        refused.stderr
    );
    wait_for(&stack, &held, "held");

    // The tenant serves the fixed mapping (its transform setting), and the held quote and an
    // ordered one are re-posted: the held one is queued and ordered once, the other skipped.
    stack.kill_ferry();
    let mut config = std::fs::read_to_string(&stack.config).expect("config");
    assert!(
        config.trim_end().ends_with("prepare = true"),
        "the transform's table ends the config"
    );
    let value = serde_json::to_string(&fixed_text).expect("a TOML basic string");
    config.push_str(&format!(
        "settings = {{ \"mapping.quote-to-order\" = {value} }}\n"
    ));
    std::fs::write(&stack.config, config).expect("config");
    stack.start_ferry();
    let text = cli(
        &stack,
        &[
            "--mapping",
            fixed,
            "--quote",
            &held_no,
            "--quote",
            first,
            "--post",
        ],
    )
    .expect_code(0);
    assert!(
        text.stdout.contains("skipped, already has ERP order")
            && text.stdout.contains("; requeued")
            && text
                .stdout
                .contains("1 re-queued, 1 skipped (already ordered)"),
        "{}",
        text.stdout
    );
    wait_for(&stack, &held, "done");
    assert_eq!(
        stack.m3_orders().len(),
        QUOTES + 1,
        "the held quote ordered once, no other quote ordered twice"
    );
    // Re-posted again, it has its order now: skipped.
    let again = cli(
        &stack,
        &["--mapping", fixed, "--quote", &held_no, "--post", "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        (&again["skipped"], &again["requeued"]),
        (&1.into(), &0.into()),
        "{again:#}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(stack.m3_orders().len(), QUOTES + 1);
}
