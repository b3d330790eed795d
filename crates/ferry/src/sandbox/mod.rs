//! `ferry sandbox`: both simulators and a Ferry server with a demo tenant wired to them, in one
//! process. With `--demo` it tells the quote-to-cash story with real calls and checks each
//! outcome against the simulators' own state, then exits (0 only if every check held).
//! `depth.rs`: its ending, a complete order and the invoice back; `sync_steps.rs`: the catalog,
//! price, stock and customer syncs after it.

mod console;
mod depth;
mod sync_steps;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_sim::stack::{READY, SimStack, StackOptions};

use crate::config::FerryConfig;
use crate::server::{self, RunningServer};
use ferry_store::{JobState, Release, Store};

pub const TENANT: &str = ferry_sim::stack::DEMO_TENANT;

#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Walk through the story, check it, and exit.
    #[arg(long)]
    pub demo: bool,
    /// Keep everything (config, databases, simulator state) here; default: a temp directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Quotes the sales rep approves in the demo.
    #[arg(long, default_value_t = 3)]
    pub approve: usize,
    /// Where the built plugin components are (default: FERRY_PLUGIN_DIR, else target/plugins
    /// next to this binary).
    #[arg(long, env = ferry_layout::PLUGIN_DIR_ENV)]
    pub plugins: Option<PathBuf>,
}

fn plugin_dir(args: &SandboxArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.plugins {
        return Ok(dir.clone());
    }
    let exe = std::env::current_exe()?;
    ferry_layout::component_dir_beside(&exe)
        .context("can't locate target/plugins from the binary's path")
}

fn say(step: &str, text: &str) {
    println!("\n== {step}\n   {text}");
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<i32> {
    let Stack { ferry, sims } = start_stack(args.dir.clone(), &plugin_dir(&args)?).await?;
    let (m3, qw) = (&sims.m3, &sims.qw);
    let ferry_url = &sims.ferry_url;

    println!("Ferry sandbox");
    println!(
        "  Ferry        {} (tenant '{TENANT}', config {})",
        ferry.base_url(),
        sims.config_path.display()
    );
    println!(
        "  Infor M3     {} (MI REST under /{}/M3/m3api-rest, .ionapi {})",
        m3.base_url,
        m3.tenant,
        m3.ionapi_path.display()
    );
    println!(
        "  QuoteWerks   database {} (control API {})",
        qw.db_path.display(),
        qw.base_url
    );
    println!(
        "  Webhooks     QuoteWerks -> {ferry_url}/hooks/{TENANT}/quotewerks; M3 BODs -> {ferry_url}/ion/{TENANT}/events"
    );
    println!(
        "  Try          ferry --data-dir {} trace QUOTE_ID --tenant {TENANT}",
        sims.data_dir.display()
    );
    let secret = console::token(ferry.store.as_ref(), TENANT).await?;
    println!(
        "  Console      {}/ui (sign in with this token for tenant '{TENANT}', shown once: {secret})",
        ferry.base_url()
    );

    if !args.demo {
        println!("\nRunning; Ctrl-C stops everything.");
        tokio::signal::ctrl_c().await?;
        ferry.stop().await?;
        sims.shutdown().await;
        return Ok(0);
    }
    let outcome = demo(&args, &ferry, &sims, &secret).await;
    ferry.stop().await?;
    sims.shutdown().await;
    match outcome {
        Ok(()) => {
            println!("\nThe demo checked every step against the simulators' own state. All held.");
            Ok(0)
        }
        Err(e) => {
            println!("\nDEMO FAILED: {e:#}");
            Ok(1)
        }
    }
}

/// The demo stack (`ferry_sim::stack`) with Ferry serving it in this process.
pub struct Stack {
    pub ferry: RunningServer,
    pub sims: SimStack,
}

/// Starts the demo stack with its files under `dir` (default: a temporary directory) and the
/// plugins from `plugins`.
pub async fn start_stack(dir: Option<PathBuf>, plugins: &Path) -> anyhow::Result<Stack> {
    let mut opts = StackOptions::demo(dir, plugins);
    // The customer sync makes new M3 customers from one of the simulator's templates.
    opts.ferry
        .erp_settings
        .push(("customer_template".into(), "TMPLDOM".into()));
    let mut sims = SimStack::start(opts).await?;
    sync_steps::configure(&sims.config_path)?;
    let config = FerryConfig::load(&sims.config_path)?;
    let ferry = server::start(config, &sims.data_dir, sims.ferry_listener.take()).await?;
    Ok(Stack { ferry, sims })
}

/// Waits until the quote's job is finished (done, held or dead), up to `limit`.
pub async fn settle(
    store: &dyn Store,
    quote: &str,
    limit: Duration,
) -> anyhow::Result<ferry_store::Job> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(job) = store
            .job(TENANT, crate::flows::quote_to_order::KIND, quote)
            .await?
            && matches!(job.state, JobState::Done | JobState::Held | JobState::Dead)
        {
            return Ok(job);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("quote {quote} did not settle within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn demo(
    args: &SandboxArgs,
    ferry: &RunningServer,
    sims: &SimStack,
    console_token: &str,
) -> anyhow::Result<()> {
    let (m3, qw) = (&sims.m3, &sims.qw);
    let store: &dyn Store = ferry.store.as_ref();
    let candidates: Vec<_> = qw
        .documents(None)?
        .into_iter()
        .filter(|d| d.doc_type.eq_ignore_ascii_case("QUOTE") && !d.doc_no.starts_with("FRYQ9"))
        .take(args.approve)
        .collect();
    anyhow::ensure!(
        !candidates.is_empty(),
        "the QuoteWerks simulator has no quotes"
    );

    say(
        "1. A sales rep approves quotes in QuoteWerks",
        &format!(
            "{} quotes go to status '{READY}'; QuoteWerks sends its webhook to Ferry for each.",
            candidates.len()
        ),
    );
    for d in &candidates {
        qw.set_status(d.id, READY)?;
        println!(
            "   {} ({}, {}) -> {READY}",
            d.doc_no, d.sold_to_company, d.grand_total
        );
    }

    say(
        "2. Ferry turns each approved quote into an M3 sales order",
        "webhook verified and stored, then: fetch quote, resolve customer, map, validate, OIS100MI AddBatchHead/AddBatchLine/Confirm, write back.",
    );
    let mut orders = Vec::new();
    for d in &candidates {
        let key = d.id.to_string();
        let job = settle(store, &key, Duration::from_secs(60)).await?;
        match job.state {
            JobState::Done => {
                let number = job.checkpoint["receipt"]["order_number"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string();
                let in_m3 = m3
                    .orders()?
                    .into_iter()
                    .filter(|o| o.orno == number)
                    .count();
                anyhow::ensure!(in_m3 == 1, "M3 holds {in_m3} orders numbered {number}");
                println!(
                    "   {} -> M3 order {number} (confirmed; exactly one in M3)",
                    d.doc_no
                );
                orders.push((d.id, d.doc_no.clone(), number));
            }
            JobState::Held => println!(
                "   {} -> held for review: {}",
                d.doc_no,
                job.hold_reason.unwrap_or_default()
            ),
            _ => println!(
                "   {} -> dead letter: {}",
                d.doc_no,
                job.last_error.unwrap_or_default()
            ),
        }
    }
    anyhow::ensure!(!orders.is_empty(), "no quote became an order");

    say(
        "3. The quote shows its M3 order",
        "QuoteWerks' database, read straight from the simulator:",
    );
    for (id, doc_no, number) in &orders {
        let doc = qw.document(*id)?;
        let text = serde_json::to_string(&doc)?;
        anyhow::ensure!(
            text.contains(number.as_str()),
            "quote {doc_no} does not carry order {number}"
        );
        println!(
            "   {doc_no}: status '{}', order number {number} written back",
            doc.text("DocStatus")
        );
    }

    say(
        "4. Exactly once",
        "the rep approves the same quotes again (QuoteWerks re-sends the webhook): nothing new may happen in M3.",
    );
    let before = m3.order_count()?;
    for (id, _, _) in &orders {
        qw.set_status(*id, "4-Presented to Customer")?;
        qw.set_status(*id, READY)?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = m3.order_count()?;
    anyhow::ensure!(before == after, "M3 went from {before} to {after} orders");
    println!("   M3 still holds {after} orders.");

    say(
        "5. M3 status flows back",
        "M3 moves the orders on; its sales-order BODs reach Ferry over ION and update the quotes.",
    );
    for (id, doc_no, number) in &orders {
        let status = m3.advance_order(number, Some("66"))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let doc = qw.document(*id)?;
            if doc.text("DocStatus") == "8-M3 Delivered" {
                println!(
                    "   {doc_no}: M3 order {number} at {status} -> quote status '{}'",
                    doc.text("DocStatus")
                );
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("quote {doc_no} did not get M3's status {status} back");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    say(
        "6. Bad data is held, not half-sent",
        "a quote for an item M3 has discontinued (status 90) is approved; Ferry holds it before any M3 write.",
    );
    let id = qw.find_doc_no("FRYQ9002")?;
    let item = qw.document(id)?.items.iter().find_map(|i| {
        i.get("ManufacturerPartNumber")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    });
    let item = item.context("FRYQ9002 has no item")?;
    let before = m3.order_count()?;
    qw.set_status(id, READY)?;
    let job = settle(store, &id.to_string(), Duration::from_secs(60)).await?;
    anyhow::ensure!(
        job.state == JobState::Held,
        "FRYQ9002 should be held, is {:?}",
        job.state
    );
    anyhow::ensure!(m3.order_count()? == before, "a held quote wrote to M3");
    println!("   FRYQ9002 held: {}", job.hold_reason.unwrap_or_default());

    say(
        "7. Fix the data, release the hold",
        &format!(
            "the product manager releases item {item} in M3 (status 20); `ferry holds release` lets the quote go on."
        ),
    );
    m3.change_item(
        &item,
        &ferry_sim::m3::ItemChange {
            itds: None,
            stat: Some("20".into()),
            sapr: None,
            stock: Vec::new(),
        },
    )?;
    store
        .release(
            TENANT,
            crate::flows::quote_to_order::KIND,
            &id.to_string(),
            Release::AtCheckpoint,
            crate::flows::now_ms(),
        )
        .await?;
    let job = settle(store, &id.to_string(), Duration::from_secs(60)).await?;
    anyhow::ensure!(
        job.state == JobState::Done,
        "FRYQ9002 did not complete after release: {:?} {:?}",
        job.state,
        job.hold_reason
    );
    let number = job.checkpoint["receipt"]["order_number"]
        .as_str()
        .unwrap_or("?");
    anyhow::ensure!(
        m3.order_count()? == before + 1,
        "expected exactly one new M3 order"
    );
    println!("   FRYQ9002 -> M3 order {number}");
    let quote = depth::complete_order_and_invoice(store, sims).await?;

    say(
        "10. The console",
        &format!(
            "an operator signs in at /ui with the printed token and finds {quote}'s run by its number."
        ),
    );
    console::check(&ferry.base_url(), console_token, &quote).await?;
    println!("   signed in; {quote} found and its run opened");

    say(
        "11. A rep asks what is in stock",
        &format!(
            "warehouse {STOCK_WAREHOUSE} counts {STOCK_ON_HAND} of item {item} in M3; the rep asks Ferry's availability API (with the same token)."
        ),
    );
    m3.change_item(
        &item,
        &ferry_sim::m3::ItemChange {
            itds: None,
            stat: None,
            sapr: None,
            stock: vec![ferry_sim::m3::StockChange {
                whlo: STOCK_WAREHOUSE.into(),
                stqt: rust_decimal::Decimal::from(STOCK_ON_HAND),
            }],
        },
    )?;
    let (on_hand, allocatable, cached) =
        console::availability(&ferry.base_url(), console_token, &item, STOCK_WAREHOUSE).await?;
    anyhow::ensure!(
        on_hand.parse::<rust_decimal::Decimal>().ok() == Some(STOCK_ON_HAND.into()),
        "Ferry says {on_hand} on hand, M3 holds {STOCK_ON_HAND}"
    );
    anyhow::ensure!(cached, "the second ask was not served from the cache");
    println!(
        "   {item} in {STOCK_WAREHOUSE}: {on_hand} on hand, {allocatable} allocatable (asked twice: M3 once, then the cache)"
    );
    sync_steps::run(ferry, sims).await
}

/// The demo's stock check: a warehouse of the simulator's and the count set there.
const STOCK_WAREHOUSE: &str = "100";
const STOCK_ON_HAND: i64 = 37;
