//! Operating the durable work from the command line: `ferry dlq …`, `ferry holds …`,
//! `ferry trace QUOTE`. They read and write the same store `ferry serve` uses (SQLite in WAL
//! mode allows both at once); a running server picks released and replayed jobs up on its
//! next poll.

use std::path::Path;

use anyhow::Context;
use clap::Subcommand;

use crate::flows::now_ms;
use crate::flows::quote_to_order::KIND;
use ferry_store::{Audit, JobState, Jobs, Release, SqliteStore};

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead letters: jobs that failed for good, with their last error.
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One dead letter with its original input and the job's checkpoint.
    Show { id: i64 },
    /// Queue the job again from its last checkpoint (idempotency is kept).
    Replay { id: i64 },
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
        quote: String,
        #[arg(long)]
        tenant: String,
        /// Start over from the quote (the fix was made in QuoteWerks, so read it again).
        #[arg(long)]
        restart: bool,
    },
}

async fn open(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    let path = ferry_layout::DataDir::new(data_dir).db();
    anyhow::ensure!(
        path.exists(),
        "no Ferry database at {} (wrong --data-dir?)",
        path.display()
    );
    Ok(SqliteStore::open(&path).await?)
}

pub async fn dlq(data_dir: &Path, cmd: &DlqCommand) -> anyhow::Result<i32> {
    let store = open(data_dir).await?;
    match cmd {
        DlqCommand::List { tenant, json } => {
            let letters = store.dead_letters(tenant.as_deref()).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else if letters.is_empty() {
                println!("no dead letters");
            } else {
                for d in letters {
                    let replayed = d
                        .replayed_at
                        .map(|r| format!(" (replayed {r})"))
                        .unwrap_or_default();
                    println!(
                        "{:>5}  {}  {}/{}  {}{replayed}\n       {}",
                        d.id, d.at, d.tenant, d.key, d.kind, d.error
                    );
                }
            }
        }
        DlqCommand::Show { id } => {
            let d = store
                .dead_letter(*id)
                .await?
                .with_context(|| format!("no dead letter {id}"))?;
            println!("{}", serde_json::to_string_pretty(&d)?);
        }
        DlqCommand::Replay { id } => {
            let job = store.replay(*id, now_ms()).await?;
            println!(
                "dead letter {id} replayed: {} job for '{}' (tenant {}) is queued again at step {}",
                job.kind, job.key, job.tenant, job.step
            );
        }
    }
    Ok(0)
}

pub async fn holds(data_dir: &Path, cmd: &HoldsCommand) -> anyhow::Result<i32> {
    let store = open(data_dir).await?;
    match cmd {
        HoldsCommand::List { tenant, json } => {
            let held = store.jobs(tenant.as_deref(), Some(JobState::Held)).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&held)?);
            } else if held.is_empty() {
                println!("no holds");
            } else {
                for j in held {
                    println!(
                        "{}/{}  at step {}  since {}\n    {}",
                        j.tenant,
                        j.key,
                        j.step,
                        j.updated_at,
                        j.hold_reason.unwrap_or_default()
                    );
                }
            }
        }
        HoldsCommand::Release {
            quote,
            tenant,
            restart,
        } => {
            // A restart keeps only the quote's id and the event that started it.
            let from = if *restart {
                Release::Restart {
                    keep: &["quote_id", "event"],
                }
            } else {
                Release::AtCheckpoint
            };
            let job = store.release(tenant, KIND, quote, from, now_ms()).await?;
            println!(
                "released {}/{}: queued again at step {}",
                job.tenant, job.key, job.step
            );
        }
    }
    Ok(0)
}

pub async fn trace(data_dir: &Path, tenant: &str, quote: &str, json: bool) -> anyhow::Result<i32> {
    let store = open(data_dir).await?;
    let job = store.job(tenant, KIND, quote).await?;
    let trail = store.trail(tenant, quote).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "job": job, "trail": trail }))?
        );
        return Ok(0);
    }
    let Some(job) = job else {
        println!("no record of quote '{quote}' for tenant '{tenant}'");
        return Ok(1);
    };
    println!(
        "quote {quote} (tenant {tenant}): {} at step {}, {} attempt(s)",
        job.state.as_str(),
        job.step,
        job.attempts
    );
    if let Some(r) = &job.hold_reason {
        println!("  held: {r}");
    }
    if let Some(e) = &job.last_error {
        println!("  last error: {e}");
    }
    if let Some(receipt) = job.checkpoint.get("receipt").filter(|r| !r.is_null()) {
        println!(
            "  ERP order: {} (status {})",
            receipt["order_number"].as_str().unwrap_or("?"),
            receipt["status"].as_str().unwrap_or("?")
        );
    }
    for e in trail {
        println!("  {}  {:<14} {}", e.at, e.step, e.message);
    }
    Ok(0)
}
