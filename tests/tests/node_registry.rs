//! Issue 14's node registry and shared schedules over real processes: two `ferry serve` nodes
//! on one PostgreSQL register themselves, `ferry nodes` lists both live with the address each
//! answers `/healthz` and `/readyz` on, a killed node turns stale; and a catalog sync scheduled
//! every 3 s on both nodes runs once per slot, not once per node.

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_store::Audit;
use ferry_tests::ferry_bin;
use ferry_tests::nodes::Cluster;
use ferry_tests::stack::{Options, TENANT};
use serde_json::Value;

const EVERY_SECS: u64 = 3;

/// `ferry nodes --json --live-within SECS` against the cluster's database.
fn nodes(cluster: &Cluster, live_within: u64) -> Vec<Value> {
    let data = cluster.stack.dir.path().join("cli-data");
    let out = Command::new(ferry_bin())
        .current_dir(cluster.stack.dir.path())
        .arg("--config")
        .arg(cluster.config(0))
        .arg("--data-dir")
        .arg(&data)
        .args(["nodes", "--json", "--live-within", &live_within.to_string()])
        .env("FERRY_DATABASE_URL", &cluster.url)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry nodes");
    assert!(
        out.status.success(),
        "ferry nodes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    rows.as_array().cloned().unwrap_or_default()
}

fn states(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["state"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn schedule_catalog(config: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(config)
        .expect("node config");
    writeln!(
        file,
        "\n[tenants.{TENANT}.sync.catalog]\nevery = \"{EVERY_SECS}s\""
    )
    .expect("append");
}

/// Catalog runs finished so far (each run's last page audits step `synced`).
fn synced(cluster: &Cluster) -> usize {
    cluster
        .stack
        .runtime()
        .block_on(cluster.store.trail(TENANT, "catalog"))
        .expect("trail")
        .iter()
        .filter(|e| e.step == "synced")
        .count()
}

#[test]
fn nodes_register_answer_health_turn_stale_when_killed_and_share_one_schedule() {
    let mut cluster = Cluster::new(
        2,
        Options {
            m3_flags: &[],
            create_customers: false,
            order_entry: "batch",
        },
        3_000,
    );
    for i in 0..cluster.len() {
        schedule_catalog(cluster.config(i));
    }
    // Started apart, so their timers would fire at different moments of each interval.
    cluster.start_node(0);
    std::thread::sleep(Duration::from_millis(1_500));
    cluster.start_node(1);

    let mut rows = Vec::new();
    wait_for("both nodes registered", Duration::from_secs(20), || {
        rows = nodes(&cluster, 20);
        states(&rows) == ["live", "live"]
    });
    let http = reqwest::blocking::Client::new();
    for row in &rows {
        let address = row["address"].as_str().expect("address");
        assert!(address.starts_with("127.0.0.1:"), "{row}");
        assert_eq!(row["version"], env!("CARGO_PKG_VERSION"), "{row}");
        let health = http
            .get(format!("http://{address}/healthz"))
            .send()
            .expect("healthz");
        assert_eq!(health.status().as_u16(), 200);
        assert_eq!(health.text().expect("body"), "ok");
        let ready = http
            .get(format!("http://{address}/readyz"))
            .send()
            .expect("readyz");
        assert_eq!(ready.status().as_u16(), 200);
    }

    // The schedule: one run per slot across both nodes. The first run is a full sync; count
    // the runs that finish over the next slots after it.
    wait_for("the first scheduled run", Duration::from_secs(90), || {
        synced(&cluster) >= 1
    });
    let (before, start) = (synced(&cluster), Instant::now());
    std::thread::sleep(Duration::from_secs(5 * EVERY_SECS));
    let runs = synced(&cluster) - before;
    let slots = usize::try_from(start.elapsed().as_secs() / EVERY_SECS).unwrap_or(0);
    assert!(
        runs <= slots + 1,
        "{runs} runs in {slots} slots: more than one per slot"
    );
    assert!(
        runs + 2 >= slots,
        "{runs} runs in {slots} slots: the schedule stopped"
    );

    // A killed node stops beating: stale once its last heartbeat is older than 8 s (the live
    // one beats every 5 s), and it is the one whose address no longer answers.
    cluster.kill(1);
    let mut after = Vec::new();
    wait_for(
        "one node live, the killed one stale",
        Duration::from_secs(30),
        || {
            after = nodes(&cluster, 8);
            states(&after) == ["live", "stale"]
        },
    );
    let stale = after[1]["address"].as_str().expect("address");
    assert!(
        http.get(format!("http://{stale}/healthz")).send().is_err(),
        "the stale node is the killed one"
    );
}
