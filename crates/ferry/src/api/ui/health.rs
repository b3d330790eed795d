//! The Health screen: per tenant the token may see and per flow, what finished in the last
//! hour and how much succeeded, holds and dead letters now, the queue and its lag.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;

use super::pages::{page, query, tenant_select};
use super::screens::{Filter, chosen, visible};
use super::session::Operator;
use super::{UiError, UiState};
use crate::api::admin::from_service;
use crate::services::health::{self, FlowHealth};

/// `GET /ui/health`.
pub async fn health(
    State(state): State<UiState>,
    op: Operator,
    Query(f): Query<Filter>,
) -> Result<Response, UiError> {
    let mut sections: Vec<(String, Vec<FlowHealth>)> = Vec::new();
    for t in chosen(&state, &op, &f.tenant)? {
        let flows = health::tenant_health(&state.admin.ctx, &t)
            .await
            .map_err(from_service)?;
        sections.push((t, flows));
    }
    let all = visible(&state, &op);
    let body = html! {
        h1 { "Health" }
        p.muted { "Finished and success rate: the last hour. Holds, dead letters, queued and lag: now." }
        form.filters method="get" action="/ui/health" {
            (tenant_select(&all, &f.tenant))
            button type="submit" { "Show" }
        }
        @for (tenant, flows) in &sections {
            h2 { (tenant) }
            table.health {
                thead { tr {
                    th { "Flow" } th { "Finished (1 h)" } th { "Success" } th { "Holds" }
                    th { "Dead letters" } th { "Queued" } th { "Lag" }
                } }
                tbody {
                    @for h in flows {
                        tr {
                            td { (h.flow) }
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
                        }
                    }
                }
            }
        }
    };
    Ok(page(&op, "health", "Health", &f.done, body))
}

/// Seconds as people read a wait: `45 s`, `12 min`, `3 h 5 min`.
fn lag(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}
