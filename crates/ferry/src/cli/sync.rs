//! `ferry sync catalog`: queue a catalog run on the server's store and follow it to its end.

use std::time::Duration;

use clap::Subcommand;

use super::{exit, out};
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
        #[arg(long)]
        full: bool,
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
}

pub async fn run(ctx: &Context, cmd: &SyncCommand) -> anyhow::Result<i32> {
    let SyncCommand::Catalog {
        tenant,
        full,
        no_wait,
        timeout_secs,
        json,
    } = cmd;
    sync::queue_catalog(ctx, tenant, *full).await?;
    if *no_wait {
        out!("queued a catalog sync for tenant '{tenant}'")?;
        return Ok(exit::OK);
    }
    let run = sync::follow_catalog(ctx, tenant, Duration::from_secs(*timeout_secs), |r| {
        if !*json && !r.ended() {
            let _ = out!("{}: {} items read", r.state, r.report.read);
        }
    })
    .await?;
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

fn summary(run: &CatalogRun) -> String {
    let r = &run.report;
    let mut line = format!(
        "catalog sync {}: {} read, {} inserted, {} updated, {} unchanged, {} deactivated, {} failed",
        run.state, r.read, r.inserted, r.updated, r.unchanged, r.deactivated, r.failed
    );
    if let Some(e) = run.error.as_deref().filter(|_| run.state != "done") {
        line.push_str(&format!("\n    {e}"));
    }
    line
}
