//! Issue 14's acceptance, chaos over three nodes: three `ferry serve` processes on one
//! PostgreSQL, the M3 simulator with faults (20% 503, 10% 429, 5% of responses dropped after the
//! write), approved quotes spread over the nodes by the round-robin front, and nodes SIGKILLed
//! and restarted or SIGSTOPped (sometimes past their lease) and SIGCONTed at seeded-random
//! moments. Every quote still becomes exactly one M3 order whose number is on the quote, and no
//! job is left running or leased. Meanwhile M3 changes one linked customer six times and sends
//! a BOD each time, to whichever node the front picks: each BOD's job runs once, one after
//! another in the order they came, and the QuoteWerks contact ends with the last change.
//!
//! `FERRY_CHAOS_QUOTES` sets how many quotes (default the 300, what CI runs; about three
//! minutes here).

use std::time::{Duration, Instant};

use ferry_store::{Audit, Job, JobState, Jobs};
use ferry_tests::customers::{contact_city, move_and_post, open_quote};
use ferry_tests::nodes::Cluster;
use ferry_tests::orders::{approve_all, assert_exactly_once, create_quotes, definite_customers};
use ferry_tests::stack::{Options, TENANT};
use serde_json::json;

/// Short leases, so a stalled node's work moves on within the test.
const LEASE_MS: u64 = 3000;
const SEED: u64 = 14;
const DEFAULT_QUOTES: usize = 300;
/// The linked customer's QuoteWerks account and the towns M3 moves it to, one per wave.
const ACCOUNT: &str = "CM90014";
const TOWNS: [&str; 6] = ["Ayton", "Beeston", "Catton", "Dunton", "Eyton", "Fenton"];

/// A small seeded generator (xorshift64*): the same moments and victims on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi` milliseconds.
    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo + 1))
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One blow to one node, at a random moment: even events kill it (and start it again after a
/// while), odd ones stall it for up to twice its lease. Returns what was done, for the log.
fn strike(cluster: &mut Cluster, rng: &mut Rng, event: usize) -> String {
    std::thread::sleep(rng.ms(300, 2000));
    let i = rng.below(cluster.len());
    if event.is_multiple_of(2) {
        cluster.kill(i);
        let down = rng.ms(0, 1500);
        std::thread::sleep(down);
        cluster.start_node(i);
        format!("kill node{i}, down {down:?}")
    } else {
        cluster.pause(i);
        let stalled = rng.ms(500, 2 * LEASE_MS);
        std::thread::sleep(stalled);
        cluster.resume(i);
        format!("stop node{i} for {stalled:?}")
    }
}

fn unfinished(cluster: &Cluster) -> usize {
    cluster
        .quote_jobs()
        .iter()
        .filter(|j| matches!(j.state, JobState::Queued | JobState::Running))
        .count()
}

/// Links M3's first definite customer to a QuoteWerks company (a customer sync from the
/// operator's CLI, M3's faults off meanwhile); returns its CUNO.
fn link_customer(cluster: &Cluster) -> String {
    let stack = &cluster.stack;
    let linked = definite_customers().remove(0);
    stack.create_quote(&open_quote(&linked, ACCOUNT));
    let faults = stack.m3_control(reqwest::Method::GET, "/_control/faults", json!(null));
    stack.m3_control(reqwest::Method::DELETE, "/_control/faults", json!(null));
    let run = cluster.cli(&["sync", "customers", "--tenant", TENANT, "--full", "--json"]);
    stack.m3_control(reqwest::Method::PUT, "/_control/faults", faults);
    let run: serde_json::Value = serde_json::from_str(&run).expect("sync json");
    assert!(run["linked"].as_u64() >= Some(1), "{run}");
    linked.cuno
}

/// The customer's BOD jobs in queue order, each with the `applied` entries of its trail.
fn customer_jobs(cluster: &Cluster, cuno: &str) -> Vec<(Job, Vec<ferry_store::AuditEntry>)> {
    let suffix = format!("/customer/{cuno}");
    let rt = cluster.stack.runtime();
    let jobs = rt
        .block_on(cluster.store.jobs(Some(TENANT), None))
        .expect("jobs");
    jobs.into_iter()
        .filter(|j| j.kind == "customer-sync" && j.key.ends_with(&suffix))
        .map(|j| {
            let trail = rt
                .block_on(cluster.store.trail(TENANT, &j.key))
                .expect("trail");
            let applied = trail.into_iter().filter(|e| e.step == "applied").collect();
            (j, applied)
        })
        .collect()
}

#[test]
fn three_nodes_killed_and_stalled_under_m3_faults_make_every_quote_exactly_one_order() {
    let n: usize = std::env::var("FERRY_CHAOS_QUOTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_QUOTES);
    let mut cluster = Cluster::new(
        3,
        Options {
            m3_flags: &[
                "--fault-503-rate",
                "0.2",
                "--fault-429-rate",
                "0.1",
                "--fault-drop-response-rate",
                "0.05",
                "--fault-retry-after-secs",
                "0",
                "--fault-seed",
                "14",
            ],
            create_customers: false,
            order_entry: "bulk",
        },
        LEASE_MS,
    );
    cluster.append_config(&format!(
        "\n[tenants.{TENANT}.sync.customers]\ncreate_in_m3 = false\n"
    ));
    cluster.start_all();
    let cuno = link_customer(&cluster);
    let expected = create_quotes(&cluster.stack, n);
    let start = Instant::now();
    let mut rng = Rng(SEED);
    let mut events = Vec::new();
    let mut posted = 0;

    // Approvals go out in six waves with a blow after each, so nodes die and stall while
    // webhooks arrive and orders are mid-write; then blows go on while work remains.
    for (wave, town) in expected.chunks(n.div_ceil(6)).zip(TOWNS) {
        approve_all(&cluster.stack, wave);
        move_and_post(&cluster.stack, &cuno, town);
        posted += 1;
        let e = strike(&mut cluster, &mut rng, events.len());
        events.push(e);
    }
    let max_events = 6 + n / 10;
    while events.len() < max_events && unfinished(&cluster) > 0 {
        let e = strike(&mut cluster, &mut rng, events.len());
        events.push(e);
    }
    let chaos = start.elapsed();

    let jobs = cluster.settle(n, Duration::from_secs(60 + 2 * n as u64));
    let took = start.elapsed();
    let not_done: Vec<_> = jobs.iter().filter(|j| j.state != JobState::Done).collect();
    assert!(not_done.is_empty(), "every job done: {not_done:?}");
    assert_eq!(jobs.len(), n, "one job per quote");
    assert_exactly_once(&cluster.stack, &expected);

    // One customer's BODs: each job done, each applied once, one after another in the order
    // the BODs came, and the contact holds M3's last change.
    let start_bods = Instant::now();
    let bods = loop {
        let bods = customer_jobs(&cluster, &cuno);
        let done = bods.len() == posted && bods.iter().all(|(j, _)| j.state == JobState::Done);
        if done && contact_city(&cluster.stack, ACCOUNT) == TOWNS[posted - 1] {
            break bods;
        }
        assert!(
            start_bods.elapsed() < Duration::from_secs(60),
            "customer jobs {:?}, contact {:?}",
            bods.iter()
                .map(|(j, a)| (&j.key, j.state, a.len()))
                .collect::<Vec<_>>(),
            contact_city(&cluster.stack, ACCOUNT)
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let applied: Vec<_> = bods
        .iter()
        .map(|(j, a)| {
            assert_eq!(a.len(), 1, "{} applied once: {a:?}", j.key);
            let town = TOWNS
                .iter()
                .position(|t| a[0].message.contains(t))
                .unwrap_or_else(|| panic!("{}: no town in {}", j.key, a[0].message));
            (a[0].at.clone(), town)
        })
        .collect();
    assert!(
        applied
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "applied in the order the BODs came, never an older town after a newer: {applied:?}"
    );

    let held: Vec<_> = cluster
        .claims()
        .into_iter()
        .filter(|c| c.jobs > 0)
        .collect();
    assert!(held.is_empty(), "claims left behind: {held:?}");
    let forwarded: Vec<usize> = cluster
        .forwarded
        .iter()
        .map(|f| f.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    assert!(
        forwarded.iter().all(|f| *f > 0),
        "webhooks reached every node: {forwarded:?}"
    );
    let redone = jobs.iter().filter(|j| j.attempts >= 2).count();
    eprintln!(
        "chaos: {n} quotes, {} events over {chaos:?} ({events:?}), all done in {took:?}; \
         webhook connections per node {forwarded:?}; {redone} jobs claimed more than once; \
         {} M3 requests; customer BODs applied (at, town) {applied:?}",
        events.len(),
        cluster.stack.m3.mi_requests()
    );
}
