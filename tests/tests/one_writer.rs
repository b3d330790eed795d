//! One writer per order reference, and a quick restart: a quote and its revision approved
//! together make one M3 order (the other is held as a revision), and a node killed with -9
//! resumes its own jobs at once instead of waiting out their leases.

use std::time::{Duration, Instant};

use ferry_tests::orders::{
    approve_all, create_big_quotes, definite_customers, quote, sellable_items,
};
use ferry_tests::stack::{Options, READY, Stack};

#[test]
fn a_quote_and_its_revision_approved_together_make_one_order() {
    let stack = Stack::start(Options {
        m3_flags: &["--fault-latency-ms", "5-30"],
        create_customers: false,
        order_entry: "batch",
    });
    let items = sellable_items();
    let customers = definite_customers();
    let mut pairs = Vec::new();
    for k in 0..10 {
        let (mut original, _, _, _) = quote(k + 1, &items, &customers);
        let number = format!("P{k:03}");
        original.doc_no = Some(number.clone());
        let mut revision = original.clone();
        revision.doc_no = Some(format!("{number}-01"));
        let (a, _) = stack.create_quote(&original);
        let (b, _) = stack.create_quote(&revision);
        pairs.push((number, a, b));
    }
    // Both of each pair at the same moment (webhooks race each other to the workers).
    for (_, a, b) in &pairs {
        stack.set_status(*a, READY);
        stack.set_status(*b, READY);
    }
    let jobs = stack.settle(pairs.len() * 2, Duration::from_secs(180));
    let orders = stack.m3_orders();
    for (number, a, b) in &pairs {
        let made: Vec<_> = orders.iter().filter(|o| o.cuor.trim() == number).collect();
        assert_eq!(made.len(), 1, "{number}: {} M3 orders", made.len());
        let state = |id: &i64| {
            jobs.iter()
                .find(|j| j.0 == id.to_string())
                .cloned()
                .unwrap_or_else(|| panic!("no job for {id}"))
        };
        let (ja, jb) = (state(a), state(b));
        let mut states = [ja.1.as_str(), jb.1.as_str()];
        states.sort();
        assert_eq!(states, ["done", "held"], "{number}: {ja:?} {jb:?}");
        let held = if ja.1 == "held" { &ja } else { &jb };
        assert!(
            held.2
                .as_deref()
                .unwrap_or_default()
                .contains("already carries reference"),
            "{held:?}"
        );
    }
    assert_eq!(orders.len(), pairs.len());
}

#[test]
fn a_node_killed_mid_flight_resumes_its_jobs_at_once() {
    let mut stack = Stack::start(Options {
        m3_flags: &["--fault-latency-ms", "20-40"],
        create_customers: false,
        order_entry: "batch",
    });
    let expected = create_big_quotes(&stack, 12);
    approve_all(&stack, &expected);
    // Kill while jobs hold leases.
    let started = Instant::now();
    let running = loop {
        let running: Vec<String> = stack
            .jobs()
            .into_iter()
            .filter(|j| j.1 == "running")
            .map(|j| j.0)
            .collect();
        if !running.is_empty() {
            break running;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no job ever ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    stack.kill_ferry();
    let restarted = Instant::now();
    stack.start_ferry();
    loop {
        let jobs = stack.jobs();
        let left: Vec<_> = jobs
            .iter()
            .filter(|j| running.contains(&j.0) && j.1 != "done")
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "jobs running at the kill still not done {:?} after the restart (a lease is 15 s, was 60 s): {left:?}",
            restarted.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let resumed_in = restarted.elapsed();
    eprintln!(
        "{} jobs that were running at the kill were done {resumed_in:?} after the restart",
        running.len()
    );
    let jobs = stack.settle(expected.len(), Duration::from_secs(180));
    assert!(jobs.iter().all(|j| j.1 == "done"), "{jobs:?}");
    ferry_tests::orders::assert_exactly_once(&stack, &expected);
}
