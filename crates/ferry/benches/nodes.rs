//! Orders per second across nodes (issue 14; `cargo xtask bench`, or `cargo bench -p ferry
//! --features sandbox --bench nodes`): the real `ferry serve` (processes of their own) against
//! the M3 simulator answering every call 50 ms late (`--fault-latency-ms 50-50`) under one
//! per-connection rate limit (`[tenants.T.connections.m3] rate_per_sec`, as M3's gateway limits
//! a tenant). One SQLite node (the baseline, measured in the same run), then 1, 2 and 3 nodes
//! on one throwaway PostgreSQL (`ferry_store::testing::pg`).
//!
//! Each run: N approved quotes of 2-3 lines (`FERRY_BENCH_NODES_QUOTES`, default 150), their
//! webhooks spread round-robin over the nodes; wall time from the first webhook to the last
//! quote marked transferred (its M3 order made and confirmed) gives orders/s; the simulator's
//! MI request counter gives M3 round trips per order, and the limit over those the ceiling
//! (rate / round trips per order). Then webhook intake: W webhook posts
//! (`FERRY_BENCH_NODES_WEBHOOKS`, default 2,000) over 16 connections to one node, and for
//! several nodes the same spread over all of them (status not ready: stored, no job queued).
//!
//! `FERRY_BENCH_NODES_RATE` (default 40) is the limit in sends per second (burst 1);
//! `FERRY_BENCH_NODES=1,2,3` the PostgreSQL sizes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::Context;
use common::serve::{Serve, quiet_stack, run_at_most, spawn_serve, table};
use ferry_sim::quotewerks::{DEFAULT_SECRET_HEADER, NewLine, NewQuote, SoldTo};
use ferry_sim::seed;
use ferry_sim::stack::{READY, SimStack, TRANSFERRED};
use ferry_store::testing::pg::PgCluster;
use rust_decimal::Decimal;

/// The most a run may take to start, or to turn its quotes into orders.
const PATIENCE: Duration = Duration::from_secs(900);
/// Concurrent connections of the webhook intake measure.
const CONNECTIONS: usize = 16;
const LATENCY: &str = "50-50";
const WORKERS: usize = 8;

struct Row {
    label: String,
    nodes: usize,
    orders: usize,
    wall: Duration,
    trips: u64,
    /// Webhooks/s one node accepted.
    intake_one: f64,
    /// Webhooks/s all nodes together accepted (several nodes only).
    intake_all: Option<f64>,
}

impl Row {
    fn per_sec(&self) -> f64 {
        self.orders as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn trips_per_order(&self) -> f64 {
        self.trips as f64 / self.orders.max(1) as f64
    }
}

fn main() -> anyhow::Result<()> {
    if common::listed("nodes") {
        return Ok(());
    }
    let number = common::env_number;
    let quotes = number("FERRY_BENCH_NODES_QUOTES", 150)?;
    let webhooks = number("FERRY_BENCH_NODES_WEBHOOKS", 2000)?;
    let rate = number("FERRY_BENCH_NODES_RATE", 40)?;
    let sizes: Vec<usize> = match std::env::var("FERRY_BENCH_NODES") {
        Ok(s) => s
            .split(',')
            .map(|n| n.trim().parse())
            .collect::<Result<_, _>>()
            .context("FERRY_BENCH_NODES: numbers, comma-separated")?,
        Err(_) => vec![1, 2, 3],
    };
    anyhow::ensure!(quotes >= 1 && rate >= 1, "at least one quote and a rate");
    let pg = PgCluster::start().map_err(|e| anyhow::anyhow!("a throwaway PostgreSQL: {e}"))?;
    // One compile cache for every node of every run: each component compiles once.
    let cache = tempfile::tempdir()?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let bench = Bench {
        quotes,
        webhooks,
        rate,
        cache: cache.path().to_path_buf(),
    };
    let mut rows = vec![tokio.block_on(bench.run(1, None))?];
    for &n in &sizes {
        let url = tokio
            .block_on(pg.database())
            .map_err(|e| anyhow::anyhow!("a database: {e}"))?;
        rows.push(tokio.block_on(bench.run(n, Some(&url)))?);
    }

    let base = &rows[0];
    println!();
    println!(
        "nodes: {quotes} quotes of 2-3 lines, M3 simulator {LATENCY} ms per call, \
         rate_per_sec = {rate} (burst 1) on the M3 connection, {WORKERS} workers per node"
    );
    println!(
        "  {:<22} {:>9} {:>9} {:>8} {:>11} {:>10} {:>9} {:>13} {:>13}",
        "run",
        "wall",
        "orders/s",
        "vs base",
        "trips/order",
        "ceiling/s",
        "of ceil.",
        "intake 1 node",
        "intake spread"
    );
    for r in &rows {
        let ceiling = rate as f64 / r.trips_per_order().max(1e-9);
        println!(
            "  {:<22} {:>8.2}s {:>9.2} {:>7.2}x {:>11.1} {:>10.2} {:>8.0}% {:>11.0}/s {:>13}",
            r.label,
            r.wall.as_secs_f64(),
            r.per_sec(),
            r.per_sec() / base.per_sec().max(1e-9),
            r.trips_per_order(),
            ceiling,
            r.per_sec() * 100.0 / ceiling,
            r.intake_one,
            r.intake_all
                .map(|v| format!("{v:.0}/s ({})", r.nodes))
                .unwrap_or_else(|| "-".into()),
        );
    }
    println!(
        "  ceiling = rate_per_sec / M3 round trips per order; webhook intake: {webhooks} posts \
         over {CONNECTIONS} connections"
    );
    drop(pg);
    Ok(())
}

struct Bench {
    quotes: usize,
    webhooks: usize,
    rate: usize,
    cache: PathBuf,
}

impl Bench {
    /// `n` nodes on the database `pg` (none: one node on its own SQLite file).
    async fn run(&self, n: usize, pg: Option<&str>) -> anyhow::Result<Row> {
        let label = match pg {
            None => "1 node, SQLite".to_string(),
            Some(_) => format!("{n} node{}, PostgreSQL", if n == 1 { "" } else { "s" }),
        };
        let mut opts = quiet_stack();
        opts.m3 = ferry_sim::stack::m3_from_flags(&["--fault-latency-ms", LATENCY])?;
        // Polling off (as in every quiet stack): the nodes see the quotes their webhooks name.
        opts.ferry.workers = WORKERS;
        let catalog = opts.catalog;
        let mut stack = SimStack::start(opts).await?;
        // Nothing listens on the stack's Ferry address: the nodes take ports of their own.
        drop(stack.ferry_listener.take());
        let config = stack.dir.join("nodes.toml");
        self.write_config(&stack.config_path, &config, &stack.tenant, pg.is_some())?;

        let mut children: Vec<Child> = Vec::new();
        let mut urls = Vec::new();
        let logs: Vec<PathBuf> = (0..n)
            .map(|i| stack.dir.join(format!("node{i}.log")))
            .collect();
        let outcome = async {
            for (i, log) in logs.iter().enumerate() {
                let data = stack.dir.join(format!("node{i}"));
                let (child, url) = spawn_serve(
                    &stack.dir,
                    Serve {
                        config: &config,
                        data: Some(&data),
                        log,
                        filter: "warn",
                        pg,
                    },
                )?;
                children.push(child);
                urls.push(url);
            }
            let docs = create_quotes(&stack, catalog, self.quotes)?;
            let http = reqwest::Client::new();
            let hook = |k: usize, url: &str, id: &str, doc_no: &str, status: &str| {
                let body = serde_json::json!({
                    "event": "QuoteWerks.DocumentStatusChanged",
                    "eventId": format!("bench-{k}-{status}-{id}"),
                    "document": {"id": id, "docNo": doc_no, "docType": "QUOTE", "status": status},
                });
                let req = http
                    .post(format!("{url}/hooks/{}/quotewerks", stack.tenant))
                    .header(DEFAULT_SECRET_HEADER, &stack.webhook_secret)
                    .header("content-type", "application/json")
                    .body(body.to_string());
                async move {
                    let resp = req.send().await?;
                    anyhow::ensure!(resp.status().is_success(), "webhook: {}", resp.status());
                    anyhow::Ok(())
                }
            };

            let before = stack.m3.mi_requests();
            let t = Instant::now();
            let posts = docs
                .iter()
                .enumerate()
                .map(|(k, (id, doc_no))| hook(k, &urls[k % urls.len()], id, doc_no, READY));
            run_at_most(CONNECTIONS, posts).await?;
            let until = Instant::now() + PATIENCE;
            loop {
                let done = stack.qw.documents(Some(TRANSFERRED))?.len();
                if done >= docs.len() {
                    break;
                }
                anyhow::ensure!(
                    Instant::now() < until,
                    "{done} of {} quotes became orders",
                    docs.len()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let wall = t.elapsed();
            let trips = stack.m3.mi_requests() - before;
            eprintln!(
                "nodes: {label}: {} orders in {wall:.2?}, {trips} M3 round trips",
                docs.len()
            );

            // Webhook intake: a status that is not ready, so each post is stored and queues
            // nothing (the workers stay idle).
            let docs = &docs;
            let hook = &hook;
            let intake = |targets: Vec<String>, round: usize| {
                let posts = (0..self.webhooks).map(move |k| {
                    let (id, doc_no) = &docs[k % docs.len()];
                    let url = targets[k % targets.len()].clone();
                    hook(round * self.webhooks + k, &url, id, doc_no, "Open")
                });
                async move {
                    let t = Instant::now();
                    run_at_most(CONNECTIONS, posts).await?;
                    anyhow::Ok(self.webhooks as f64 / t.elapsed().as_secs_f64().max(1e-9))
                }
            };
            let intake_one = intake(vec![urls[0].clone()], 0).await?;
            let intake_all = if n > 1 {
                Some(intake(urls.clone(), 1).await?)
            } else {
                None
            };
            anyhow::Ok(Row {
                label: label.clone(),
                nodes: n,
                orders: docs.len(),
                wall,
                trips,
                intake_one,
                intake_all,
            })
        }
        .await;
        for mut child in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if outcome.is_err() {
            for log in &logs {
                eprintln!(
                    "{}:\n{}",
                    log.display(),
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
        stack.shutdown().await;
        outcome
    }

    /// The stack's config for every node: its own port, the shared compile cache, no intake
    /// rate limit (the bench measures intake), the M3 connection's rate limit and, on
    /// PostgreSQL, the store named by `FERRY_DATABASE_URL`.
    fn write_config(&self, from: &Path, to: &Path, tenant: &str, pg: bool) -> anyhow::Result<()> {
        let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(from)?)?;
        if pg {
            let mut store = toml::Table::new();
            store.insert("env".into(), "FERRY_DATABASE_URL".into());
            doc.insert("store".into(), store.into());
        }
        let server = table(&mut doc, "server")?;
        server.insert("listen".into(), "127.0.0.1:0".into());
        server.insert("tenant_rate_per_sec".into(), 0.into());
        let runtime = table(&mut doc, "runtime")?;
        let cache = self.cache.to_str().context("a UTF-8 cache path")?;
        runtime.insert("cache_dir".into(), cache.into());
        let m3 = doc
            .get_mut("tenants")
            .and_then(|t| t.get_mut(tenant))
            .and_then(|t| t.get_mut("connections"))
            .and_then(|c| c.get_mut("m3"))
            .and_then(toml::Value::as_table_mut)
            .with_context(|| format!("no [tenants.{tenant}.connections.m3] in the config"))?;
        m3.insert("rate_per_sec".into(), (self.rate as i64).into());
        m3.insert("rate_burst".into(), 1.into());
        std::fs::write(to, toml::to_string(&doc)?)?;
        Ok(())
    }
}

/// `n` quotes of 2-3 product lines, already approved (no webhook yet): (document id, doc no).
fn create_quotes(
    stack: &SimStack,
    catalog: ferry_sim::stack::Catalog,
    n: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let customers: Vec<_> = (0..catalog.customers)
        .map(|i| seed::customer(catalog.seed, i))
        .filter(|c| c.stat == "20")
        .collect();
    let items: Vec<String> = (0..catalog.items)
        .map(|i| seed::item(catalog.seed, i))
        .filter(|i| i.stat == "20")
        .map(|i| i.itno)
        .collect();
    anyhow::ensure!(!customers.is_empty() && !items.is_empty(), "a catalog");
    (0..n)
        .map(|k| {
            let quote = NewQuote {
                sold_to: SoldTo::from_seed(&customers[k % customers.len()]),
                ship_to: None,
                doc_no: Some(format!("N{k:05}")),
                doc_name: None,
                doc_type: "QUOTE".into(),
                status: READY.into(),
                doc_date: None,
                sales_rep: "BENCH".into(),
                po_number: format!("PO-N{k}"),
                project_no: None,
                local_tax_rate: Decimal::ZERO,
                shipping_amount: Decimal::ZERO,
                custom: Default::default(),
                lines: (0..2 + k % 2)
                    .map(|j| NewLine::product(&items[(k * 3 + j) % items.len()], Decimal::ONE))
                    .collect(),
            };
            let doc = stack.qw.create_quote(&quote)?;
            Ok((doc.id.to_string(), doc.doc_no.clone()))
        })
        .collect()
}
