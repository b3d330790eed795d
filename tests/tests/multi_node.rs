//! Issue 14's "many nodes": several `ferry serve` processes on one PostgreSQL, the M3 simulator
//! with faults, webhooks spread over the nodes by a round-robin front, nodes killed, stalled
//! (SIGSTOP past their lease) and brought back. Every quote still becomes exactly one M3 order
//! with its number on the quote, and no job is left claimed.

use std::time::{Duration, Instant};

use ferry_store::JobState;
use ferry_tests::nodes::Cluster;
use ferry_tests::orders::{approve_all, assert_exactly_once, create_quotes};
use ferry_tests::stack::Options;

/// Leases short enough that a stalled node's work moves on within the test.
const LEASE_MS: u64 = 3000;

/// A small seeded generator (xorshift64): the same chaos every run of a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn ms(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.below(to - from))
    }
}

fn faulty_m3() -> Options<'static> {
    Options {
        m3_flags: &[
            "--fault-503-rate",
            "0.2",
            "--fault-429-rate",
            "0.1",
            "--fault-drop-response-rate",
            "0.05",
            "--fault-retry-after-secs",
            "1",
            "--fault-seed",
            "14",
        ],
        create_customers: false,
        order_entry: "bulk",
    }
}

#[test]
fn three_nodes_killed_and_stalled_at_random_make_exactly_one_order_per_quote() {
    let mut cluster = Cluster::new(3, faulty_m3(), LEASE_MS);
    cluster.start_all();
    let expected = create_quotes(&cluster.stack, 60);
    approve_all(&cluster.stack, &expected);

    // One node down or stalled at a time, at seeded moments, while the quotes flow.
    let mut rng = Rng(0x14_0003);
    for _ in 0..8 {
        std::thread::sleep(rng.ms(300, 2000));
        let i = rng.below(3) as usize;
        if rng.below(2) == 0 {
            cluster.kill(i);
            std::thread::sleep(rng.ms(200, 1500));
            cluster.start_node(i);
        } else {
            cluster.pause(i);
            std::thread::sleep(rng.ms(LEASE_MS + 500, LEASE_MS + 3000));
            cluster.resume(i);
        }
    }

    let jobs = cluster.settle(expected.len(), Duration::from_secs(150));
    let not_done: Vec<_> = jobs.iter().filter(|j| j.state != JobState::Done).collect();
    assert!(not_done.is_empty(), "{not_done:?}");
    assert_eq!(jobs.len(), expected.len(), "one job per quote");
    assert_exactly_once(&cluster.stack, &expected);
    // Every node took webhooks (the front spread them).
    for (i, n) in cluster.forwarded.iter().enumerate() {
        assert!(n.load(std::sync::atomic::Ordering::Relaxed) > 0, "node {i} took no webhook");
    }
    // Nothing left claimed, anywhere (also not the order-status jobs).
    let all = cluster
        .stack
        .runtime()
        .block_on(ferry_store::Jobs::jobs(&cluster.store, None, Some(JobState::Running)))
        .expect("jobs");
    assert!(all.is_empty(), "stuck leases: {all:?}");
}

#[test]
fn a_node_stalled_past_its_lease_cannot_commit_and_another_finishes_its_order_once() {
    // Slow M3 calls: the order is mid-write for seconds, long enough to stall its node there.
    let mut cluster = Cluster::new(
        2,
        Options {
            m3_flags: &["--fault-latency-ms", "700-700"],
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
    assert_eq!(after[0].updated_at, jobs[0].updated_at, "the woken node changed the finished job");
    assert_exactly_once(&cluster.stack, &expected);
}
