//! `ferry sync catalog`: queue a catalog run on the server's store and follow it to its end.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use clap::Subcommand;

use super::{exit, out};
use crate::flows::catalog::RunOptions;
use crate::services::Context;
use crate::services::sync::{self, CatalogRun};

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
        let SyncCommand::Customers(args) = cmd else {
            unreachable!("every sync command is matched above")
        };
        return super::sync_customers::run(ctx, args).await;
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
    let bar = (!*json && std::io::stderr().is_terminal()).then(progress_bar);
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
fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template(
            "{spinner} catalog sync {msg}: {pos} items read ({per_sec}, {elapsed})",
        )
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
