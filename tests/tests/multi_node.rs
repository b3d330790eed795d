//! Issue 14's "many nodes": several `ferry serve` processes on one PostgreSQL, webhooks spread
//! over the nodes by a round-robin front. A node stalled (SIGSTOP) past its lease in the middle
//! of an M3 write cannot commit when it wakes, and another node finishes the order exactly once.

use std::time::{Duration, Instant};

use ferry_store::JobState;
use ferry_tests::nodes::Cluster;
use ferry_tests::orders::{approve_all, assert_exactly_once, create_quotes};
use ferry_tests::stack::Options;

/// Leases short enough that a stalled node's work moves on within the test.
const LEASE_MS: u64 = 3000;

#[test]
fn a_node_stalled_past_its_lease_cannot_commit_and_another_finishes_its_order_once() {
    // Slow M3 calls: the order is mid-write for seconds, long enough to stall its node there.
    let mut cluster = Cluster::new(
        2,
        Options {
            m3_flags: &["--fault-latency-ms", "300-300"],
            create_customers: false,
            order_entry: "batch",
        },
        LEASE_MS,
    );
    cluster.start_node(0);
    let expected = create_quotes(&cluster.stack, 2)
        .into_iter()
        .skip(1)
        .collect::<Vec<_>>();
    approve_all(&cluster.stack, &expected);

    // Node 0 holds the job with an M3 write in flight: stall it there.
    let start = Instant::now();
    loop {
        let jobs = cluster.quote_jobs();
        if jobs
            .iter()
            .any(|j| j.state == JobState::Running && j.intent.is_some())
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{jobs:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    cluster.pause(0);
    let stalled_at = cluster.quote_jobs();

    // Node 1 takes the job over once the lease runs out and finishes it.
    cluster.start_node(1);
    let jobs = cluster.settle(1, Duration::from_secs(90));
    assert_eq!(jobs[0].state, JobState::Done, "{jobs:?}");
    assert!(
        jobs[0].attempts >= 2,
        "claimed again after the stall: {jobs:?} (stalled at {stalled_at:?})"
    );

    // Node 0 wakes: whatever it was doing, its writes to the store are refused.
    cluster.resume(0);
    let woke = Instant::now();
    while !cluster.log(0).contains("lease") && woke.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let log = cluster.log(0);
    assert!(
        log.contains("lease lost") || log.contains("could not extend the lease"),
        "the stalled node noticed it lost its claim:\n{log}"
    );
    let after = cluster.quote_jobs();
    assert_eq!(after[0].state, JobState::Done, "{after:?}");
    assert_eq!(
        after[0].updated_at, jobs[0].updated_at,
        "the woken node changed the finished job"
    );
    assert_exactly_once(&cluster.stack, &expected);
}
