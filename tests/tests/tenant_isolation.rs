//! One tenant cannot slow another (issue 10): tenant B's webhook latency, measured against the
//! real `ferry serve` over loopback, stays within 20 % (+10 ms) of its own baseline from the
//! same run while tenant A's webhook plugin loops until each deadline, and while it allocates up
//! to its memory cap over and over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_tests::{plugin, spawn};

const SAMPLES: usize = 1000;

fn setup(dir: &std::path::Path) -> std::path::PathBuf {
    let mut tenants = String::new();
    for t in ["a", "b"] {
        std::fs::write(dir.join(format!("{t}.secret")), format!("secret-of-{t}")).expect("secret");
        tenants.push_str(&format!(
            r#"
# The quoting test plugin imports `sql`, so it must be granted a connection to load.
[tenants.{t}.connections.qw]
kind = "sqlite"
path = "{t}-qw.db"

[tenants.{t}.host]
webhook_secret = {{ file = "{t}.secret" }}
webhook_header = "X-Ferry-Secret"

[tenants.{t}.quote_to_order]
ready_status = "Approved"
poll_interval_secs = 0

[tenants.{t}.plugins.quoting]
file = "{plugin}"
connections = ["qw"]
"#,
            plugin = plugin("test_quoting").display()
        ));
    }
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
# B sends as fast as it is answered: the intake rate limit is not what is measured here.
tenant_rate_per_sec = 0

[runtime]
call_deadline_ms = 1000
memory_limit_mib = 64
{tenants}"#
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, config).expect("config");
    path
}

/// B's webhook latencies, in ms, sorted; each must be stored (202). Stops early after 20 s
/// (a starved B answers in seconds; its figures then show it without a long wait).
fn measure_b(http: &reqwest::blocking::Client, base: &str, run: &str) -> Vec<f64> {
    let url = format!("{base}/hooks/b/quotewerks");
    let mut took = Vec::with_capacity(SAMPLES);
    let until = Instant::now() + Duration::from_secs(20);
    for i in 0..SAMPLES {
        if Instant::now() > until {
            break;
        }
        // "Draft" is stored but starts no job: only the webhook path is measured.
        let body = format!(r#"{{"DocID": "7", "DocStatus": "Draft", "EventID": "{run}-{i}"}}"#);
        let started = Instant::now();
        let r = http
            .post(&url)
            .header("X-Ferry-Secret", "secret-of-b")
            .body(body)
            .send()
            .expect("b's webhook");
        let status = r.status().as_u16();
        let _ = r.bytes();
        took.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 202, "b's webhook {run}-{i}");
    }
    took.sort_by(f64::total_cmp);
    took
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Tenant A's attackers: `clients` threads posting `behave` webhooks until stopped. Returns
/// the stop flag, the count of answers per status class, and the threads.
struct Attack {
    stop: Arc<AtomicBool>,
    stopped_5xx: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Attack {
    fn start(base: &str, behave: &'static str, clients: usize) -> Attack {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped_5xx = Arc::new(AtomicUsize::new(0));
        let threads = (0..clients)
            .map(|_| {
                let (stop, count) = (stop.clone(), stopped_5xx.clone());
                let url = format!("{base}/hooks/a/quotewerks");
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .build()
                        .expect("client");
                    let body = format!(r#"{{"DocID": "1", "behave": "{behave}"}}"#);
                    while !stop.load(Ordering::Relaxed) {
                        match http
                            .post(&url)
                            .header("X-Ferry-Secret", "secret-of-a")
                            .body(body.clone())
                            .send()
                        {
                            Ok(r) if r.status().is_server_error() => {
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(r) => panic!("a's hostile webhook got {}", r.status()),
                            Err(e) => panic!("a's hostile webhook failed: {e}"),
                        }
                    }
                })
            })
            .collect();
        Attack {
            stop,
            stopped_5xx,
            threads,
        }
    }

    /// Stops the attackers; returns how many of A's calls were stopped or refused (5xx).
    fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("attacker");
        }
        self.stopped_5xx.load(Ordering::Relaxed)
    }
}

#[test]
fn a_tenant_whose_plugin_loops_or_hogs_memory_does_not_slow_another_tenant() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = setup(dir.path());
    let server = spawn(
        &dir.path().join("data"),
        &["--config", config.to_str().expect("utf-8"), "serve"],
    );
    let base = server.base_url();
    let http = reqwest::blocking::Client::new();
    // Warm up: compile caches, connection pool, SQLite pages.
    measure_b(&http, &base, "warm");
    let mut report = Vec::new();
    let mut results = Vec::new();
    for behave in ["spin", "hog"] {
        // The baseline right before each attack: the machine's own load drifts.
        let baseline = measure_b(&http, &base, &format!("base-{behave}"));
        let (base_p50, base_p99) = (pct(&baseline, 0.5), pct(&baseline, 0.99));
        // 20 % plus 10 ms: on a 2-core machine A may still use one core (its one turn), and
        // other processes share the rest; before isolation B's p99 was 1-12 s under attack.
        let allowed = base_p99 * 1.2 + 10.0;
        report.push(format!(
            "baseline: B p50 {base_p50:.1} ms, p99 {base_p99:.1} ms (allowed while attacked: p99 <= {allowed:.1} ms)"
        ));
        let attack = Attack::start(&base, behave, 6);
        // Let the attack take hold: A's calls running and queued.
        std::thread::sleep(Duration::from_millis(1500));
        let under = measure_b(&http, &base, behave);
        let stopped = attack.stop();
        let (p50, p99) = (pct(&under, 0.5), pct(&under, 0.99));
        report.push(format!(
            "while A's plugin does '{behave}': B p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms over {} requests; A's calls stopped or refused: {stopped}",
            under[under.len() - 1],
            under.len()
        ));
        assert!(stopped > 0, "the '{behave}' attack never ran");
        results.push((behave, p99, allowed));
    }
    eprintln!("{}", report.join("\n"));
    let failures: Vec<_> = results
        .iter()
        .filter(|(_, p99, allowed)| p99 > allowed)
        .collect();
    assert!(
        failures.is_empty(),
        "B slowed down under {failures:?}:\n{}",
        report.join("\n")
    );
    // The server still answers A normally once A behaves.
    let ok = http
        .post(format!("{base}/hooks/a/quotewerks"))
        .header("X-Ferry-Secret", "secret-of-a")
        .body(r#"{"DocID": "1", "DocStatus": "Draft", "EventID": "after"}"#)
        .send()
        .expect("a");
    assert_eq!(ok.status().as_u16(), 202);
}
