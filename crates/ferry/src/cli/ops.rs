//! `ferry dlq …`, `ferry holds …`, `ferry trace QUOTE`: arguments and printing over
//! [`crate::services::journeys`]. A quote is given by its number (`Q1042`) or internal id.

use clap::Subcommand;

use super::{exit, out};
use crate::services::Context;
use crate::services::journeys::{self, Letter};

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead letters: jobs that failed for good, with their last error.
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Only this quote's (number or id; needs --tenant).
        #[arg(long, requires = "tenant")]
        quote: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One dead letter with its original input and the job's checkpoint.
    Show {
        #[command(flatten)]
        which: Which,
    },
    /// Queue the job again from its last checkpoint (idempotency is kept).
    Replay {
        #[command(flatten)]
        which: Which,
    },
}

/// A dead letter: its id, or a quote's latest (`--quote Q1042 --tenant acme`).
#[derive(Debug, clap::Args)]
pub struct Which {
    /// The dead letter's id (from `ferry dlq list`).
    #[arg(required_unless_present = "quote", conflicts_with = "quote")]
    id: Option<i64>,
    /// The quote (number or id) whose latest dead letter is meant; needs --tenant.
    #[arg(long, requires = "tenant")]
    quote: Option<String>,
    #[arg(long, requires = "quote")]
    tenant: Option<String>,
}

impl Which {
    fn letter(&self) -> Letter<'_> {
        match (&self.quote, &self.tenant) {
            (Some(quote), Some(tenant)) => Letter::Quote { tenant, quote },
            // clap lets nothing else through: an id alone.
            _ => Letter::Id(self.id.unwrap_or_default()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum HoldsCommand {
    /// Jobs waiting for a person, with the reason.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// After fixing the data, let a held quote go on from where it stopped.
    Release {
        /// The quote: its number (Q1042) or internal id.
        quote: String,
        #[arg(long)]
        tenant: String,
        /// Start over from the quote (the fix was made in QuoteWerks, so read it again).
        #[arg(long)]
        restart: bool,
    },
}

pub async fn dlq(ctx: &Context, cmd: &DlqCommand) -> anyhow::Result<i32> {
    match cmd {
        DlqCommand::List {
            tenant,
            quote,
            json,
        } => {
            let letters = journeys::dead_letters(ctx, tenant.as_deref(), quote.as_deref()).await?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&letters)?)?;
            } else if letters.is_empty() {
                out!("no dead letters")?;
            } else {
                for d in letters {
                    let replayed = d
                        .replayed_at
                        .map(|r| format!(" (replayed {r})"))
                        .unwrap_or_default();
                    out!(
                        "{:>5}  {}  {}/{}  {}{replayed}\n       {}",
                        d.id,
                        d.at,
                        d.tenant,
                        d.key,
                        d.kind,
                        d.error
                    )?;
                }
            }
        }
        DlqCommand::Show { which } => {
            let d = journeys::dead_letter(ctx, which.letter()).await?;
            out!("{}", serde_json::to_string_pretty(&d)?)?;
        }
        DlqCommand::Replay { which } => {
            let (id, job) = journeys::replay(ctx, which.letter()).await?;
            out!(
                "dead letter {id} replayed: {} job for '{}' (tenant {}) is queued again at step {}",
                job.kind,
                job.key,
                job.tenant,
                job.step
            )?;
        }
    }
    Ok(exit::OK)
}

pub async fn holds(ctx: &Context, cmd: &HoldsCommand) -> anyhow::Result<i32> {
    match cmd {
        HoldsCommand::List { tenant, json } => {
            let held = journeys::holds(ctx, tenant.as_deref()).await?;
            if *json {
                out!("{}", serde_json::to_string_pretty(&held)?)?;
            } else if held.is_empty() {
                out!("no holds")?;
            } else {
                for j in held {
                    out!(
                        "{}/{}  at step {}  since {}\n    {}",
                        j.tenant,
                        j.key,
                        j.step,
                        j.updated_at,
                        j.hold_reason.unwrap_or_default()
                    )?;
                }
            }
        }
        HoldsCommand::Release {
            quote,
            tenant,
            restart,
        } => {
            let job = journeys::release(ctx, tenant, quote, *restart).await?;
            out!(
                "released {}/{}: queued again at step {}",
                job.tenant,
                job.key,
                job.step
            )?;
        }
    }
    Ok(exit::OK)
}

pub async fn trace(ctx: &Context, tenant: &str, quote: &str, json: bool) -> anyhow::Result<i32> {
    let journey = journeys::trace(ctx, tenant, quote).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&journey)?)?;
        return Ok(exit::OK);
    }
    let job = &journey.job;
    let number = journey
        .quote_number
        .as_ref()
        .map(|n| format!("{n} (id {})", journey.quote_id))
        .unwrap_or_else(|| journey.quote_id.clone());
    out!(
        "quote {number} (tenant {tenant}): {} at step {}, {} attempt(s)",
        job.state.as_str(),
        job.step,
        job.attempts
    )?;
    if let Some(r) = &job.hold_reason {
        out!("  held: {r}")?;
    }
    if let Some(e) = &job.last_error {
        out!("  last error: {e}")?;
    }
    if let Some((number, status)) = journey.order() {
        out!("  ERP order: {number} (status {status})")?;
    }
    for e in &journey.trail {
        out!("  {}  {:<14} {}", e.at, e.step, e.message)?;
    }
    Ok(exit::OK)
}
