//! Issue 9's corners of exactly-once, against the real `ferry serve`, the real M3 connector and
//! the simulators on loopback: big orders under faults with README's retry defaults, a 503
//! answered after M3 performed the write, and no batch order left behind after faults and
//! crashes. Each scenario runs on both stores: SQLite (one node's file) and PostgreSQL (a fresh
//! database in the test process's throwaway cluster), as issue 14 asks; the longest one's
//! PostgreSQL variant only by hand (`--ignored`).

use std::time::Duration;

use ferry_tests::orders::{
    approve_all, assert_exactly_once, create_big_quotes, settle_all_done, unconfirmed_batch_orders,
};
use ferry_tests::stack::{Options, Stack, StoreKind, TENANT};

/// The test stack's fast retry settings, which this file replaces with README's defaults
/// (1 s → 60 s, 10 attempts).
fn use_readme_retry_defaults(stack: &mut Stack) {
    let config = std::fs::read_to_string(&stack.config).expect("config");
    let fast = format!(
        "[tenants.{TENANT}.retry]\ninitial_interval_ms = 50\nmaximum_interval_ms = 1000\nmaximum_attempts = 40\n"
    );
    assert!(config.contains(&fast), "the stack's retry section moved");
    std::fs::write(&stack.config, config.replace(&fast, "")).expect("config");
    stack.kill_ferry();
    stack.start_ferry();
}

#[test]
fn thirty_big_orders_under_faults_all_become_orders_with_readme_retry_defaults() {
    thirty_big_orders_under_faults(StoreKind::Sqlite);
}

/// Not in CI: README's backoff (1 s → 60 s) makes this the suite's longest scenario (about
/// 4½ minutes here beside the other two); the PostgreSQL variants of the cheaper two run
/// instead. By hand: `cargo test -p ferry-tests --test exactly_once -- --ignored`.
#[test]
#[ignore = "minutes long; the cheaper PostgreSQL scenarios run in CI"]
fn thirty_big_orders_under_faults_all_become_orders_with_readme_retry_defaults_on_postgres() {
    thirty_big_orders_under_faults(StoreKind::Postgres);
}

fn thirty_big_orders_under_faults(store: StoreKind) {
    let mut stack = Stack::start_on(
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
                "11",
            ],
            create_customers: false,
            order_entry: "batch",
        },
        store,
    );
    use_readme_retry_defaults(&mut stack);
    let expected = create_big_quotes(&stack, 30);
    approve_all(&stack, &expected);
    settle_all_done(&stack, expected.len(), Duration::from_secs(600));
    assert_exactly_once(&stack, &expected);
    assert_eq!(
        unconfirmed_batch_orders(&stack),
        0,
        "interrupted heads and lines reuse their batch order instead of leaving one behind"
    );
}

#[test]
fn a_503_after_m3_performed_the_write_makes_no_line_twice() {
    a_503_after_the_write(StoreKind::Sqlite);
}

#[test]
fn a_503_after_m3_performed_the_write_makes_no_line_twice_on_postgres() {
    a_503_after_the_write(StoreKind::Postgres);
}

fn a_503_after_the_write(store: StoreKind) {
    let stack = Stack::start_on(
        Options {
            m3_flags: &[
                "--fault-503-after-write-rate",
                "0.15",
                "--fault-retry-after-secs",
                "0",
                "--fault-seed",
                "5",
            ],
            create_customers: false,
            order_entry: "batch",
        },
        store,
    );
    let expected = create_big_quotes(&stack, 30);
    approve_all(&stack, &expected);
    settle_all_done(&stack, expected.len(), Duration::from_secs(600));
    // Lines are compared as a multiset per order: a line made twice fails here.
    assert_exactly_once(&stack, &expected);
    assert_eq!(unconfirmed_batch_orders(&stack), 0);
}

#[test]
fn no_batch_order_is_left_behind_after_faults_and_kills() {
    faults_and_kills(StoreKind::Sqlite);
}

#[test]
fn no_batch_order_is_left_behind_after_faults_and_kills_on_postgres() {
    faults_and_kills(StoreKind::Postgres);
}

fn faults_and_kills(store: StoreKind) {
    let mut stack = Stack::start_on(
        Options {
            m3_flags: &[
                "--fault-drop-response-rate",
                "0.1",
                "--fault-503-rate",
                "0.1",
                "--fault-latency-ms",
                "0-10",
                "--fault-retry-after-secs",
                "0",
                "--fault-seed",
                "3",
            ],
            create_customers: false,
            order_entry: "batch",
        },
        store,
    );
    let expected = create_big_quotes(&stack, 30);
    approve_all(&stack, &expected);
    for pause_ms in [700, 1100, 900] {
        std::thread::sleep(Duration::from_millis(pause_ms));
        stack.kill_ferry();
        stack.start_ferry();
    }
    settle_all_done(&stack, expected.len(), Duration::from_secs(600));
    assert_exactly_once(&stack, &expected);
    assert_eq!(unconfirmed_batch_orders(&stack), 0);
}
