//! `ferry plugin shadow …`: start a shadow of an installed component beside the active one,
//! report how it compares, promote it or stop it (over [`crate::services::shadow`]).

use clap::Args;

use super::{Cli, exit, out, role_parser};
use crate::runtime::Role;
use crate::services::shadow::{self, Report};

#[derive(Debug, Args)]
pub struct ShadowArgs {
    /// A component's digest (or unique prefix) to run beside the active one; or `report`,
    /// `promote` (activate the candidate, end the shadow), `stop` (end it).
    what: String,
    #[arg(long)]
    tenant: String,
    /// The role: `transform`, `erp` or `quoting`.
    #[arg(long, value_parser = role_parser(), default_value = "transform")]
    role: Role,
    /// The report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(cli: &Cli, args: &ShadowArgs) -> anyhow::Result<i32> {
    let ctx = cli.context()?;
    let (tenant, role) = (args.tenant.as_str(), args.role);
    match args.what.as_str() {
        "report" => {
            let report = shadow::report(&ctx, tenant, role).await?;
            if args.json {
                out!("{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                print_report(&report)?;
            }
        }
        "promote" => {
            let s = shadow::promote(&ctx, tenant, role).await?;
            out!(
                "promoted {} for tenant '{tenant}' role {role} (was {}); shadow {} ended",
                s.digest,
                s.live_digest,
                s.id
            )?;
        }
        "stop" => {
            let s = shadow::stop(&ctx, tenant, role).await?;
            out!(
                "stopped shadow {} of {} for tenant '{tenant}' role {role}; {} stays active",
                s.id,
                s.digest,
                s.live_digest
            )?;
        }
        digest => {
            let s = shadow::start(&ctx, tenant, role, digest).await?;
            out!(
                "shadow {} started: {} runs beside {} for tenant '{tenant}' role {role}; its answers are recorded, never sent",
                s.id,
                s.digest,
                s.live_digest
            )?;
        }
    }
    Ok(exit::OK)
}

fn print_report(r: &Report) -> std::io::Result<()> {
    let s = &r.shadow;
    let state = match (&s.ended_at, &s.outcome) {
        (None, _) => "running".to_string(),
        (Some(at), outcome) => format!("{} at {at}", outcome.as_deref().unwrap_or("ended")),
    };
    out!(
        "shadow {} of tenant '{}' role {}: {} beside {} (since {}, {state})",
        s.id,
        s.tenant,
        s.role,
        s.digest,
        s.live_digest,
        s.started_at
    )?;
    out!(
        "agreement: {}/{} ({:.1}%)",
        r.agreed,
        r.total,
        r.rate() * 100.0
    )?;
    for d in &r.differing {
        out!("differs: run {} ({})", d.key, d.kind)?;
        for c in &d.changes {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref()
                    .map_or_else(|| "(absent)".to_string(), ToString::to_string)
            };
            out!("  {}: - {}  + {}", c.path, show(&c.live), show(&c.shadow))?;
        }
    }
    Ok(())
}
