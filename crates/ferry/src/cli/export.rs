//! `ferry export runs|audit --tenant T [--since RFC3339]`: a tenant's runs (every flow's
//! jobs, with their checkpoints) or audit trail as JSON lines on stdout, the same lines the
//! admin API's `export/runs` and `export/audit` answer.

use clap::{Args, ValueEnum};

use super::{exit, out};
use crate::services::{Context, export};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    pub what: ExportWhat,
    #[arg(long)]
    pub tenant: String,
    /// Only what changed (runs) or happened (audit) at or after this time (RFC 3339, e.g.
    /// 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    Runs,
    Audit,
}

pub async fn run(ctx: &Context, args: &ExportArgs) -> anyhow::Result<i32> {
    let since = export::since(args.since.as_deref())?;
    let lines = match args.what {
        ExportWhat::Runs => export::runs(ctx, &args.tenant, since.as_deref()).await?,
        ExportWhat::Audit => export::audit(ctx, &args.tenant, since.as_deref()).await?,
    };
    for line in lines {
        out!("{line}")?;
    }
    Ok(exit::OK)
}
