//! The Alerts screen: per tenant the token may see, each alert rule (`[tenants.T.alerts]`)
//! evaluated now, FIRING or clear, with its settings, its figures and the jobs concerned, and
//! per channel (webhook, e-mail) whether that channel was last sent it FIRING. Read only: the
//! rules are changed in the config.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::pages::{page, tenant_select};
use super::screens::{Filter, chosen, visible};
use super::session::Operator;
use super::{UiError, UiState};
use crate::api::admin::from_service;
use crate::services::alerts::{self, TenantAlertsStatus};

/// The screen's routes.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/ui/alerts", get(index))
        .with_state(state)
}

/// `GET /ui/alerts`.
async fn index(
    State(state): State<UiState>,
    op: Operator,
    Query(f): Query<Filter>,
) -> Result<Response, UiError> {
    let mut sections = Vec::new();
    for t in chosen(&state, &op, &f.tenant)? {
        sections.push(
            alerts::tenant_alerts(&state.admin.ctx, &t)
                .await
                .map_err(from_service)?,
        );
    }
    let all = visible(&state, &op);
    let body = html! {
        h1 { "Alerts" }
        p.muted { "Each rule evaluated now. The server evaluates them on its own schedule and sends a channel an alert when a rule starts holding (FIRING) and again when it clears (RESOLVED)." }
        form.filters method="get" action="/ui/alerts" {
            (tenant_select(&all, &f.tenant))
            button type="submit" { "Show" }
        }
        @for a in &sections {
            (section(a))
        }
    };
    Ok(page(&op, "alerts", "Alerts", &f.done, body))
}

/// One tenant's rules and channels.
fn section(a: &TenantAlertsStatus) -> Markup {
    html! {
        h2 { (a.tenant) }
        @if !a.configured {
            p.muted {
                "Alerts not configured. Add rules and a channel under "
                code { "[tenants." (a.tenant) ".alerts]" }
                " in the config (a webhook or email_to, and "
                code { "[[tenants." (a.tenant) ".alerts.rules]]" }
                "), then restart the server."
            }
        } @else {
            p.muted {
                "Evaluated every " (a.every_secs) " s; sent to "
                @for (i, c) in a.channels.iter().enumerate() {
                    @if i > 0 { "; " }
                    (c.id) " (" (c.target) ")"
                }
                "."
            }
            table.alerts {
                thead { tr {
                    th { "Rule" } th { "State" } th { "Settings" } th { "Now" }
                    @for c in &a.channels { th { "Last sent: " (c.id) } }
                } }
                tbody {
                    @for r in &a.rules {
                        tr {
                            td { (r.name) @if r.name != r.kind { br; span.muted { (r.kind) } } }
                            td {
                                @if r.holds {
                                    span class="status status-dead" { "FIRING" }
                                } @else {
                                    span class="status status-done" { "clear" }
                                }
                            }
                            td { code { (r.settings) } }
                            td {
                                (r.summary)
                                @if !r.examples.is_empty() {
                                    ul.examples {
                                        @for e in &r.examples { li { (e) } }
                                    }
                                }
                            }
                            @for c in &r.channels {
                                td {
                                    @if c.firing {
                                        span class="status status-dead" title="Last sent FIRING, not resolved since" { "FIRING" }
                                    } @else {
                                        span.muted title="Nothing sent, or last sent RESOLVED" { "not firing" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
