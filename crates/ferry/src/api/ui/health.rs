//! The Health screen: per tenant the token may see and per flow, what finished in the last
//! hour and how much succeeded, holds and dead letters now, the queue and its lag; whether the
//! flow is paused, with Pause / Resume and Run now (the admin API's actions); and each
//! connection's last check (M3's OAuth grant, the QuoteWerks database's `SELECT 1`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::pages::{page, query, seg, tenant_select};
use super::screens::{Filter, chosen, visible};
use super::session::{CsrfOnly, Operator};
use super::{UiError, UiState};
use crate::api::admin::flows::{pause_flow, resume_flow, run_flow};
use crate::api::admin::from_service;
use crate::services::connections::{self, ConnectionStatus};
use crate::services::health::{self, FlowHealth};

/// `GET /ui/health`.
pub async fn health(
    State(state): State<UiState>,
    op: Operator,
    Query(f): Query<Filter>,
) -> Result<Response, UiError> {
    let mut sections: Vec<(String, Vec<FlowHealth>, Vec<ConnectionStatus>)> = Vec::new();
    for t in chosen(&state, &op, &f.tenant)? {
        let flows = health::tenant_health(&state.admin.ctx, &t)
            .await
            .map_err(from_service)?;
        let conns = connections::tenant_status(&state.admin.ctx, &t).map_err(from_service)?;
        sections.push((t, flows, conns));
    }
    let all = visible(&state, &op);
    let body = html! {
        h1 { "Health" }
        p.muted { "Runs per minute: jobs that ended in the last 5, 15 and 60 minutes. Finished and success rate: the last hour. Holds, dead letters, queued and lag: now." }
        form.filters method="get" action="/ui/health" {
            (tenant_select(&all, &f.tenant))
            button type="submit" { "Show" }
        }
        @for (tenant, flows, conns) in &sections {
            h2 { (tenant) }
            table.health {
                thead { tr {
                    th { "Flow" } th { "Runs/min (5 · 15 · 60 min)" } th { "Finished (1 h)" } th { "Success" } th { "Holds" }
                    th { "Dead letters" } th { "Queued" } th { "Lag" } th { "State" } th { "" }
                } }
                tbody {
                    @for h in flows {
                        tr {
                            td { (h.flow) }
                            td.rate {
                                (h.runs_per_minute.last_5m) " · " (h.runs_per_minute.last_15m)
                                " · " (h.runs_per_minute.last_60m)
                            }
                            td { (h.finished) }
                            td class=[h.success_rate.filter(|r| *r < 100.0).map(|_| "bad")] {
                                @match h.success_rate { Some(r) => { (r) " %" } None => { span.muted { "–" } } }
                            }
                            td {
                                @if h.holds > 0 {
                                    a href={ "/ui/errors?" (query(&[("tenant", tenant)])) } { (h.holds) }
                                } @else { "0" }
                            }
                            td {
                                @if h.dead_letters > 0 {
                                    a href={ "/ui/errors?" (query(&[("tenant", tenant)])) } { (h.dead_letters) }
                                } @else { "0" }
                            }
                            td { (h.queued) }
                            td { (lag(h.lag_secs)) }
                            td {
                                @match &h.paused_at {
                                    Some(at) => { span class="status status-held" title={ "since " (at) } { "paused" } }
                                    None => { span class="status status-done" { "running" } }
                                }
                            }
                            td { (flow_buttons(&op, tenant, h)) }
                        }
                    }
                }
            }
            (connection_table(conns))
        }
    };
    Ok(page(&op, "health", "Health", &f.done, body))
}

/// The tenant's connections as this node last found them.
fn connection_table(conns: &[ConnectionStatus]) -> Markup {
    html! {
        @if !conns.is_empty() {
            table.connections {
                thead { tr { th { "Connection" } th { "Kind" } th { "Status" } th { "Checked at" } } }
                tbody {
                    @for c in conns {
                        tr {
                            td { (c.name) }
                            td { (c.kind) }
                            td {
                                @match c.ok {
                                    Some(true) => { span class="status status-done" { "ok" } " " (c.detail.as_deref().unwrap_or("")) }
                                    Some(false) => {
                                        span class="status status-dead" { "failed" } " " (c.detail.as_deref().unwrap_or(""))
                                        @if let Some(fix) = &c.fix { br; span.muted { (fix) } }
                                    }
                                    None => { span.muted { "not checked yet" } }
                                }
                            }
                            td { @match &c.checked_at { Some(at) => { (at) } None => { span.muted { "–" } } } }
                        }
                    }
                }
            }
        }
    }
}

/// Seconds as people read a wait: `45 s`, `12 min`, `3 h 5 min`.
fn lag(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// Pause or Resume, and Run now, for one flow of one tenant.
fn flow_buttons(op: &Operator, tenant: &str, h: &FlowHealth) -> Markup {
    let action = |verb: &str| format!("/ui/tenants/{}/flows/{}/{verb}", seg(tenant), seg(&h.flow));
    html! {
        @if h.paused_at.is_some() {
            form.inline method="post" action=(action("resume")) {
                input type="hidden" name="csrf" value=(op.csrf);
                button.plain type="submit" title="Let its waiting jobs be claimed again" { "Resume" }
            }
        } @else {
            form.inline method="post" action=(action("pause"))
                hx-confirm={ "Pause " (h.flow) " for " (tenant) "? Its jobs wait until resumed; nothing is lost." } {
                input type="hidden" name="csrf" value=(op.csrf);
                button.plain type="submit" title="Claim none of its jobs until resumed" { "Pause" }
            }
        }
        " "
        form.inline method="post" action=(action("run")) {
            input type="hidden" name="csrf" value=(op.csrf);
            button.plain type="submit" title="Poll or sync now instead of at the next tick" { "Run now" }
        }
    }
}

/// `POST /ui/tenants/{tenant}/flows/{flow}/pause`.
pub async fn pause(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, flow)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    pause_flow(&state.admin, &op.caller, &tenant, &flow).await?;
    Ok(back(&tenant, "paused"))
}

/// `POST /ui/tenants/{tenant}/flows/{flow}/resume`.
pub async fn resume(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, flow)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    resume_flow(&state.admin, &op.caller, &tenant, &flow).await?;
    Ok(back(&tenant, "resumed"))
}

/// `POST /ui/tenants/{tenant}/flows/{flow}/run`.
pub async fn run_now(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, flow)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    let ran = run_flow(&state.admin, &op.caller, &tenant, &flow).await?;
    Ok(back(
        &tenant,
        if ran.paused { "ran-paused" } else { "ran-now" },
    ))
}

fn back(tenant: &str, done: &str) -> Response {
    let url = format!(
        "/ui/health?{}",
        query(&[("tenant", tenant), ("done", done)])
    );
    Redirect::to(&url).into_response()
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
