//! `ferry replay`: past runs through a new mapping file or installed transform, as a dry run
//! (per run changed/unchanged with the field diffs) or re-posted (over
//! [`crate::services::replay`]).

use std::path::PathBuf;

use clap::Args;

use super::{Cli, exit, out};
use crate::services::replay::{self, Report, Request, Version};
use crate::services::run_query::{self, RunQuery};
use ferry_store::JobState;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("version").required(true).args(["mapping", "plugin"])))]
pub struct ReplayArgs {
    #[arg(long)]
    tenant: String,
    /// The flow (only quote-to-order runs can be replayed).
    #[arg(long, default_value = crate::flows::quote_to_order::KIND)]
    flow: String,
    /// Only runs in this state: queued, running, held, done, dead.
    #[arg(long)]
    status: Option<String>,
    /// Only runs changed at or after this time (2026-12-03T10:00:00Z or 2026-12-03).
    #[arg(long)]
    since: Option<String>,
    /// Only runs created at or before this time.
    #[arg(long)]
    until: Option<String>,
    /// Only this quote (number or id), repeatable.
    #[arg(long = "quote", value_name = "QUOTE")]
    quotes: Vec<String>,
    /// A quote-to-order mapping file (TOML) to replay through.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// An installed transform component (digest or unique prefix) to replay through.
    #[arg(long)]
    plugin: Option<String>,
    /// Re-queue the selected runs that have no ERP order yet (the tenant must serve the new
    /// version); runs whose quote has its order are skipped.
    #[arg(long)]
    post: bool,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(cli: &Cli, args: &ReplayArgs) -> anyhow::Result<i32> {
    let ctx = cli.context()?;
    let version = match (&args.mapping, &args.plugin) {
        (Some(file), _) => {
            let text = String::from_utf8(crate::services::read_file(file)?)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", file.display()))?;
            Version::Mapping(text)
        }
        (None, Some(digest)) => Version::Plugin(digest.clone()),
        (None, None) => anyhow::bail!("give --mapping FILE or --plugin DIGEST"),
    };
    let state = match args.status.as_deref() {
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            anyhow::anyhow!("unknown status {s:?}: queued, running, held, done or dead")
        })?),
        None => None,
    };
    let req = Request {
        query: RunQuery {
            state,
            flow: run_query::flow(Some(&args.flow))?,
            from: run_query::instant(args.since.as_deref(), "--since")?,
            to: run_query::instant(args.until.as_deref(), "--until")?,
            text: None,
        },
        quotes: args.quotes.clone(),
        version,
        post: args.post,
    };
    let report = replay::replay(&ctx, &args.tenant, &req).await?;
    if args.json {
        out!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print(&report)?;
    }
    Ok(exit::OK)
}

fn print(r: &Report) -> std::io::Result<()> {
    let show = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map_or_else(|| "(absent)".to_string(), ToString::to_string)
    };
    for run in &r.runs {
        let name = run.quote_number.as_deref().unwrap_or(&run.run);
        let mut line = format!("run {} ({name}, {}): {}", run.run, run.status, run.outcome);
        if let Some(reason) = &run.reason {
            line.push_str(&format!(": {reason}"));
        }
        match (run.posted.as_deref(), &run.order_number) {
            (Some("skipped"), Some(n)) => {
                line.push_str(&format!("; skipped, already has ERP order {n}"))
            }
            (Some(p), _) => line.push_str(&format!("; {p}")),
            _ => {}
        }
        out!("{line}")?;
        for c in &run.changes {
            out!("  {}: - {}  + {}", c.path, show(&c.sent), show(&c.replayed))?;
        }
    }
    out!(
        "{} of tenant '{}': {} selected, {} changed, {} unchanged, {} failed{}",
        r.version,
        r.tenant,
        r.selected,
        r.changed,
        r.unchanged,
        r.failed,
        if r.post {
            format!(
                "; {} re-queued, {} skipped (already ordered)",
                r.requeued, r.skipped
            )
        } else {
            "; dry run, nothing sent".to_string()
        }
    )
}
