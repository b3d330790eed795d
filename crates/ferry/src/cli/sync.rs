//! `ferry sync catalog|prices|stock`: queue a run on the server's store and follow it to its end.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressBar, ProgressStyle};

use clap::Subcommand;

use super::{exit, out};
use crate::flows::catalog::RunOptions;
use crate::flows::prices::RunOptions as ValuesOptions;
use crate::services::Context;
use crate::services::sync::{self, CatalogRun, Target, ValuesRun};

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
    // Read before queueing: the new run takes the last one's place.
    let expected = match full {
        true => sync::expected_items(ctx, tenant, Target::Catalog).await?,
        false => None,
    };
    sync::queue_catalog(ctx, tenant, *full, options).await?;
    if *no_wait {
        out!("queued a catalog sync for tenant '{tenant}'")?;
        return Ok(exit::OK);
    }
    let timeout = Duration::from_secs(*timeout_secs);
    let progress = Progress::new("catalog", *json, expected);
    let run = sync::follow_catalog(ctx, tenant, key, timeout, |r| {
        progress.show(&r.state, r.report.read, r.ended())
    })
    .await?;
    progress.finish();
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

/// A run's progress as it is followed: a bar on a terminal, plain lines when piped, nothing
/// with --json (scripts read the end only). M3 does not say how many items a listing holds:
/// a run that reads every item expects as many as the last such run read
/// ([`sync::expected_items`]) and shows an end and an ETA; a delta, or the first run, counts
/// and shows its rate.
struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    expected: Option<u64>,
    started: Instant,
}

impl Progress {
    fn new(what: &str, json: bool, expected: Option<u64>) -> Self {
        let terminal = !json && std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let (bar, template) = match expected {
                Some(n) => (
                    ProgressBar::new(n),
                    "{spinner} WHAT sync {msg}: {pos}/{len} items read ({per_sec}, ETA {eta})",
                ),
                None => (
                    ProgressBar::new_spinner(),
                    "{spinner} WHAT sync {msg}: {pos} items read ({per_sec}, {elapsed})",
                ),
            };
            let style = ProgressStyle::with_template(&template.replace("WHAT", what))
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            plain: !json && !terminal,
            expected,
            started: Instant::now(),
        }
    }

    fn show(&self, state: &str, read: u64, ended: bool) {
        if let Some(bar) = &self.bar {
            // More items than the last run: the end moves out.
            if bar.length().is_some_and(|n| read > n) {
                bar.set_length(read);
            }
            bar.set_position(read);
            bar.set_message(state.to_string());
        } else if self.plain && !ended {
            let _ = out!(
                "{}",
                progress_line(state, read, self.expected, self.started.elapsed())
            );
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A plain progress line: what was read, and, when the run's size is expected, of how many,
/// at what rate and how long until the end at that rate.
fn progress_line(state: &str, read: u64, expected: Option<u64>, elapsed: Duration) -> String {
    let Some(expected) = expected else {
        return format!("{state}: {read} items read");
    };
    let expected = expected.max(read);
    let secs = elapsed.as_secs_f64();
    if read == 0 || secs <= 0.0 {
        return format!("{state}: {read} of ~{expected} items read");
    }
    let rate = read as f64 / secs;
    let left = Duration::from_secs_f64((expected - read) as f64 / rate);
    format!(
        "{state}: {read} of ~{expected} items read ({rate:.0} items/s, ETA {})",
        HumanDuration(left)
    )
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
    // Read before queueing: the new run takes the last one's place.
    let target = if stock { Target::Stock } else { Target::Prices };
    let expected = match full {
        true => sync::expected_items(ctx, tenant, target).await?,
        false => None,
    };
    let policy = sync::queue_values(ctx, tenant, stock, options).await?;
    if *no_wait {
        out!("queued a {what} sync for tenant '{tenant}'")?;
        return Ok(exit::OK);
    }
    let timeout = Duration::from_secs(*timeout_secs);
    let progress = Progress::new(what, *json, expected);
    let key = policy.key(*dry_run);
    let run = sync::follow_values(ctx, tenant, &policy, key, timeout, |r| {
        progress.show(&r.state, r.report.read, r.ended())
    })
    .await?;
    progress.finish();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_known_size_says_of_how_many_and_how_long_is_left() {
        let line = progress_line("running", 2_500, Some(10_000), Duration::from_secs(5));
        assert_eq!(
            line,
            "running: 2500 of ~10000 items read (500 items/s, ETA 15 seconds)"
        );
    }

    #[test]
    fn a_run_past_its_expected_size_has_nothing_left_and_a_delta_only_counts() {
        let past = progress_line("running", 12_000, Some(10_000), Duration::from_secs(6));
        assert_eq!(
            past,
            "running: 12000 of ~12000 items read (2000 items/s, ETA 0 seconds)"
        );
        let unknown = progress_line("running", 500, None, Duration::from_secs(1));
        assert_eq!(unknown, "running: 500 items read");
        let not_yet = progress_line("queued", 0, Some(10_000), Duration::ZERO);
        assert_eq!(not_yet, "queued: 0 of ~10000 items read");
    }
}
