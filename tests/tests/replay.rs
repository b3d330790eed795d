//! Issue 15: replay. A hundred quotes are ordered with the shipped mapping; then a fixed mapping
//! that sets the order type (ORTP) to A02 only for quotes whose customer PO number has a 7 in
//! it is replayed over them: `ferry replay` reports exactly those runs changed, with the one
//! field, and sends nothing; `--post` for two of them orders neither again.

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_tests::ferry;
use ferry_tests::orders::{approve_all, create_quotes, settle_all_done};
use ferry_tests::stack::{Options, Stack};

const TENANT: &str = ferry_tests::stack::TENANT;
const QUOTES: usize = 100;

fn cli(stack: &Stack, args: &[&str]) -> ferry_tests::Run {
    let config = stack.config.to_str().expect("utf-8");
    let mut all = vec!["--config", config, "replay", "--tenant", TENANT];
    all.extend_from_slice(args);
    ferry(&stack.data, &all)
}

/// The shipped quote-to-order mapping, with `ORTP` replaced by `ortp`.
fn mapping_with(ortp: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mappings/quote-to-order.toml"
    );
    let shipped = std::fs::read_to_string(path).expect("the shipped mapping");
    let line = "ORTP = \"setting.order_type ?? 'A01'\"";
    assert!(shipped.contains(line), "the shipped mapping's ORTP rule");
    shipped.replace(line, &format!("ORTP = {ortp:?}"))
}

#[test]
fn replay_through_a_fixed_mapping_changes_exactly_the_affected_orders_and_reposting_orders_nothing_twice()
 {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "bulk",
    });
    let expected = create_quotes(&stack, QUOTES);
    approve_all(&stack, &expected);
    settle_all_done(&stack, QUOTES, Duration::from_secs(300));
    assert_eq!(stack.m3_orders().len(), QUOTES);

    // Quote k's PO number is PO-k: the fix touches the quotes whose k has a 7.
    let affected: BTreeSet<String> = expected
        .iter()
        .enumerate()
        .filter(|(k, _)| k.to_string().contains('7'))
        .map(|(_, e)| e.doc_id.to_string())
        .collect();
    assert_eq!(affected.len(), 19);

    let dir = stack.dir.path();
    let same = dir.join("same.toml");
    std::fs::write(&same, mapping_with("setting.order_type ?? 'A01'")).expect("write");
    let fixed = dir.join("fixed.toml");
    std::fs::write(
        &fixed,
        mapping_with("if(contains(SoldToPONumber ?? '', '7'), 'A02', setting.order_type ?? 'A01')"),
    )
    .expect("write");

    // The shipped mapping replayed maps every run as it was sent.
    let unchanged = cli(
        &stack,
        &["--mapping", same.to_str().expect("utf-8"), "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        (&unchanged["selected"], &unchanged["unchanged"]),
        (&QUOTES.into(), &QUOTES.into()),
        "{unchanged:#}"
    );

    let report = cli(
        &stack,
        &["--mapping", fixed.to_str().expect("utf-8"), "--json"],
    )
    .expect_code(0)
    .json();
    let summary = |r: &serde_json::Value| {
        ["selected", "changed", "unchanged", "failed"].map(|k| r[k].as_u64().unwrap_or(u64::MAX))
    };
    assert_eq!(summary(&report), [100, 19, 81, 0], "{}", report["runs"][0]);
    let runs = report["runs"].as_array().expect("runs");
    let changed: BTreeSet<String> = runs
        .iter()
        .filter(|r| r["outcome"] == "changed")
        .map(|r| r["run"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(changed, affected, "exactly the affected runs changed");
    for run in runs.iter().filter(|r| r["outcome"] == "changed") {
        assert_eq!(
            run["changes"],
            serde_json::json!([{"path": "fields.ORTP.text", "sent": "A01", "replayed": "A02"}]),
            "{run:#}"
        );
    }
    assert_eq!(stack.m3_orders().len(), QUOTES, "a dry run sends nothing");

    // The text report: per run, the diff, and the sums.
    let text = cli(&stack, &["--mapping", fixed.to_str().expect("utf-8")]).expect_code(0);
    assert!(
        text.stdout
            .contains("100 selected, 19 changed, 81 unchanged, 0 failed; dry run, nothing sent"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  fields.ORTP.text: - \"A01\"  + \"A02\""),
        "{}",
        text.stdout
    );

    // Filters: a time after every run, and a status no run has, select nothing.
    let later = cli(
        &stack,
        &[
            "--mapping",
            fixed.to_str().expect("utf-8"),
            "--since",
            "2999-01-01",
            "--json",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(later["selected"], 0, "{later:#}");
    let held = cli(
        &stack,
        &[
            "--mapping",
            fixed.to_str().expect("utf-8"),
            "--status",
            "held",
            "--json",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(held["selected"], 0, "{held:#}");

    // Re-posting two affected quotes (by number): both already have their M3 order, so
    // neither is queued again and M3 gets no second order.
    let two: Vec<&ferry_tests::orders::Expected> = expected
        .iter()
        .filter(|e| affected.contains(&e.doc_id.to_string()))
        .take(2)
        .collect();
    let posted = cli(
        &stack,
        &[
            "--mapping",
            fixed.to_str().expect("utf-8"),
            "--quote",
            &two[0].doc_no,
            "--quote",
            &two[1].doc_no,
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
    let text = cli(
        &stack,
        &[
            "--mapping",
            fixed.to_str().expect("utf-8"),
            "--quote",
            &two[0].doc_no,
            "--post",
        ],
    )
    .expect_code(0);
    assert!(
        text.stdout.contains("skipped, already has ERP order"),
        "{}",
        text.stdout
    );
    // Past a poll (2 s): still one order per quote, every run done.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(stack.m3_orders().len(), QUOTES, "no quote ordered twice");
    settle_all_done(&stack, QUOTES, Duration::from_secs(10));
}
