//! The demo's sync steps: catalog, prices, stock and customers, each run through the services
//! `ferry sync` uses (in this process, on the server's store and registry) and then checked
//! against both simulators' own tables.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use ferry_sim::m3::{CustomerChange, ItemChange, ItemRecord, StockChange};
use ferry_sim::quotewerks::NewQuote;
use ferry_sim::seed;
use ferry_sim::stack::SimStack;
use rust_decimal::Decimal;

use super::{TENANT, say};
use crate::config::FerryConfig;
use crate::flows::catalog::RunOptions;
use crate::flows::customers::{CustomerReport, RunOptions as CustomerOptions};
use crate::flows::prices::RunOptions as ValuesOptions;
use crate::server::RunningServer;
use crate::services::{Context, ServiceError, customer_sync, sync};

/// The only warehouse the demo tenant's stock sync counts (`[tenants.demo.sync.stock]`).
pub(super) const SYNC_WAREHOUSE: &str = "200";
/// A sync in the demo's small catalog takes well under a second; this only bounds a hang.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The new company a rep types into QuoteWerks.
const NEW_COMPANY: &str = "Harbour Lights Trading Ltd";
const NEW_EMAIL: &str = "orders@harbourlights.example";

/// QuoteWerks' product table by product key (`ManufacturerPartNumber`), column → text.
type Products = BTreeMap<String, BTreeMap<String, String>>;

fn products(sims: &SimStack) -> anyhow::Result<Products> {
    Ok(sims
        .qw
        .products()?
        .into_iter()
        .filter_map(|p| Some((p.get("ManufacturerPartNumber")?.clone(), p)))
        .collect())
}

fn dec(text: &str) -> Option<Decimal> {
    text.trim().parse().ok()
}

/// A product's column as a decimal; a missing or non-numeric value is a difference to report.
fn number(products: &Products, itno: &str, column: &str) -> anyhow::Result<Decimal> {
    let product = products
        .get(itno)
        .with_context(|| format!("item {itno} has no QuoteWerks product"))?;
    let text = product.get(column).map(String::as_str).unwrap_or_default();
    dec(text).with_context(|| format!("product {itno}'s {column} is {text:?}, not a number"))
}

/// The stock the tenant's sync writes for an item: allocatable in [`SYNC_WAREHOUSE`], 0 if
/// the item has no balance there.
fn allocatable(item: &ItemRecord) -> Decimal {
    item.balances
        .iter()
        .filter(|b| b.whlo == SYNC_WAREHOUSE)
        .map(|b| dec(&b.stqt).unwrap_or_default() - dec(&b.alqt).unwrap_or_default())
        .sum()
}

/// Up to three differences, and how many there were.
fn differences(list: &[String]) -> String {
    let shown: Vec<&str> = list.iter().take(3).map(String::as_str).collect();
    format!("{} ({} in all)", shown.join("; "), list.len())
}

/// Appends the demo tenant's sync settings to the stack's config: stock from one warehouse.
pub(super) fn configure(config: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(config)
        .with_context(|| format!("opening {}", config.display()))?;
    writeln!(
        file,
        "\n[tenants.{TENANT}.sync.stock]\nwarehouses = [\"{SYNC_WAREHOUSE}\"]"
    )
    .with_context(|| format!("writing {}", config.display()))
}

pub(super) async fn run(ferry: &RunningServer, sims: &SimStack) -> anyhow::Result<()> {
    let config = FerryConfig::load(&sims.config_path)?;
    let ctx = Context::for_server(
        config,
        &sims.data_dir,
        ferry.store.clone(),
        ferry.registry.clone(),
    );
    catalog(&ctx, sims).await?;
    prices(&ctx, sims).await?;
    stock(&ctx, sims).await?;
    customers(&ctx, sims).await
}

async fn catalog(ctx: &Context, sims: &SimStack) -> anyhow::Result<()> {
    let m3 = &sims.m3;
    let items = seed::sellable_items(sims.catalog.seed, sims.catalog.items);
    let renamed = items.last().context("M3 has no sellable item")?;
    let name = "Harbour lamp, brass (demo)";
    say(
        "12. The catalog: M3 items into QuoteWerks' product database",
        &format!(
            "the product manager renames item {renamed} in M3; a full catalog sync (as `ferry sync catalog --full`) maps every item and writes only what changed."
        ),
    );
    m3.change_item(
        renamed,
        &ItemChange {
            itds: Some(name.into()),
            stat: None,
            sapr: None,
            stock: Vec::new(),
        },
    )?;
    let options = RunOptions::default();
    let key = options.key();
    sync::queue_catalog(ctx, TENANT, true, options).await?;
    let run = sync::follow_catalog(ctx, TENANT, key, RUN_LIMIT, |_| {}).await?;
    let r = &run.report;
    ensure!(
        run.state == "done" && r.failed == 0,
        "the catalog sync ended {} with {} failed: {}",
        run.state,
        r.failed,
        run.error.unwrap_or_default()
    );
    let (m3_items, qw) = (m3.items()?, products(sims)?);
    let mut diff = Vec::new();
    for item in &m3_items {
        match qw.get(&item.itno) {
            None => diff.push(format!("{} has no product", item.itno)),
            Some(p) => {
                let desc = p.get("Description").map(String::as_str).unwrap_or_default();
                if !desc.starts_with(item.itds.trim()) {
                    diff.push(format!(
                        "{}: M3 '{}', QuoteWerks '{desc}'",
                        item.itno, item.itds
                    ));
                }
            }
        }
    }
    ensure!(
        diff.is_empty(),
        "QuoteWerks' products differ from M3's items: {}",
        differences(&diff)
    );
    println!(
        "   catalog: {} items in QuoteWerks match M3 ({} written, {} unchanged); {renamed} reads '{name}'",
        m3_items.len(),
        r.inserted + r.updated,
        r.unchanged
    );
    Ok(())
}

async fn prices(ctx: &Context, sims: &SimStack) -> anyhow::Result<()> {
    let m3 = &sims.m3;
    let items = seed::sellable_items(sims.catalog.seed, sims.catalog.items);
    let item = items.first().context("M3 has no sellable item")?;
    let price = Decimal::new(123_450, 2);
    say(
        "13. Prices",
        &format!(
            "M3's list price of {item} becomes {price}; a price sync (as `ferry sync prices`) reads the prices a batch of items per M3 call."
        ),
    );
    m3.change_item(
        item,
        &ItemChange {
            itds: None,
            stat: None,
            sapr: Some(price),
            stock: Vec::new(),
        },
    )?;
    let run = values(ctx, false).await?;
    let (m3_items, qw) = (m3.items()?, products(sims)?);
    let mut diff = Vec::new();
    for i in &m3_items {
        let theirs = number(&qw, &i.itno, "List")?;
        if dec(&i.sapr) != Some(theirs) {
            diff.push(format!("{}: M3 {}, QuoteWerks {theirs}", i.itno, i.sapr));
        }
    }
    ensure!(
        diff.is_empty(),
        "list prices differ: {}",
        differences(&diff)
    );
    println!(
        "   prices: list price of every item ({}) equals M3's ({} written, M3 calls: {}); {item} at {price}",
        m3_items.len(),
        run.report.written,
        run.report.batches
    );
    Ok(())
}

async fn stock(ctx: &Context, sims: &SimStack) -> anyhow::Result<()> {
    let m3 = &sims.m3;
    let items = seed::sellable_items(sims.catalog.seed, sims.catalog.items);
    let item = items.get(1).context("M3 has too few sellable items")?;
    let count = Decimal::from(512);
    say(
        "14. Stock",
        &format!(
            "warehouse {SYNC_WAREHOUSE} counts {count} of {item} in M3; a stock sync (as `ferry sync stock`) writes each product's allocatable stock there."
        ),
    );
    m3.change_item(
        item,
        &ItemChange {
            itds: None,
            stat: None,
            sapr: None,
            stock: vec![StockChange {
                whlo: SYNC_WAREHOUSE.into(),
                stqt: count,
            }],
        },
    )?;
    let run = values(ctx, true).await?;
    let (m3_items, qw) = (m3.items()?, products(sims)?);
    let mut diff = Vec::new();
    for i in &m3_items {
        let theirs = number(&qw, &i.itno, "Availability")?;
        if allocatable(i) != theirs {
            diff.push(format!(
                "{}: M3 {}, QuoteWerks {theirs}",
                i.itno,
                allocatable(i)
            ));
        }
    }
    ensure!(diff.is_empty(), "stock differs: {}", differences(&diff));
    let changed = m3_items
        .iter()
        .find(|i| &i.itno == item)
        .map(allocatable)
        .unwrap_or_default();
    println!(
        "   stock: warehouse {SYNC_WAREHOUSE}'s stock on every product equals M3's ({} written); {item}: {changed} allocatable",
        run.report.written
    );
    Ok(())
}

/// Runs the tenant's price (`stock` false) or stock sync to its end; it must end done.
async fn values(ctx: &Context, stock: bool) -> anyhow::Result<sync::ValuesRun> {
    let policy = sync::queue_values(ctx, TENANT, stock, ValuesOptions::default()).await?;
    let key = policy.key(false);
    let run = sync::follow_values(ctx, TENANT, &policy, key, RUN_LIMIT, |_| {}).await?;
    ensure!(
        run.state == "done",
        "the {} sync ended {}: {}",
        run.target,
        run.state,
        run.error.clone().unwrap_or_default()
    );
    Ok(run)
}

/// One customer sync run here. M3's customer BODs reach Ferry too, and Ferry carries each to
/// QuoteWerks in a run of its own; this one waits for such a run to end (one at a time).
async fn sync_customers(ctx: &Context) -> anyhow::Result<CustomerReport> {
    let deadline = tokio::time::Instant::now() + RUN_LIMIT;
    loop {
        match customer_sync::run(ctx, TENANT, CustomerOptions::default()).await {
            Err(ServiceError::Input(e))
                if e.contains("runs already") && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return Ok(other?),
        }
    }
}

async fn customers(ctx: &Context, sims: &SimStack) -> anyhow::Result<()> {
    let (m3, qw) = (&sims.m3, &sims.qw);
    let known = seed::definite_customers(sims.catalog.seed, sims.catalog.customers);
    let known = known.last().context("M3 has no definite customer")?;
    let item = seed::sellable_items(sims.catalog.seed, sims.catalog.items)
        .into_iter()
        .next()
        .context("M3 has no sellable item")?;
    say(
        "15. Customers both ways",
        &format!(
            "a rep quotes a new company, '{NEW_COMPANY}', in QuoteWerks and one M3 already has, {}; a customer sync (as `ferry sync customers`) runs.",
            known.name
        ),
    );
    let quote = |sold_to: serde_json::Value| -> anyhow::Result<()> {
        let q: NewQuote = serde_json::from_value(serde_json::json!({
            "sold_to": sold_to,
            "status": "1-In Progress",
            "lines": [{"mpn": item, "qty": "1"}],
        }))?;
        qw.create_quote(&q)?;
        Ok(())
    };
    quote(serde_json::json!({
        "company": NEW_COMPANY, "email": NEW_EMAIL, "address1": "4 Pier Road",
        "city": "Cobh", "country": "IE", "cm_account_no": "CMDEMO1",
    }))?;
    quote(serde_json::json!({
        "company": known.name, "email": known.email, "cm_account_no": "CMDEMO2",
    }))?;
    let report = sync_customers(ctx).await?;
    ensure!(
        report.failed == 0,
        "the customer sync failed: {}",
        report.failures.join("; ")
    );
    let created: Vec<_> = m3
        .customers()?
        .into_iter()
        .filter(|c| c.mail.eq_ignore_ascii_case(NEW_EMAIL))
        .collect();
    let [customer] = created.as_slice() else {
        bail!(
            "M3 holds {} customers for {NEW_EMAIL} after the sync",
            created.len()
        );
    };
    ensure!(
        customer.cunm == NEW_COMPANY,
        "M3 customer {} is named '{}', not '{NEW_COMPANY}'",
        customer.cuno,
        customer.cunm
    );
    println!(
        "   customers: a new QuoteWerks company became M3 customer {} ({} created, {} linked, {} held)",
        customer.cuno, report.inserted, report.linked, report.held
    );

    let town = "Kinsale";
    m3.change_customer(
        &known.cuno,
        &CustomerChange {
            town: Some(town.into()),
            ..Default::default()
        },
    )?;
    let again = sync_customers(ctx).await?;
    ensure!(
        again.failed == 0,
        "the second customer sync failed: {}",
        again.failures.join("; ")
    );
    let contacts = qw.contacts()?;
    let contact = contacts
        .iter()
        .find(|c| c.get("AccountNo").map(String::as_str) == Some("CMDEMO2"))
        .context("QuoteWerks has no contact CMDEMO2")?;
    let city = contact.get("City").map(String::as_str).unwrap_or_default();
    ensure!(
        city == town,
        "M3 customer {} moved to {town}, its QuoteWerks contact CMDEMO2 says '{city}'",
        known.cuno
    );
    ensure!(
        again.inserted == 0,
        "the second customer sync created {} M3 customers",
        again.inserted
    );
    println!(
        "   customers: an M3 change reached the QuoteWerks contact (M3 {} moved to {town}; contact CMDEMO2 City '{city}')",
        known.cuno
    );
    Ok(())
}
