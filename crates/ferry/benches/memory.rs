//! Memory per tenant (`cargo xtask bench`, or `cargo bench -p ferry --features sandbox --bench
//! memory`): the real `ferry serve`, a process of its own, with 1, 10 and 100 tenants of three
//! plugins each (erp, quoting, and the mapping transform, prepared), wired to one M3 and one
//! QuoteWerks simulator. Reports its RSS (`VmRSS`) after start and after one quote per tenant
//! has become an order (and every tenant's transform is prepared), and the RSS each tenant
//! beyond the first adds, against the 1-tenant run of the same invocation. Also how long the
//! tenants' first quotes took, beside the same at the largest size with prepare off.
//!
//! `FERRY_BENCH_TENANTS=1,10` picks other sizes (the first is the baseline).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use common::serve::{Serve, quiet_stack, spawn_serve};
use ferry_sim::quotewerks::{DEFAULT_SECRET_HEADER, NewLine, NewQuote, SoldTo};
use ferry_sim::seed;
use ferry_sim::stack::{READY, SimStack, TRANSFERRED};
use rust_decimal::Decimal;

/// The stack's own tenant: QuoteWerks' webhooks go to it, and it is not in the config the
/// server runs (the bench posts each tenant's webhook itself).
const UNWIRED: &str = "unwired";
const LINES: usize = 3;
/// The most a run may take to start, or to turn its quotes into orders.
const PATIENCE: Duration = Duration::from_secs(900);

struct Run {
    tenants: usize,
    prepare: bool,
    rss_start: u64,
    rss_after: u64,
    first_quotes: Duration,
}

fn main() -> anyhow::Result<()> {
    if common::listed("memory") {
        return Ok(());
    }
    let sizes: Vec<usize> = match std::env::var("FERRY_BENCH_TENANTS") {
        Ok(s) => s
            .split(',')
            .map(|n| n.trim().parse())
            .collect::<Result<_, _>>()
            .context("FERRY_BENCH_TENANTS: numbers, comma-separated")?,
        Err(_) => vec![1, 10, 100],
    };
    anyhow::ensure!(!sizes.is_empty() && sizes[0] >= 1, "at least one tenant");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for &n in &sizes {
        runs.push(tokio.block_on(run(n, true))?);
        report_line(runs.last().expect("a run"));
    }
    let largest = *sizes.iter().max().expect("sizes");
    let plain = tokio.block_on(run(largest, false))?;
    report_line(&plain);

    let base = &runs[0];
    println!();
    println!("ferry serve, tenants of 3 plugins (erp, quoting, transform prepared), RSS (VmRSS)");
    println!(
        "  tenants   after start   after 1 quote each   per extra tenant (vs {} tenant)   first quotes",
        base.tenants
    );
    for r in &runs {
        let extra = r.tenants.saturating_sub(base.tenants);
        let per = |now: u64, then: u64| {
            if extra == 0 {
                "baseline".to_string()
            } else {
                format!(
                    "{:+.2} MiB",
                    (now as f64 - then as f64) / extra as f64 / 1024.0
                )
            }
        };
        println!(
            "  {:>7}   {:>8.1} MiB   {:>15.1} MiB   start {:>11}, after quotes {:>11}   {:>8.2?}",
            r.tenants,
            mib(r.rss_start),
            mib(r.rss_after),
            per(r.rss_start, base.rss_start),
            per(r.rss_after, base.rss_after),
            r.first_quotes,
        );
    }
    if let Some(same) = runs.iter().find(|r| r.tenants == plain.tenants) {
        println!(
            "  {} tenants' first quotes: {:.2?} with prepare, {:.2?} without ({:.2}x)",
            plain.tenants,
            same.first_quotes,
            plain.first_quotes,
            same.first_quotes.as_secs_f64() / plain.first_quotes.as_secs_f64()
        );
    }
    println!("  goal: <= 1 MiB per extra tenant after its first quote");
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report_line(r: &Run) {
    eprintln!(
        "memory: {} tenants, prepare {}: {:.1} MiB after start, {:.1} MiB after quotes, first quotes {:.2?}",
        r.tenants,
        r.prepare,
        mib(r.rss_start),
        mib(r.rss_after),
        r.first_quotes
    );
}

/// One `ferry serve` with `n` tenants: RSS after start, then after one quote each.
async fn run(n: usize, prepare: bool) -> anyhow::Result<Run> {
    // Polling off (as in every quiet stack): each tenant sees only the quote whose webhook it
    // gets.
    let mut opts = quiet_stack();
    opts.tenant = UNWIRED.into();
    let catalog = opts.catalog;
    let mut stack = SimStack::start(opts).await?;
    let names: Vec<String> = (0..n).map(|i| format!("t{i:03}")).collect();
    write_config(&stack.config_path, &names, prepare)?;
    drop(stack.ferry_listener.take());

    let log = stack.dir.join("ferry.log");
    let (mut child, _) = spawn_serve(
        &stack.dir,
        Serve {
            config: &stack.config_path,
            data: None,
            log: &log,
            filter: "warn,ferry::tenant=info",
            pg: None,
        },
    )?;
    let pid = child.id();
    let outcome = async {
        // Let start-up work (activations, first compiles) settle before reading.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_start = rss_kib(pid)?;

        let customers: Vec<_> = (0..catalog.customers)
            .map(|i| seed::customer(catalog.seed, i))
            .filter(|c| c.stat == "20")
            .collect();
        let items: Vec<String> = (0..catalog.items)
            .map(|i| seed::item(catalog.seed, i))
            .filter(|i| i.stat == "20")
            .map(|i| i.itno)
            .collect();
        let mut docs = Vec::new();
        for (k, _) in names.iter().enumerate() {
            let quote = NewQuote {
                sold_to: SoldTo::from_seed(&customers[k % customers.len()]),
                ship_to: None,
                doc_no: Some(format!("M{k:05}")),
                doc_name: None,
                doc_type: "QUOTE".into(),
                status: READY.into(),
                doc_date: None,
                sales_rep: "BENCH".into(),
                po_number: format!("PO-{k}"),
                project_no: None,
                local_tax_rate: Decimal::ZERO,
                shipping_amount: Decimal::ZERO,
                custom: Default::default(),
                lines: (0..LINES)
                    .map(|j| NewLine::product(&items[(k * 3 + j) % items.len()], Decimal::ONE))
                    .collect(),
            };
            docs.push(stack.qw.create_quote(&quote)?);
        }

        let http = reqwest::Client::new();
        let t = Instant::now();
        for (name, doc) in names.iter().zip(&docs) {
            let body = serde_json::json!({
                "event": "QuoteWerks.DocumentStatusChanged",
                "eventId": format!("bench-{name}-{}", doc.id),
                "document": {"id": doc.id.to_string(), "docNo": doc.doc_no, "docType": "QUOTE", "status": READY},
            });
            let resp = http
                .post(format!("{}/hooks/{name}/quotewerks", stack.ferry_url))
                .header(DEFAULT_SECRET_HEADER, &stack.webhook_secret)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await?;
            anyhow::ensure!(resp.status().is_success(), "webhook for {name}: {}", resp.status());
        }
        let until = Instant::now() + PATIENCE;
        loop {
            let done = stack.qw.documents(Some(TRANSFERRED))?.len();
            if done >= n {
                break;
            }
            anyhow::ensure!(Instant::now() < until, "{done} of {n} quotes became orders");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let first_quotes = t.elapsed();
        if prepare {
            // Every tenant's transform prepared (or given up on), logged once per tenant.
            loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let settled = text
                    .lines()
                    .filter(|l| {
                        l.contains("transform prepared")
                            || l.contains("preparing the transform failed")
                    })
                    .count();
                if settled >= n {
                    break;
                }
                anyhow::ensure!(Instant::now() < until, "{settled} of {n} transforms prepared");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = rss_kib(pid)?;
        anyhow::Ok(Run {
            tenants: n,
            prepare,
            rss_start,
            rss_after,
            first_quotes,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    if outcome.is_err() {
        eprintln!("{}", std::fs::read_to_string(&log).unwrap_or_default());
    }
    stack.shutdown().await;
    outcome
}

/// The stack's config with its tenant replaced by `names`, each a copy of it.
fn write_config(path: &Path, names: &[String], prepare: bool) -> anyhow::Result<()> {
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(path)?)?;
    let tenants = doc
        .get_mut("tenants")
        .and_then(toml::Value::as_table_mut)
        .context("the stack's config has no tenants")?;
    let mut template = tenants.remove(UNWIRED).context("the stack's tenant")?;
    if let Some(t) = template
        .get_mut("plugins")
        .and_then(|p| p.get_mut("transform"))
        .and_then(toml::Value::as_table_mut)
    {
        t.insert("prepare".into(), prepare.into());
    }
    for name in names {
        tenants.insert(name.clone(), template.clone());
    }
    std::fs::write(path, toml::to_string(&doc)?)?;
    Ok(())
}

/// The process's resident set (KiB), from /proc/PID/status.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/PID/status")
}
