//! `ferry sandbox`: both simulators and a Ferry server with a demo tenant wired to them, in one
//! process. With `--demo` it tells the quote-to-cash story with real calls and checks each
//! outcome against the simulators' own state, then exits (0 only if every check held).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use ferry_sim::{M3Sim, M3SimConfig, QuoteWerksSim, QuoteWerksSimConfig};

use crate::config::FerryConfig;
use crate::server::{self, RunningServer};
use ferry_store::{JobState, Release, Store};

pub const TENANT: &str = "demo";
const READY: &str = "3-Manager Approved";
const TRANSFERRED: &str = "5-Order Created in M3";

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

/// The plugin components the demo tenant runs, by role, as `cargo xtask build-plugins` names
/// them.
const DEMO_PLUGINS: [(&str, &str); 3] = [
    ("erp", "m3_connector"),
    ("quoting", "quotewerks_connector"),
    ("transform", "ferry_mapping"),
];

fn plugin_dir(args: &SandboxArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.plugins {
        return Ok(dir.clone());
    }
    let exe = std::env::current_exe()?;
    ferry_layout::component_dir_beside(&exe)
        .context("can't locate target/plugins from the binary's path")
}

/// Refuses to start without the demo tenant's components.
pub fn check_plugins(plugins: &Path) -> anyhow::Result<()> {
    for (_, name) in DEMO_PLUGINS {
        let path = plugins.join(format!("{name}.wasm"));
        anyhow::ensure!(
            path.exists(),
            "{} is missing: build the plugins first (`cargo xtask demo` does it)",
            path.display()
        );
    }
    Ok(())
}

fn say(step: &str, text: &str) {
    println!("\n== {step}\n   {text}");
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<i32> {
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let plugins = plugin_dir(&args)?;
    check_plugins(&plugins)?;

    let Stack {
        ferry,
        m3,
        qw,
        config_path,
        data_dir,
        ferry_url,
    } = start_stack(&dir, &plugins).await?;

    println!("Ferry sandbox");
    println!(
        "  Ferry        {} (tenant '{TENANT}', config {})",
        ferry.base_url(),
        config_path.display()
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
        data_dir.display()
    );

    if !args.demo {
        println!("\nRunning; Ctrl-C stops everything.");
        tokio::signal::ctrl_c().await?;
        ferry.stop().await?;
        return Ok(0);
    }
    let outcome = demo(&args, &ferry, &m3, &qw).await;
    ferry.stop().await?;
    m3.shutdown().await;
    qw.shutdown().await;
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

/// Both simulators and a Ferry server for the demo tenant, wired together, in this process.
pub struct Stack {
    pub ferry: RunningServer,
    pub m3: ferry_sim::M3SimHandle,
    pub qw: ferry_sim::QuoteWerksSimHandle,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub ferry_url: String,
}

/// Starts the stack with its files under `dir` and the demo tenant's plugins from `plugins`.
pub async fn start_stack(dir: &Path, plugins: &Path) -> anyhow::Result<Stack> {
    // Ferry's address must be known before QuoteWerks starts: it is the webhook target.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let ferry_url = format!("http://{}", listener.local_addr()?);
    let ion_secret = random_secret();
    let webhook_secret = random_secret();

    let m3 = M3Sim::start(M3SimConfig {
        state: Some(dir.join("m3")),
        ionapi_out: Some(dir.join("m3.ionapi")),
        bod_endpoint: Some(format!("{ferry_url}/ion/{TENANT}/events")),
        bod_token: Some(ion_secret.clone()),
        ..M3SimConfig::default()
    })
    .await?;
    let qw = QuoteWerksSim::start(QuoteWerksSimConfig {
        db: Some(dir.join("quotewerks.db")),
        webhook: Some(format!("{ferry_url}/hooks/{TENANT}/quotewerks")),
        secret: Some(webhook_secret.clone()),
        // FRYQ9001-9003: an unknown item, a discontinued item, a preliminary customer.
        bad_quotes: true,
        ..QuoteWerksSimConfig::default()
    })
    .await?;

    std::fs::write(dir.join("webhook.secret"), &webhook_secret)?;
    std::fs::write(dir.join("ion.secret"), &ion_secret)?;
    let config_path = dir.join("ferry.toml");
    std::fs::write(&config_path, demo_config(plugins, &qw.product_table))?;
    let config = FerryConfig::load(&config_path)?;
    let data_dir = config.data_dir().unwrap_or_else(|| dir.join("data"));
    let ferry = server::start(config, &data_dir, Some(listener)).await?;
    Ok(Stack {
        ferry,
        m3,
        qw,
        config_path,
        data_dir,
        ferry_url,
    })
}

fn random_secret() -> String {
    use rand::RngExt;
    let bytes: [u8; 24] = rand::rng().random();
    hex::encode(bytes)
}

fn demo_config(plugins: &Path, product_table: &str) -> String {
    let product_db = product_table.trim_end_matches("_Products");
    let file = |name: &str| {
        plugins
            .join(format!("{name}.wasm"))
            .display()
            .to_string()
            .replace('\\', "\\\\")
    };
    format!(
        r#"# The sandbox's demo tenant, wired to the simulators. Secrets are files next to this one.
data_dir = "data"

[server]
listen = "127.0.0.1:0"
workers = 2

[tenants.{TENANT}.connections.m3]
kind = "http"
ionapi = {{ file = "m3.ionapi" }}

[tenants.{TENANT}.connections.quotewerks]
kind = "sqlite"
path = "quotewerks.db"

# The host's own credentials: checked (constant time) before any plugin runs; no plugin sees them.
[tenants.{TENANT}.host]
webhook_secret = {{ file = "webhook.secret" }}
webhook_header = "X-QuoteWerks-Secret"
ion_token = {{ file = "ion.secret" }}

[tenants.{TENANT}.quote_to_order]
ready_status = "{READY}"
poll_interval_secs = 30
create_customers = false
transferred_status = "{TRANSFERRED}"
status_names = {{ "33" = "6-M3 Allocated", "44" = "7-M3 Picked", "66" = "8-M3 Delivered", "77" = "9-M3 Invoiced" }}

[tenants.{TENANT}.retry]
initial_interval_ms = 200
maximum_interval_ms = 5000
maximum_attempts = 8

# Each plugin gets only the connections it is granted.
[tenants.{TENANT}.plugins.erp]
file = "{erp}"
connections = ["m3"]

[tenants.{TENANT}.plugins.quoting]
file = "{quoting}"
connections = ["quotewerks"]
settings = {{ ready_status = "{READY}", transferred_status = "{TRANSFERRED}", product_db = "{product_db}" }}

[tenants.{TENANT}.plugins.transform]
file = "{transform}"
prepare = true
"#,
        erp = file(DEMO_PLUGINS[0].1),
        quoting = file(DEMO_PLUGINS[1].1),
        transform = file(DEMO_PLUGINS[2].1),
    )
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
    m3: &ferry_sim::M3SimHandle,
    qw: &ferry_sim::QuoteWerksSimHandle,
) -> anyhow::Result<()> {
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
    Ok(())
}
