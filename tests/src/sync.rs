//! `ferry sync …` run the way a user runs it, for the sync tests: the run's `--json` answer
//! and the counts in it.

use serde_json::Value;

use crate::ferry;
use crate::stack::{Stack, TENANT};

/// `ferry sync WHAT --tenant T --json EXTRA…` on the stack's config; exit 0; its JSON.
pub fn sync_json(stack: &Stack, what: &str, extra: &[&str]) -> Value {
    let config = stack.config.to_str().expect("utf-8");
    let mut args = vec![
        "--config", config, "sync", what, "--tenant", TENANT, "--json",
    ];
    args.extend(extra);
    ferry(&stack.data, &args).expect_code(0).json()
}

/// A sync that runs as a job (catalog, prices, stock), followed to its end: its JSON, whose
/// `state` is `done`.
pub fn sync_job(stack: &Stack, what: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--timeout-secs", "120"];
    args.extend(extra);
    let run = sync_json(stack, what, &args);
    assert_eq!(run["state"], "done", "{run}");
    run
}

/// A count of a run's summary (`inserted`, `unchanged`, …): at the top (customers) or under
/// `report` (the job syncs).
pub fn count(run: &Value, what: &str) -> u64 {
    run[what]
        .as_u64()
        .or_else(|| run["report"][what].as_u64())
        .unwrap_or_else(|| panic!("{what} in {run}"))
}
