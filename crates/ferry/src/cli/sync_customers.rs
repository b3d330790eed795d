//! `ferry sync customers`: one customer sync run here (QuoteWerks ⇄ M3), with its summary.

use clap::Args;

use super::{exit, out};
use crate::flows::customers::{CustomerReport, RunOptions, Side};
use crate::services::Context;
use crate::services::customer_sync;

#[derive(Debug, Args)]
pub struct CustomersArgs {
    #[arg(long)]
    pub tenant: String,
    /// Every customer on both sides, not only those changed since the last run.
    #[arg(long, conflicts_with = "since")]
    pub full: bool,
    /// Customers changed since this date (2026-11-30, or RFC 3339); the next run still starts
    /// where the last one did.
    #[arg(long)]
    pub since: Option<String>,
    /// Write nothing: print what a run would create, link and change.
    #[arg(long)]
    pub dry_run: bool,
    /// The counts, conflicts (both values and the decision) and holds as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: &CustomersArgs) -> anyhow::Result<i32> {
    let options = RunOptions {
        full: args.full,
        since: args.since.clone(),
        dry_run: args.dry_run,
    };
    let report = customer_sync::run(ctx, &args.tenant, options).await?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out!("{}", summary(&report, args.dry_run))?;
    }
    Ok(if report.failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    })
}

fn summary(r: &CustomerReport, dry_run: bool) -> String {
    let mut s = format!(
        "customer sync{}: {} QuoteWerks and {} M3 customers read; {} inserted, {} updated ({} in M3, {} in QuoteWerks), {} linked, {} unchanged, {} held, {} failed, {} conflicts",
        if dry_run {
            " (dry run, nothing written)"
        } else {
            ""
        },
        r.read_quotewerks,
        r.read_m3,
        r.inserted,
        r.updated,
        r.updated_m3,
        r.updated_quotewerks,
        r.linked,
        r.unchanged,
        r.held,
        r.failed,
        r.conflicts.len()
    );
    for c in &r.conflicts {
        let decision = match c.winner {
            Some(Side::M3) => "M3's kept",
            Some(Side::Quotewerks) => "QuoteWerks' kept",
            None => "left for review",
        };
        s.push_str(&format!(
            "\n    conflict {} / {} {}: QuoteWerks {:?}, M3 {:?} -> {decision} ({:?})",
            c.quotewerks_id, c.m3_id, c.field, c.quotewerks, c.m3, c.policy
        ));
    }
    for h in &r.holds {
        s.push_str(&format!(
            "\n    held {} {:?}: {}{}",
            h.quotewerks_id,
            h.name,
            h.reason,
            if h.candidates.is_empty() {
                String::new()
            } else {
                format!(" (candidates: {})", h.candidates.join(", "))
            }
        ));
    }
    for f in &r.failures {
        s.push_str(&format!("\n    failed {f}"));
    }
    for w in &r.would_write {
        s.push_str(&format!("\n    would write {w}"));
    }
    s
}
