//! Catalog, price and stock sync at scale (issue 12; `cargo xtask bench`, or `cargo bench -p
//! ferry --features sandbox --bench sync`): the real `ferry serve` (a process of its own) and
//! `ferry sync … --json` against the M3 and QuoteWerks simulators seeded with N items (default
//! 100,000; `FERRY_BENCH_SYNC_ITEMS`). A full sync (catalog `--full`, prices, stock), then 1% of
//! the items changed in M3 (a third each: description, list price, stock) and the runs again
//! (all three by delta; stock from one listing of the balances changed since its last run): wall
//! time, M3 MI round trips (the simulator's counter), items/s. `FERRY_BENCH_SERVE_LOG=
//! ferry_flows=debug FERRY_BENCH_PRINT_LOG=1` prints the server's log (each page's times).
//!
//! Baseline in the same run: the same syncs with one M3 round trip per item and value, the
//! connector's `bulk_size = 1` (what the host's per-item fallback for an erp 1.0-1.2 component
//! sends; N from `FERRY_BENCH_SYNC_BASELINE_ITEMS`, default the same N).

use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use common::serve::{Serve, quiet_stack, spawn_serve, stop};
use ferry_sim::m3::{ItemChange, StockChange};
use ferry_sim::stack::SimStack;
use rust_decimal::Decimal;

mod common;

const WAREHOUSE: &str = "200";

/// One run's figures: (what, wall time, MI round trips, items).
type Row = (String, Duration, u64, u64);

fn main() -> anyhow::Result<()> {
    if common::listed("sync") {
        return Ok(());
    }
    let number = common::env_number;
    let items = number("FERRY_BENCH_SYNC_ITEMS", 100_000)?;
    let baseline_items = number("FERRY_BENCH_SYNC_BASELINE_ITEMS", items)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let batched = tokio.block_on(run(items, None))?;
    let baseline = tokio.block_on(run(baseline_items, Some("1")))?;

    println!();
    println!(
        "sync: {items} items (baseline {baseline_items}), ferry serve + ferry sync against the simulators"
    );
    println!(
        "  {:<16} {:>10} {:>8} {:>10} {:>7}   {:>10} {:>8} {:>10}   {:>7}",
        "run", "batched", "trips", "items/s", "/100", "per-item", "trips", "items/s", "speedup"
    );
    for ((what, t, trips, n), (_, bt, btrips, bn)) in batched.iter().zip(&baseline) {
        let rate = |n: u64, t: &Duration| n as f64 / t.as_secs_f64().max(1e-9);
        println!(
            "  {what:<16} {:>9.2}s {trips:>8} {:>10.0} {:>7.2}   {:>9.2}s {btrips:>8} {:>10.0}   {:>6.1}x",
            t.as_secs_f64(),
            rate(*n, t),
            *trips as f64 * 100.0 / (*n).max(1) as f64,
            bt.as_secs_f64(),
            rate(*bn, bt),
            rate(*n, t) / rate(*bn, bt).max(1e-9),
        );
    }
    println!(
        "  goals (release, 2 cores): full <= 10 s, delta <= 1 s, round trips <= 1 per 100 items"
    );
    Ok(())
}

/// One stack of `items` items: the full syncs, 1% changed, the syncs again. `bulk_size`: the
/// M3 connector's setting (none: its default).
async fn run(items: usize, bulk_size: Option<&str>) -> anyhow::Result<Vec<Row>> {
    let mut opts = quiet_stack();
    opts.catalog.items = items;
    if let Some(b) = bulk_size {
        opts.ferry
            .erp_settings
            .push(("bulk_size".into(), b.to_string()));
    }
    let t = Instant::now();
    let mut stack = SimStack::start(opts).await?;
    eprintln!("sync: {items} items seeded in {:.2?}", t.elapsed());
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&stack.config_path)?;
    writeln!(
        config,
        "\n[tenants.{t}.sync.catalog]\ninactive_field = \"CustomText02\"\n\
         inactive_value = \"Discontinued\"\n\n[tenants.{t}.sync.stock]\nwarehouses = [\"{WAREHOUSE}\"]",
        t = stack.tenant
    )?;
    drop(config);
    drop(stack.ferry_listener.take());
    let log = stack.dir.join("ferry.log");
    // FERRY_BENCH_SERVE_LOG=ferry_flows=debug shows where each page's time goes. The
    // tenant's info lines say when the transform's snapshot is in.
    let filter = std::env::var("FERRY_BENCH_SERVE_LOG").unwrap_or_else(|_| "error".into());
    let filter = format!("{filter},ferry::tenant=info");
    let (child, _) = spawn_serve(
        &stack.dir,
        Serve {
            config: &stack.config_path,
            data: None,
            log: &log,
            filter: &filter,
            pg: None,
        },
    )?;
    // A running server's syncs are timed: the transform's snapshot, made once per activation
    // on the prepare thread from the server's start (about a second of CPU), is in first.
    let prepared = wait_for_line(&log, "transform prepared", Duration::from_secs(120));
    let label = if bulk_size.is_some() {
        "per-item"
    } else {
        "batched"
    };
    let outcome = async {
        prepared?;
        let n = items as u64;
        let mut rows = Vec::new();
        let sync = |what: &str, full: bool| -> anyhow::Result<(Duration, u64)> {
            let before = stack.m3.mi_requests();
            let t = Instant::now();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
            cmd.current_dir(&stack.dir)
                .arg("--data-dir")
                .arg(&stack.data_dir)
                .arg("--config")
                .arg(&stack.config_path)
                .args(["sync", what, "--tenant", &stack.tenant, "--json"])
                .args(["--timeout-secs", "3600"])
                .env("FERRY_LOG", "error");
            if full {
                cmd.arg("--full");
            }
            let out = cmd.output()?;
            let took = t.elapsed();
            let json: serde_json::Value =
                serde_json::from_slice(&out.stdout).with_context(|| {
                    format!(
                        "ferry sync {what}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                })?;
            anyhow::ensure!(json["state"] == "done", "ferry sync {what}: {json}");
            let trips = stack.m3.mi_requests() - before;
            let mut report = json["report"].clone();
            if let Some(r) = report.as_object_mut() {
                r.remove("written_keys");
                r.remove("would_write_keys");
            }
            eprintln!("sync {label} {what}: {took:.2?}, {trips} round trips: {report}");
            Ok((took, trips))
        };
        let mut total = (Duration::ZERO, 0);
        for (what, full) in [("catalog", true), ("prices", false), ("stock", false)] {
            let (t, trips) = sync(what, full)?;
            rows.push((format!("full {what}"), t, trips, n));
            total = (total.0 + t, total.1 + trips);
        }
        rows.push(("full, all three".into(), total.0, total.1, n));

        // 1% of the items change in M3.
        let changed: Vec<String> = (0..items)
            .step_by(100)
            .map(ferry_sim::seed::item_number)
            .collect();
        for (i, itno) in changed.iter().enumerate() {
            let mut change = ItemChange::default();
            match i % 3 {
                0 => change.itds = Some(format!("Renamed {i}")),
                1 => change.sapr = Some(Decimal::new(10_075 + i as i64 * 100, 2)),
                _ => {
                    change.stock = vec![StockChange {
                        whlo: WAREHOUSE.into(),
                        stqt: Decimal::from(5000 + i),
                    }]
                }
            }
            stack.m3.change_item(itno, &change)?;
        }
        let mut total = (Duration::ZERO, 0);
        for what in ["catalog", "prices", "stock"] {
            let (t, trips) = sync(what, false)?;
            rows.push((format!("1% delta {what}"), t, trips, n));
            total = (total.0 + t, total.1 + trips);
        }
        rows.push(("1% delta, all".into(), total.0, total.1, n));
        anyhow::Ok(rows)
    }
    .await;
    stop(child, &log, outcome.is_err());
    stack.shutdown().await;
    outcome
}

/// Waits until `log` has a line containing `needle`.
fn wait_for_line(log: &std::path::Path, needle: &str, within: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if std::fs::read_to_string(log).is_ok_and(|text| text.contains(needle)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("no '{needle}' in {} within {within:?}", log.display())
}
