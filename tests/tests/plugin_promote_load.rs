//! Issue 15: `ferry plugin shadow promote` swaps the transform atomically under load. Quotes
//! are approved steadily while a shadowed candidate is promoted in the middle of the stream:
//! every quote still gets exactly one M3 order, no job is lost, held, dead or retried because
//! of the swap, each order was mapped wholly by one version (old or new, never a mix), and
//! quotes approved after the server picked up the activation are mapped by the new one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_tests::orders::{
    Expected, assert_exactly_once, d, definite_customers, sellable_items, settle_all_done,
    unconfirmed_batch_orders,
};
use ferry_tests::plugin;
use ferry_tests::stack::{Options, READY, Stack};
use rust_decimal::Decimal;

const TENANT: &str = ferry_tests::stack::TENANT;
const QUOTES: usize = 60;
/// Approvals start this far apart: the stream lasts ~9 s.
const PACE: Duration = Duration::from_millis(150);
/// Promote once this many quotes are approved: mid-stream.
const PROMOTE_AFTER: usize = 20;
/// The server picks up an activation at its next registry refresh (every second), loading the
/// new component first; quotes approved this long after promote returned must be mapped by it.
const PICKUP: Duration = Duration::from_secs(3);

/// Plain quotes (two or three product lines, no groups or discounts) with a PO number: the
/// shipped mapping sends it as YREF and the rep as OREF; the candidate (the bundles example)
/// sends neither. That is how an order shows which version mapped it.
fn create_quotes(stack: &Stack) -> Vec<Expected> {
    let items = sellable_items();
    let customers = definite_customers();
    (0..QUOTES)
        .map(|k| {
            let customer = &customers[k % customers.len()];
            let lines: Vec<(String, Decimal)> = (0..2 + k % 2)
                .map(|j| {
                    (
                        items[(k * 7 + j * 5) % items.len()].clone(),
                        d((1 + (k + j) % 3) as i64),
                    )
                })
                .collect();
            let q = NewQuote {
                sold_to: SoldTo::from_seed(customer),
                ship_to: None,
                doc_no: Some(format!("P{k:04}")),
                doc_name: None,
                doc_type: "QUOTE".into(),
                status: "1-In Progress".into(),
                doc_date: None,
                sales_rep: "JSMITH".into(),
                po_number: format!("PO-P{k:04}"),
                project_no: None,
                local_tax_rate: Decimal::ZERO,
                shipping_amount: Decimal::ZERO,
                custom: BTreeMap::new(),
                lines: lines
                    .iter()
                    .map(|(itno, qty)| NewLine::product(itno, *qty))
                    .collect(),
            };
            let (doc_id, doc_no) = stack.create_quote(&q);
            Expected {
                doc_id,
                doc_no,
                cuno: customer.cuno.clone(),
                lines,
                tax: Decimal::ZERO,
            }
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum MappedBy {
    Old,
    New,
}

/// Which version mapped each order (by CUOR), from M3's order heads: (YREF, OREF) are the
/// quote's PO number and rep (old), or both blank (new); anything else is a mix.
fn mapped_by(stack: &Stack) -> BTreeMap<String, MappedBy> {
    let db = rusqlite::Connection::open_with_flags(
        stack.m3.state_dir.join(ferry_sim::m3::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("M3's state");
    db.busy_timeout(Duration::from_secs(5)).expect("timeout");
    let mut st = db
        .prepare("SELECT cuor, yref, oref FROM orders")
        .expect("prepare");
    let rows: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.into_iter()
        .map(|(cuor, yref, oref)| {
            let cuor = cuor.trim().to_string();
            let po = format!("PO-{cuor}");
            let by = match (yref.trim(), oref.trim()) {
                (y, "JSMITH") if y == po => MappedBy::Old,
                ("", "") => MappedBy::New,
                other => panic!("{cuor}: mapped by neither version alone: YREF/OREF {other:?}"),
            };
            (cuor, by)
        })
        .collect()
}

/// Jobs claimed more than once: (key, kind, attempts). Without faults each runs once.
fn rerun_jobs(stack: &Stack) -> Vec<(String, String, i64)> {
    let db = rusqlite::Connection::open(ferry_layout::DataDir::new(&stack.data).db())
        .expect("the job database");
    let mut st = db
        .prepare("SELECT key, kind, attempts FROM jobs WHERE attempts != 1 ORDER BY id")
        .expect("prepare");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every retry and failure the jobs recorded: (key, step, message).
fn job_errors(stack: &Stack) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open(ferry_layout::DataDir::new(&stack.data).db())
        .expect("the job database");
    let mut st = db
        .prepare("SELECT key, step, message FROM audit WHERE step IN ('retry', 'dead', 'held', 'failed') ORDER BY id")
        .expect("prepare");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn promoting_a_shadowed_transform_under_load_loses_no_call_and_runs_none_twice() {
    let stack = Stack::start(Options {
        // M3 answers in 50-150 ms: each order takes several calls, so jobs overlap and some
        // are running whenever the server swaps.
        m3_flags: &["--fault-latency-ms", "50-150"],
        create_customers: false,
        order_entry: "batch",
    });
    let candidate = plugin("example_bundles");
    let digest = stack.install(&candidate, "transform");
    stack.cli(&["plugin", "shadow", &digest, "--tenant", TENANT]);
    let expected = create_quotes(&stack);

    // The stream: one approval every PACE, each with the moment it was made.
    let approved = AtomicUsize::new(0);
    let ids: Vec<i64> = expected.iter().map(|e| e.doc_id).collect();
    let stream = std::thread::scope(|s| {
        let approver = s.spawn(|| {
            let mut at = Vec::with_capacity(ids.len());
            for id in &ids {
                stack.set_status(*id, READY);
                at.push(Instant::now());
                approved.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(PACE);
            }
            at
        });
        while approved.load(Ordering::SeqCst) < PROMOTE_AFTER {
            std::thread::sleep(Duration::from_millis(20));
        }
        let promoted = stack.cli(&["plugin", "shadow", "promote", "--tenant", TENANT]);
        let promoted_at = Instant::now();
        assert!(promoted.stdout.contains(&digest), "{}", promoted.stdout);
        // Jobs running while the server picks the activation up (its refresh is every second).
        let mut running = 0;
        while promoted_at.elapsed() < Duration::from_millis(1500) {
            let now = stack.jobs().iter().filter(|j| j.1 == "running").count();
            running = running.max(now);
            std::thread::sleep(Duration::from_millis(50));
        }
        (approver.join().expect("the approver"), promoted_at, running)
    });
    let (approved_at, promoted_at, running) = stream;
    assert!(running > 0, "the swap came under load: jobs were running");

    settle_all_done(&stack, QUOTES, Duration::from_secs(45));
    assert_exactly_once(&stack, &expected);
    assert_eq!(
        unconfirmed_batch_orders(&stack),
        0,
        "no batch order left behind by a call run twice"
    );
    let reruns = rerun_jobs(&stack);
    assert!(reruns.is_empty(), "jobs run more than once: {reruns:?}");
    let errors = job_errors(&stack);
    eprintln!("job errors: {errors:#?}");
    let swap_errors: Vec<_> = errors
        .iter()
        .filter(|(_, _, m)| {
            let m = m.to_lowercase();
            [
                "plugin",
                "instance",
                "component",
                "transform",
                "wasm",
                "trap",
            ]
            .iter()
            .any(|w| m.contains(w))
        })
        .collect();
    assert!(
        swap_errors.is_empty(),
        "failed at the swap: {swap_errors:#?}"
    );

    let by = mapped_by(&stack);
    let mut late = 0;
    // The latest approval (seconds from promote, negative before) still mapped by the old
    // version: how long the swap took to reach the jobs.
    let mut last_old: Option<f64> = None;
    for (e, at) in expected.iter().zip(&approved_at) {
        let version = by.get(&e.doc_no).expect("an order per quote");
        let after = at.checked_duration_since(promoted_at);
        if *version == MappedBy::Old {
            let secs = after.map_or_else(
                || -promoted_at.duration_since(*at).as_secs_f64(),
                |d| d.as_secs_f64(),
            );
            last_old = Some(last_old.map_or(secs, |l: f64| l.max(secs)));
        }
        if after.is_some_and(|a| a >= PICKUP) {
            late += 1;
            assert_eq!(
                *version,
                MappedBy::New,
                "{} approved {after:?} after promote: mapped by the old version",
                e.doc_no
            );
        }
    }
    let old = by.values().filter(|v| **v == MappedBy::Old).count();
    let new = by.len() - old;
    eprintln!(
        "old {old}, new {new}; at most {running} jobs running at the swap; {late} approved ≥ {PICKUP:?} after promote; last old-version quote approved {last_old:?} s after promote"
    );
    assert!(
        old > 0,
        "the swap came mid-stream: some orders by the old version"
    );
    assert!(late >= 10, "enough quotes after the swap to check: {late}");
}
