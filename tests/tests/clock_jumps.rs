//! Wall-clock steps (NTP correcting a clock, a VM resumed) under Debian's faketime: `ferry serve`
//! runs with libfaketime preloaded and reads its wall clock from a file the test rewrites
//! mid-run; the monotonic clock is left alone (`FAKETIME_DONT_FAKE_MONOTONIC=1`), as on a real
//! machine. A step must neither strand a retry nor hand a live job to a second worker.
//! (Token expiry and every timer already run on the monotonic clock.)
//!
//! Needs faketime (`apt-get install faketime`; `cargo xtask test` installs it when missing).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_sim::seed;
use ferry_tests::spawn_raw_env;
use ferry_tests::stack::{CUSTOMERS, ITEMS, Options, READY, SEED, Stack};
use rust_decimal::Decimal;
use serde_json::json;

/// libfaketime, wherever the distribution's multiarch layout put it.
fn libfaketime() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketime.so.1")])
        .find(|p| p.exists());
    found.unwrap_or_else(|| {
        panic!("libfaketime not found: `apt-get install faketime` (cargo xtask test does it)")
    })
}

/// The fake wall clock: an offset from real time in a file libfaketime re-reads on every call.
struct FakeClock {
    file: PathBuf,
    lib: PathBuf,
}

impl FakeClock {
    fn new(dir: &Path) -> Self {
        let clock = Self {
            file: dir.join("faketime.rc"),
            lib: libfaketime(),
        };
        clock.set("+0");
        clock
    }

    /// Steps the clock: `"+2h"`, `"-1h"` (relative to the real time).
    fn set(&self, offset: &str) {
        // Write then rename, so libfaketime never reads a half-written file.
        let tmp = self.file.with_extension("tmp");
        std::fs::write(&tmp, format!("{offset}\n")).expect("faketime file");
        std::fs::rename(&tmp, &self.file).expect("faketime file");
    }

    fn env(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("LD_PRELOAD", self.lib.clone().into_os_string()),
            (
                "FAKETIME_TIMESTAMP_FILE",
                self.file.clone().into_os_string(),
            ),
            ("FAKETIME_NO_CACHE", "1".into()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
        ]
    }
}

/// The whole stack, with `ferry serve` restarted under the fake clock (the simulators keep the
/// real one: the step happens on Ferry's machine).
fn faked_stack() -> (Stack, FakeClock) {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let clock = FakeClock::new(stack.dir.path());
    stack.kill_ferry();
    let env = clock.env();
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let config = stack.config.to_str().expect("utf-8").to_string();
    stack.ferry = Some(spawn_raw_env(
        stack.dir.path(),
        &["--config".into(), config, "serve".into()],
        &env,
    ));
    (stack, clock)
}

/// A two-line quote for a customer and items that exist in M3; returns its id and DocNo.
fn approve_a_quote(stack: &Stack) -> (i64, String) {
    let customer = (0..CUSTOMERS)
        .map(|i| seed::customer(SEED, i))
        .find(|c| c.stat == "20")
        .expect("a definite customer");
    let items: Vec<String> = (0..ITEMS)
        .map(|i| seed::item(SEED, i))
        .filter(|it| it.stat == "20")
        .map(|it| it.itno)
        .take(2)
        .collect();
    let quote = NewQuote {
        sold_to: SoldTo::from_seed(&customer),
        ship_to: None,
        doc_no: Some("CLK1".into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: "PO-CLK1".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: items
            .iter()
            .map(|it| NewLine::product(it, Decimal::ONE))
            .collect(),
    };
    let (id, doc_no) = stack.create_quote(&quote);
    stack.set_status(id, READY);
    (id, doc_no)
}

/// The one job's (state, attempts, last error), once it exists.
fn job(stack: &Stack) -> Option<(String, i64, Option<String>)> {
    let path = stack.data.join("ferry.db");
    let db = rusqlite::Connection::open(path).ok()?;
    db.query_row(
        "SELECT state, attempts, last_error FROM jobs ORDER BY id LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .ok()
}

fn wait_for(
    stack: &Stack,
    what: &str,
    limit: Duration,
    ok: impl Fn(&(String, i64, Option<String>)) -> bool,
) -> (String, i64, Option<String>) {
    let start = Instant::now();
    loop {
        let j = job(stack);
        if let Some(j) = j.filter(|j| ok(j)) {
            return j;
        }
        assert!(start.elapsed() < limit, "{what}: job is {:?}", job(stack));
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn set_faults(stack: &Stack, faults: serde_json::Value) {
    stack.m3_control(reqwest::Method::PUT, "/_control/faults", faults);
}

/// Token requests Ferry has made to M3's OAuth endpoint (its own metric).
fn token_requests(stack: &Stack) -> f64 {
    let text = reqwest::blocking::get(format!("{}/metrics", stack.ferry_url()))
        .and_then(|r| r.text())
        .expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("ferry_oauth_token_requests_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn orders_for(stack: &Stack, doc_no: &str) -> usize {
    stack
        .m3_orders()
        .iter()
        .filter(|o| o.cuor.trim() == doc_no)
        .count()
}

#[test]
fn a_clock_stepped_back_an_hour_does_not_strand_a_retry() {
    let (stack, clock) = faked_stack();
    // M3 is busy: every MI call is answered 429 with Retry-After 5 s, longer than the
    // connection's resend budget, so the job is put back to wait 5 s.
    set_faults(&stack, json!({ "rate_429": 1.0, "retry_after_secs": 5 }));
    let (_, doc_no) = approve_a_quote(&stack);
    wait_for(
        &stack,
        "waiting for the retry",
        Duration::from_secs(60),
        |j| j.0 == "queued" && j.1 >= 1 && j.2.is_some(),
    );
    set_faults(&stack, json!({}));
    // NTP steps the clock back an hour while the job waits.
    clock.set("-1h");
    let (state, attempts, error) = wait_for(
        &stack,
        "the retry never ran after the clock stepped back",
        Duration::from_secs(40),
        |j| j.0 != "queued" && j.0 != "running",
    );
    assert_eq!(state, "done", "attempts {attempts}, last error {error:?}");
    assert_eq!(orders_for(&stack, &doc_no), 1);
}

#[test]
fn a_clock_stepped_forward_two_hours_does_not_hand_a_live_job_to_another_worker() {
    let (stack, clock) = faked_stack();
    // Order entry is slow (each OIS100MI call takes 1.5 s), so the job is mid-flight, its
    // 60 s lease live, when the clock jumps; seven idle workers poll for work meanwhile.
    set_faults(
        &stack,
        json!({ "latency": { "min_ms": 1500, "max_ms": 1500 }, "target": "OIS100MI" }),
    );
    let (_, doc_no) = approve_a_quote(&stack);
    wait_for(
        &stack,
        "waiting for a worker",
        Duration::from_secs(60),
        |j| j.0 == "running",
    );
    std::thread::sleep(Duration::from_millis(500));
    let tokens = token_requests(&stack);
    assert!(tokens >= 1.0, "the job has called M3, so it has a token");
    clock.set("+2h");
    let (state, attempts, error) = wait_for(
        &stack,
        "the job never finished",
        Duration::from_secs(60),
        |j| j.0 != "queued" && j.0 != "running",
    );
    assert_eq!(state, "done", "last error {error:?}");
    assert_eq!(
        attempts, 1,
        "one worker ran the job start to end; none took over its live lease"
    );
    assert_eq!(orders_for(&stack, &doc_no), 1);
    // The token's lifetime runs on the monotonic clock: two wall-clock hours are no reason to
    // fetch a new one.
    assert_eq!(
        token_requests(&stack),
        tokens,
        "no token refresh after the step"
    );
}
