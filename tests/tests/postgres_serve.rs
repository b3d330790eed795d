//! `ferry serve` on PostgreSQL: a throwaway cluster (`ferry_store::testing::pg`), the config
//! naming it by reference (`store = { env = "FERRY_DATABASE_URL" }`), `ferry store migrate`
//! first, then the whole quote-to-order story through the real binary and both simulators.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_sim::stack::{Catalog, READY, SimStack, StackOptions, TRANSFERRED};
use ferry_store::testing::pg::PgCluster;
use ferry_store::{JobState, Jobs, PgStore};
use ferry_tests::orders::{definite_customers, quote, sellable_items};
use ferry_tests::stack::{CUSTOMERS, ITEMS, SEED};
use ferry_tests::{ferry_bin, spawn_raw_env};

/// `ferry --config CONFIG store migrate` with the database URL in the environment.
fn migrate(config: &Path, url: &str) -> String {
    let out = Command::new(ferry_bin())
        .arg("--config")
        .arg(config)
        .args(["store", "migrate"])
        .env("FERRY_DATABASE_URL", url)
        .output()
        .expect("ferry store migrate");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn control(
    http: &reqwest::blocking::Client,
    sim: &SimStack,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let mut req = http
        .request(method, format!("{}{path}", sim.qw.base_url))
        .bearer_auth(&sim.qw.control_token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().expect("quotewerks control");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().expect("json")
}

#[test]
fn serve_on_postgres_takes_an_approved_quote_to_exactly_one_order() {
    let cluster = PgCluster::start().expect("a throwaway PostgreSQL");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let url = runtime.block_on(cluster.database()).expect("a database");
    let dir = tempfile::tempdir().expect("tmp");

    let mut opts = StackOptions::demo(Some(dir.path().to_path_buf()), ferry_tests::plugin_dir());
    opts.catalog = Catalog {
        seed: SEED,
        items: ITEMS,
        customers: CUSTOMERS,
    };
    (opts.quotes, opts.bad_quotes, opts.bods_to_ferry) = (0, false, false);
    let mut sim = runtime.block_on(SimStack::start(opts)).expect("simulators");
    drop(sim.ferry_listener.take());
    let text = std::fs::read_to_string(&sim.config_path).expect("config");
    std::fs::write(
        &sim.config_path,
        format!("store = {{ env = \"FERRY_DATABASE_URL\" }}\n{text}"),
    )
    .expect("config");

    // Migrations first, on their own; a second run finds nothing to do.
    let first = migrate(&sim.config_path, &url);
    assert!(first.contains("migrated from version 0"), "{first}");
    let again = migrate(&sim.config_path, &url);
    assert!(again.contains("nothing to do"), "{again}");

    let config = sim.config_path.to_str().expect("utf-8").to_string();
    let _ferry = spawn_raw_env(
        dir.path(),
        &["--config".into(), config, "serve".into()],
        &[("FERRY_DATABASE_URL", url.as_ref())],
    );

    let http = reqwest::blocking::Client::new();
    let (q, cuno, _, _) = quote(1, &sellable_items(), &definite_customers());
    let created = control(
        &http,
        &sim,
        reqwest::Method::POST,
        "/_control/quotes",
        Some(serde_json::to_value(&q).expect("quote")),
    );
    let (id, doc_no) = (
        created["id"].as_i64().expect("id"),
        created["doc_no"].as_str().expect("doc_no").to_string(),
    );
    control(
        &http,
        &sim,
        reqwest::Method::POST,
        &format!("/_control/documents/{id}/status"),
        Some(serde_json::json!({ "status": READY })),
    );

    // The job lives in PostgreSQL: watch it there.
    let store = runtime
        .block_on(PgStore::open(&url))
        .expect("the same database");
    let start = Instant::now();
    let job = loop {
        let jobs = runtime.block_on(store.jobs(None, None)).expect("jobs");
        if let Some(job) = jobs
            .iter()
            .find(|j| j.state != JobState::Queued && j.state != JobState::Running)
        {
            break job.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no finished job in 120 s: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(job.state, JobState::Done, "{job:?}");

    let orders = ferry_sim::m3::read_orders_from_state_dir(&sim.m3.state_dir).expect("orders");
    assert_eq!(orders.len(), 1, "exactly one M3 order: {orders:?}");
    assert_eq!(orders[0].cuor.trim(), doc_no);
    assert_eq!(orders[0].cuno.trim(), cuno);
    let doc = control(
        &http,
        &sim,
        reqwest::Method::GET,
        &format!("/_control/documents/{id}"),
        None,
    );
    assert_eq!(doc["header"]["DocStatus"], TRANSFERRED);
    assert!(
        doc["header"].to_string().contains(orders[0].orno.trim()),
        "the order number is on the quote: {doc}"
    );
    assert!(
        !ferry_layout::DataDir::new(&sim.data_dir).db().exists(),
        "nothing went to SQLite"
    );

    // The operator's commands read the same database the server writes.
    let trace = Command::new(ferry_bin())
        .arg("--config")
        .arg(&sim.config_path)
        .args(["trace", &doc_no, "--tenant", &sim.tenant, "--json"])
        .env("FERRY_DATABASE_URL", &url)
        .output()
        .expect("ferry trace");
    let stdout = String::from_utf8_lossy(&trace.stdout);
    assert!(
        trace.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&trace.stderr)
    );
    let journey: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(journey["job"]["state"], "done", "{journey}");
}
