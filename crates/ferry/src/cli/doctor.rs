//! `ferry doctor`: prints [`crate::services::doctor`]'s checks, one line each, with what to do
//! under each failure; `ferry serve` logs the failures at WARN when it starts.

use super::{exit, out};
use crate::services::{Context, doctor};

pub async fn run(ctx: &Context, tenant: Option<&str>, json: bool) -> anyhow::Result<i32> {
    let checks = doctor::run(ctx, tenant).await?;
    if json {
        out!("{}", serde_json::to_string_pretty(&checks)?)?;
    } else {
        for c in &checks {
            out!(
                "{:<4}  {:<12} {}: {}",
                if c.ok { "ok" } else { "FAIL" },
                c.tenant.as_deref().unwrap_or("-"),
                c.what,
                c.detail
            )?;
            if let Some(fix) = &c.fix {
                out!("      fix: {fix}")?;
            }
        }
    }
    Ok(if checks.iter().all(|c| c.ok) {
        exit::OK
    } else {
        exit::UNHEALTHY
    })
}

/// The same checks when `ferry serve` starts: each failure a WARN line.
pub async fn warn_at_start(ctx: Context) {
    match doctor::run(&ctx, None).await {
        Ok(checks) => {
            for c in checks.iter().filter(|c| !c.ok) {
                tracing::warn!(
                    tenant = c.tenant.as_deref().unwrap_or("-"),
                    fix = c.fix.as_deref().unwrap_or(""),
                    "doctor: {}: {}",
                    c.what,
                    c.detail
                );
            }
        }
        Err(e) => tracing::warn!("doctor: the start-up checks could not run: {e}"),
    }
}
