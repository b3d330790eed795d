//! Issue 15: shadow runs of a connector. A candidate M3 connector (a build that sends the order
//! head's customer reference, YREF, in upper case) runs beside the active one on live quotes:
//! every ERP call is made on it too, with its HTTP answered from the live call's exchanges,
//! never sent. The report names exactly the runs whose requests differ (quotes with a
//! lower-case PO number); M3 gets one order per quote, as the active connector sends it.
//! `promote` makes the candidate live. A candidate QuoteWerks connector that behaves as the
//! live one agrees on every call, its SQL answered from the live call's and never run.

use std::collections::BTreeSet;
use std::time::Duration;

use ferry_tests::orders::{definite_customers, quote, sellable_items};
use ferry_tests::plugin;
use ferry_tests::stack::{Options, READY, Stack};
use serde_json::Value;

const TENANT: &str = ferry_tests::stack::TENANT;

fn shadow_report(stack: &Stack, role: &str) -> Value {
    stack
        .cli(&[
            "plugin", "shadow", "report", "--tenant", TENANT, "--role", role, "--json",
        ])
        .json()
}

/// Quotes with these PO numbers (M3's YREF), made ready; waits for their jobs. Returns the ids.
fn order(stack: &Stack, first: usize, pos: &[&str]) -> Vec<i64> {
    let (items, customers) = (sellable_items(), definite_customers());
    let ids: Vec<i64> = pos
        .iter()
        .enumerate()
        .map(|(i, po)| {
            let (mut q, _cuno, _lines, _tax) = quote(first + i, &items, &customers);
            q.po_number = po.to_string();
            let (id, _no) = stack.create_quote(&q);
            stack.set_status(id, READY);
            id
        })
        .collect();
    let jobs = stack.settle(first + pos.len() - 1, Duration::from_secs(120));
    assert!(jobs.iter().all(|j| j.1 == "done"), "{jobs:?}");
    ids
}

#[test]
fn a_shadow_m3_connector_is_compared_on_live_calls_sends_nothing_and_goes_live_on_promote() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let candidate = stack.install(&plugin("m3_connector_yref_upper"), "erp");
    let started = stack.cli(&[
        "plugin", "shadow", &candidate, "--tenant", TENANT, "--role", "erp",
    ]);
    assert!(started.stdout.contains("never sent"), "{}", started.stdout);
    // The server reads running shadows at most once a second.
    std::thread::sleep(Duration::from_millis(1500));

    let ids = order(&stack, 1, &["po-lower-1", "PO-UPPER-2", "po-lower-3"]);
    let orders = stack.m3_orders();
    let yrefs: BTreeSet<&str> = orders.iter().map(|o| o.yref.as_str()).collect();
    assert_eq!(
        yrefs,
        BTreeSet::from(["po-lower-1", "PO-UPPER-2", "po-lower-3"]),
        "one order per quote, as the live connector sent it: {orders:?}"
    );

    let report = shadow_report(&stack, "erp");
    eprintln!("{report:#}");
    let differing = report["differing"].as_array().expect("differing");
    let keys: BTreeSet<&str> = differing
        .iter()
        .map(|d| d["key"].as_str().expect("key"))
        .collect();
    let affected = [ids[0].to_string(), ids[2].to_string()];
    assert_eq!(
        keys,
        affected.iter().map(String::as_str).collect(),
        "exactly the runs with a lower-case PO number: {report:#}"
    );
    // The difference is in the request the candidate would have sent, not in its answer.
    for d in differing {
        assert!(
            d["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("begin-order ")),
            "{report:#}"
        );
        let changes = d["changes"].as_array().expect("changes");
        assert!(
            changes.iter().all(|c| c["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("requests["))),
            "{report:#}"
        );
        let shown = serde_json::to_string(changes).expect("json");
        assert!(
            shown.contains("YREF=po-lower") && shown.contains("YREF=PO-LOWER"),
            "{shown}"
        );
    }
    // Every other call (customer lookups, validations, lines, confirms) agreed.
    let (total, agreed) = (
        report["total"].as_u64().expect("total"),
        report["agreed"].as_u64().expect("agreed"),
    );
    assert_eq!(total - agreed, 2, "{report:#}");
    assert!(
        agreed >= 3 * 3,
        "each run compared several calls: {report:#}"
    );

    let promoted = stack.cli(&[
        "plugin", "shadow", "promote", "--tenant", TENANT, "--role", "erp",
    ]);
    assert!(promoted.stdout.contains(&candidate), "{}", promoted.stdout);
    // The server picks up the activation at its next registry refresh (every second).
    std::thread::sleep(Duration::from_millis(2500));
    order(&stack, 4, &["po-lower-4"]);
    let orders = stack.m3_orders();
    assert_eq!(orders.len(), 4, "{orders:?}");
    assert!(
        orders.iter().any(|o| o.yref == "PO-LOWER-4"),
        "the promoted connector sends YREF in upper case: {orders:?}"
    );
    assert_eq!(
        shadow_report(&stack, "erp")["shadow"]["outcome"],
        "promoted"
    );
}

/// `component` with a custom section appended: the same behaviour under another digest.
fn renamed(component: &std::path::Path, dir: &std::path::Path) -> std::path::PathBuf {
    let mut bytes = std::fs::read(component).expect("component");
    let (name, payload) = (b"ferry-test".as_slice(), b"candidate".as_slice());
    let size = 1 + name.len() + payload.len();
    bytes.push(0); // custom section
    bytes.push(u8::try_from(size).expect("short"));
    bytes.push(u8::try_from(name.len()).expect("short"));
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(payload);
    let out = dir.join("quotewerks_candidate.wasm");
    std::fs::write(&out, bytes).expect("write");
    out
}

/// Logs every update of a QuoteWerks document (its id) into `header_writes`.
fn watch_header_writes(stack: &Stack) {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("QuoteWerks' database");
    db.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    db.execute_batch(
        "CREATE TABLE header_writes (id INTEGER NOT NULL);
         CREATE TRIGGER header_update AFTER UPDATE ON DocumentHeaders
           BEGIN INSERT INTO header_writes VALUES (new.ID); END;",
    )
    .expect("the write log");
}

fn header_writes(stack: &Stack, id: i64) -> i64 {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("QuoteWerks' database");
    db.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    db.query_row(
        "SELECT COUNT(*) FROM header_writes WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .expect("count")
}

#[test]
fn a_shadow_quotewerks_connector_that_behaves_the_same_agrees_and_writes_nothing() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    watch_header_writes(&stack);
    // Without a shadow: how often one quote's header is written on its way to an order.
    let before = order(&stack, 1, &["PO-1"]);
    let alone = header_writes(&stack, before[0]);
    assert!(alone >= 2, "made ready, then marked transferred: {alone}");

    let file = renamed(&plugin("quotewerks_connector"), stack.dir.path());
    let candidate = stack.install(&file, "quoting");
    stack.cli(&[
        "plugin", "shadow", &candidate, "--tenant", TENANT, "--role", "quoting",
    ]);
    std::thread::sleep(Duration::from_millis(1500));
    let shadowed = order(&stack, 2, &["PO-2"]);
    assert_eq!(
        header_writes(&stack, shadowed[0]),
        alone,
        "the candidate's SQL was answered from the live call's, never run"
    );
    assert_eq!(stack.m3_orders().len(), 2);

    let report = shadow_report(&stack, "quoting");
    eprintln!("{report:#}");
    assert_eq!(
        report["differing"].as_array().map(Vec::len),
        Some(0),
        "{report:#}"
    );
    assert!(
        report["total"].as_u64().expect("total") >= 2,
        "the quote's read and write-back compared: {report:#}"
    );
}
