//! Issue 14's rate limit across nodes: M3 limits a tenant, not a node, so three `ferry serve`
//! nodes on one PostgreSQL draw the tenant's M3 sends from one bucket in the database. With
//! more work than the limit lets through, the simulator's count of MI requests per wall-clock
//! second (read over its control API, as M3's gateway would count them) never goes over the
//! limit and its burst, though each node alone could send three times as fast.

use std::time::{Duration, Instant};

use ferry_store::JobState;
use ferry_tests::nodes::Cluster;
use ferry_tests::orders::{approve_all, assert_exactly_once, create_quotes};
use ferry_tests::stack::{Options, TENANT};

const RATE_PER_SEC: u64 = 10;
const BURST: u64 = 2;
const QUOTES: usize = 8;

/// `(unix second, MI requests)` as the simulator counted them, over its control API.
fn per_second(cluster: &Cluster) -> Vec<(u64, u64)> {
    let counts = cluster.stack.m3_control(
        reqwest::Method::GET,
        "/_control/requests",
        serde_json::Value::Null,
    );
    serde_json::from_value(counts["per_second"].clone())
        .unwrap_or_else(|e| panic!("per_second in {counts}: {e}"))
}

#[test]
fn three_nodes_together_keep_the_tenants_m3_rate_limit() {
    let mut cluster = Cluster::new(
        3,
        Options {
            m3_flags: &[],
            create_customers: false,
            order_entry: "bulk",
        },
        10_000,
    );
    cluster.add_to_table(
        &format!("[tenants.{TENANT}.connections.m3]"),
        &format!("rate_per_sec = {RATE_PER_SEC}\nrate_burst = {BURST}"),
    );
    cluster.start_all();
    let expected = create_quotes(&cluster.stack, QUOTES);
    let start = Instant::now();
    approve_all(&cluster.stack, &expected);
    let jobs = cluster.settle(QUOTES, Duration::from_secs(240));
    let took = start.elapsed();
    assert!(
        jobs.iter().all(|j| j.state == JobState::Done),
        "{:?}",
        jobs.iter()
            .filter(|j| j.state != JobState::Done)
            .collect::<Vec<_>>()
    );
    assert_exactly_once(&cluster.stack, &expected);

    let seconds = per_second(&cluster);
    let busiest = seconds.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let total: u64 = seconds.iter().map(|(_, n)| *n).sum();
    eprintln!(
        "rate: {total} MI requests in {} seconds ({took:?}), busiest second {busiest}, \
         limit {RATE_PER_SEC}/s burst {BURST}: {seconds:?}",
        seconds.len()
    );
    // A calendar second may hold a full bucket (the burst), a second's refill, and the block
    // a node took just before the second began (tokens lapse 0.1 s after they are taken).
    let bound = RATE_PER_SEC + BURST + RATE_PER_SEC.div_ceil(10);
    let over: Vec<_> = seconds.iter().filter(|(_, n)| *n > bound).collect();
    assert!(
        over.is_empty(),
        "seconds over {bound} ({RATE_PER_SEC}/s, burst {BURST}): {over:?} (all: {seconds:?})"
    );
    // The work pressed on the limit (else the test proves nothing).
    assert!(
        busiest >= RATE_PER_SEC,
        "no second reached the limit: {seconds:?}"
    );
}
