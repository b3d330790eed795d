//! `ferry sync catalog|prices|stock`: queue a run on the server's store and follow it to its end.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use clap::Subcommand;

use super::{exit, out};
use crate::flows::catalog::RunOptions;
use crate::flows::prices::RunOptions as ValuesOptions;
use crate::services::Context;
use crate::services::sync::{self, CatalogRun, ValuesRun};

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// M3 items → QuoteWerks products: a delta from the last run's start (every item the
    /// first time), or every item with --full. A running server does the work.
    Catalog {
        #[arg(long)]
        tenant: String,
        /// Every item, not only those changed since the last run.
        #[arg(long, conflicts_with = "since")]
        full: bool,
        /// Items changed since this date (2026-11-30, or RFC 3339) instead of since the last
        /// run; the next delta still starts where the last one did.
        #[arg(long)]
        since: Option<String>,
        /// Write nothing: read and map every item as a run would, and print what it would write.
        #[arg(long)]
        dry_run: bool,
        /// Queue it and return at once.
        #[arg(long)]
        no_wait: bool,
        /// Stop following (the run goes on) after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
        /// The final state and counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// QuoteWerks customers ⇄ M3 customers, run here: matched, created, merged per the
    /// tenant's conflict policy, with a summary.
    Customers(super::sync_customers::CustomersArgs),
    /// M3 list prices (and the tenant's reference customer's) → QuoteWerks products' price
    /// fields, a batch of items per M3 call; only changed prices written. Without a reference
    /// customer, a delta: the items changed since the last run's start (every item the first
    /// time, or with --full). A running server does the work.
    Prices(ValuesArgs),
    /// M3 stock in the tenant's warehouses → QuoteWerks availability; only changed stock
    /// written. A delta: one listing of the balances changed since the last run's start
    /// (every item, a batch per M3 call, the first time, with --full, or when the ERP cannot
    /// list changed stock). A running server does the work.
    Stock(ValuesArgs),
}

/// `ferry sync prices|stock`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ValuesArgs {
    #[arg(long)]
    tenant: String,
    /// Every item, not only those changed since the last run (stock, and prices without a
    /// reference customer, run as deltas).
    #[arg(long)]
    full: bool,
    /// Write nothing: read the items a run would (a delta's, else every one), and print what
    /// it would write.
    #[arg(long)]
    dry_run: bool,
    /// Queue it and return at once.
    #[arg(long)]
    no_wait: bool,
    /// Stop following (the run goes on) after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// The final state and counts as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(ctx: &Context, cmd: &SyncCommand) -> anyhow::Result<i32> {
    let SyncCommand::Catalog {
        tenant,
        full,
        since,
        dry_run,
        no_wait,
        timeout_secs,
        json,
    } = cmd
    else {
        return match cmd {
            SyncCommand::Customers(args) => super::sync_customers::run(ctx, args).await,
            SyncCommand::Prices(args) => run_values(ctx, args, false).await,
            SyncCommand::Stock(args) => run_values(ctx, args, true).await,
            SyncCommand::Catalog { .. } => unreachable!("matched above"),
        };
    };
    let options = RunOptions {
        dry_run: *dry_run,
        since: since.clone(),
    };
    let key = options.key();
    sync::queue_catalog(ctx, tenant, *full, options).await?;
    if *no_wait {
        out!("queued a catalog sync for tenant '{tenant}'")?;
        return Ok(exit::OK);
    }
    let timeout = Duration::from_secs(*timeout_secs);
    // A bar on a terminal; plain lines when piped or with --json (scripts read the end only).
    let bar = (!*json && std::io::stderr().is_terminal()).then(|| progress_bar("catalog"));
    let run = sync::follow_catalog(ctx, tenant, key, timeout, |r| match &bar {
        Some(bar) => {
            bar.set_position(r.report.read);
            bar.set_message(r.state.clone());
        }
        None if !*json && !r.ended() => {
            let _ = out!("{}: {} items read", r.state, r.report.read);
        }
        None => {}
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if *json {
        out!("{}", serde_json::to_string_pretty(&run)?)?;
    } else {
        out!("{}", summary(&run))?;
    }
    Ok(match run.state.as_str() {
        "done" => exit::OK,
        _ => exit::FAILED,
    })
}

/// M3 doesn't say how many items a run will read, so the bar counts and shows the rate, not an
/// end or an ETA.
fn progress_bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} sync {{msg}}: {{pos}} items read ({{per_sec}}, {{elapsed}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn summary(run: &CatalogRun) -> String {
    let r = &run.report;
    if run.options.dry_run {
        let mut line = format!(
            "catalog dry run {}: {} read, {} would be written ({} of them deactivated), {} unchanged, {} failed; nothing was written",
            run.state, r.read, r.would_write, r.deactivated, r.unchanged, r.failed
        );
        if !r.would_write_keys.is_empty() {
            let more = r.would_write - r.would_write_keys.len() as u64;
            line.push_str(&format!(
                "\n    would write: {}",
                r.would_write_keys.join(", ")
            ));
            if more > 0 {
                line.push_str(&format!(" and {more} more"));
            }
        }
        return line;
    }
    let mut line = format!(
        "catalog sync {}: {} read, {} inserted, {} updated, {} unchanged, {} deactivated, {} failed",
        run.state, r.read, r.inserted, r.updated, r.unchanged, r.deactivated, r.failed
    );
    if let Some(e) = run.error.as_deref().filter(|_| run.state != "done") {
        line.push_str(&format!("\n    {e}"));
    }
    line
}

/// `ferry sync prices|stock`: queue the run, follow it (plain lines or a bar), summarize.
async fn run_values(ctx: &Context, args: &ValuesArgs, stock: bool) -> anyhow::Result<i32> {
    let ValuesArgs {
        tenant,
        full,
        dry_run,
        no_wait,
        timeout_secs,
        json,
    } = args;
    let what = if stock { "stock" } else { "prices" };
    let options = ValuesOptions {
        dry_run: *dry_run,
        full: *full,
    };
    let policy = sync::queue_values(ctx, tenant, stock, options).await?;
    if *no_wait {
        out!("queued a {what} sync for tenant '{tenant}'")?;
        return Ok(exit::OK);
    }
    let timeout = Duration::from_secs(*timeout_secs);
    let bar = (!*json && std::io::stderr().is_terminal()).then(|| progress_bar(what));
    let key = policy.key(*dry_run);
    let run = sync::follow_values(ctx, tenant, &policy, key, timeout, |r| match &bar {
        Some(bar) => {
            bar.set_position(r.report.read);
            bar.set_message(r.state.clone());
        }
        None if !*json && !r.ended() => {
            let _ = out!("{}: {} items read", r.state, r.report.read);
        }
        None => {}
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if *json {
        out!("{}", serde_json::to_string_pretty(&run)?)?;
    } else {
        out!("{}", values_summary(&run))?;
    }
    Ok(match run.state.as_str() {
        "done" => exit::OK,
        _ => exit::FAILED,
    })
}

fn values_summary(run: &ValuesRun) -> String {
    let r = &run.report;
    let mut line = if run.options.dry_run {
        let mut line = format!(
            "{} dry run {}: {} read, {} would be written, {} unchanged, {} without a value; nothing was written",
            run.target, run.state, r.read, r.would_write, r.unchanged, r.missing
        );
        if !r.would_write_keys.is_empty() {
            line.push_str(&format!(
                "\n    would write: {}",
                r.would_write_keys.join(", ")
            ));
            let more = r
                .would_write
                .saturating_sub(r.would_write_keys.len() as u64);
            if more > 0 {
                line.push_str(&format!(" and {more} more"));
            }
        }
        line
    } else {
        format!(
            "{} sync {}: {} read, {} written, {} unchanged, {} without a value ({} ERP calls)",
            run.target, run.state, r.read, r.written, r.unchanged, r.missing, r.batches
        )
    };
    if let Some(since) = &r.since {
        line.push_str(&format!(" (items changed since {since})"));
    }
    if let Some(e) = run.error.as_deref().filter(|_| run.state != "done") {
        line.push_str(&format!("\n    {e}"));
    }
    line
}
