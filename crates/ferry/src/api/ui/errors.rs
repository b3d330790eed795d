//! The Errors screen: Open (held runs and dead letters not yet retried or resolved) and
//! Resolved (closed by hand, not run again) tabs; release, restart, retry and resolve one;
//! retry every open dead letter of a tenant matching a flow and an error text, after a
//! confirmation. Each action is the admin API's own.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{
    self, error_text, page, release_buttons, retry_button, run_url, seg, tenant_select,
};
use super::screens::{chosen, visible};
use super::session::{CsrfOnly, Operator};
use super::{UiError, UiState};
use crate::api::ApiError;
use crate::api::admin::errors::{FLOWS, RetryFilter, resolve_dead, resolve_held, retry_matching};
use crate::api::admin::from_service;
use crate::api::admin::runs::Run;
use crate::services::journeys;
use ferry_store::DeadLetter;

#[derive(Debug, Default, Deserialize)]
pub struct ErrorsQuery {
    #[serde(default)]
    pub tenant: String,
    /// `resolved` for the Resolved tab; anything else is Open.
    #[serde(default)]
    pub tab: String,
    #[serde(default)]
    pub done: String,
}

/// `GET /ui/errors`: the Open or the Resolved tab.
pub async fn errors(
    State(state): State<UiState>,
    op: Operator,
    Query(q): Query<ErrorsQuery>,
) -> Result<Response, UiError> {
    let ctx = &state.admin.ctx;
    let tenants = chosen(&state, &op, &q.tenant)?;
    let resolved_tab = q.tab == "resolved";
    let (mut runs, mut letters) = (Vec::new(), Vec::new());
    for t in &tenants {
        let jobs = if resolved_tab {
            journeys::resolved(ctx, t).await
        } else {
            journeys::holds(ctx, Some(t)).await
        }
        .map_err(from_service)?;
        runs.extend(jobs.iter().map(|j| (t.clone(), Run::from(j))));
        letters.extend(
            journeys::dead_letters(ctx, Some(t), None)
                .await
                .map_err(from_service)?,
        );
    }
    let all = visible(&state, &op);
    let body = html! {
        h1 { "Errors" }
        nav.tabs {
            a href={ "/ui/errors?" (pages::query(&[("tenant", &q.tenant)])) } class=[(!resolved_tab).then_some("here")] { "Open" }
            " "
            a href={ "/ui/errors?" (pages::query(&[("tenant", &q.tenant), ("tab", "resolved")])) } class=[resolved_tab.then_some("here")] { "Resolved" }
        }
        form.filters method="get" action="/ui/errors" {
            (tenant_select(&all, &q.tenant))
            @if resolved_tab { input type="hidden" name="tab" value="resolved"; }
            button type="submit" { "Show" }
        }
        @if resolved_tab { (resolved(&runs, &letters)) } @else { (open(&op, &tenants, &runs, &letters)) }
    };
    Ok(page(&op, "errors", "Errors", &q.done, body))
}

fn open(
    op: &Operator,
    tenants: &[String],
    holds: &[(String, Run)],
    letters: &[DeadLetter],
) -> Markup {
    let open: Vec<&DeadLetter> = letters
        .iter()
        .filter(|d| d.replayed_at.is_none() && d.resolved_at.is_none())
        .collect();
    let retried: Vec<&DeadLetter> = letters.iter().filter(|d| d.replayed_at.is_some()).collect();
    html! {
        h2 { "Held (" (holds.len()) ")" }
        @if holds.is_empty() { p.muted { "No run is waiting for a person." } } @else {
            table #holds {
                thead { tr { th { "Tenant" } th { "Quote" } th { "Why" } th { "Since" } th { "" } } }
                tbody {
                    @for (tenant, run) in holds {
                        tr {
                            td { (tenant) }
                            td { a href=(run_url(tenant, &run.quote_id)) { (run.quote_number.as_deref().unwrap_or(&run.quote_id)) } }
                            td { (error_text(run.hold_reason.as_deref().unwrap_or(""))) }
                            td.muted { (run.updated_at) }
                            td {
                                a.fixes href=(super::fixes::fixes_url(tenant, &run.quote_id)) { "Suggested fixes" }
                                " "
                                (release_buttons(op, tenant, &run.quote_id))
                                " "
                                (resolve_hold_button(op, tenant, &run.quote_id))
                            }
                        }
                    }
                }
            }
        }
        h2 { "Dead letters (" (open.len()) ")" }
        @if open.is_empty() { p.muted { "No dead letters." } } @else {
            (letter_table(Some(op), &open))
            @for t in tenants.iter().filter(|t| open.iter().any(|d| &d.tenant == *t)) {
                (retry_all_form(op, t))
            }
        }
        @if !retried.is_empty() {
            h2 { "Retried (" (retried.len()) ")" }
            (letter_table(None, &retried))
        }
    }
}

/// Retry every open dead letter of one tenant that matches: the checkbox is the
/// confirmation (the server refuses the form without it); htmx asks once more.
fn retry_all_form(op: &Operator, tenant: &str) -> Markup {
    html! {
        form.retry-all method="post" action={ "/ui/tenants/" (seg(tenant)) "/dead-letters/retry" }
            hx-confirm={ "Retry every matching open dead letter of " (tenant) "?" } {
            input type="hidden" name="csrf" value=(op.csrf);
            strong { "Retry all of " (tenant) }
            " "
            label { "Flow " select name="flow" {
                option value="" { "any" }
                @for f in FLOWS { option value=(f) { (f) } }
            } }
            " "
            label { "Error contains " input type="text" name="error_contains" maxlength="200"; }
            " "
            label { input type="checkbox" name="confirm" value="yes" required; " I mean every matching one" }
            " "
            button type="submit" { "Retry all matching" }
        }
    }
}

fn resolved(runs: &[(String, Run)], letters: &[DeadLetter]) -> Markup {
    let closed: Vec<&DeadLetter> = letters.iter().filter(|d| d.resolved_at.is_some()).collect();
    html! {
        h2 { "Resolved runs (" (runs.len()) ")" }
        @if runs.is_empty() { p.muted { "Nothing was resolved by hand." } } @else {
            table #resolved {
                thead { tr { th { "Tenant" } th { "Flow" } th { "Run" } th { "Why it stopped" } th { "Resolved" } } }
                tbody {
                    @for (tenant, run) in runs {
                        tr {
                            td { (tenant) }
                            td { (run.flow) }
                            td { a href=(run_url(tenant, &run.quote_id)) { (run.quote_number.as_deref().unwrap_or(&run.quote_id)) } }
                            td { (error_text(run.hold_reason.as_deref().or(run.last_error.as_deref()).unwrap_or(""))) }
                            td.muted { (run.resolved_at.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
        @if !closed.is_empty() {
            h2 { "Resolved dead letters (" (closed.len()) ")" }
            (letter_table(None, &closed))
        }
    }
}

/// Dead letters; with an operator, each open one gets Retry and Resolve.
fn letter_table(op: Option<&Operator>, letters: &[&DeadLetter]) -> Markup {
    html! {
        table.letters {
            thead { tr { th { "#" } th { "Tenant" } th { "Flow" } th { "Key" } th { "At" } th { "Error" } th { "" } } }
            tbody {
                @for d in letters {
                    tr {
                        td { (d.id) }
                        td { (d.tenant) }
                        td { (d.kind) }
                        td { a href=(run_url(&d.tenant, &d.key)) { (d.key) } }
                        td.muted { (d.at) }
                        td { (error_text(&d.error)) }
                        td {
                            @if let Some(op) = op {
                                (retry_button(op, &d.tenant, d.id))
                                " "
                                (resolve_letter_button(op, &d.tenant, d.id))
                            } @else if let Some(at) = &d.resolved_at {
                                span.muted { "resolved " (at) }
                            } @else {
                                span.muted { "retried " (d.replayed_at.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// *Resolve* on a held run (asks first, with htmx).
pub(super) fn resolve_hold_button(op: &Operator, tenant: &str, quote: &str) -> Markup {
    html! {
        form.inline method="post" action={ "/ui/tenants/" (seg(tenant)) "/holds/" (seg(quote)) "/resolve" }
            hx-confirm="Resolve without running it again? (It was fixed by hand elsewhere.)" {
            input type="hidden" name="csrf" value=(op.csrf);
            button.plain type="submit" title="Fixed by hand elsewhere: close it without running it again" { "Resolve" }
        }
    }
}

/// *Resolve* on an open dead letter (asks first, with htmx).
pub(super) fn resolve_letter_button(op: &Operator, tenant: &str, id: i64) -> Markup {
    html! {
        form.inline method="post" action={ "/ui/tenants/" (seg(tenant)) "/dead-letters/" (id) "/resolve" }
            hx-confirm="Resolve without retrying? (It was fixed by hand elsewhere.)" {
            input type="hidden" name="csrf" value=(op.csrf);
            button.plain type="submit" title="Fixed by hand elsewhere: close it without retrying" { "Resolve" }
        }
    }
}

/// `POST /ui/tenants/{tenant}/holds/{quote}/resolve`.
pub async fn resolve_hold(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, quote)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    resolve_held(&state.admin, &op.caller, &tenant, &quote).await?;
    Ok(back(&tenant, "resolved"))
}

/// `POST /ui/tenants/{tenant}/dead-letters/{id}/resolve`.
pub async fn resolve_letter(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, id)): Path<(String, i64)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    resolve_dead(&state.admin, &op.caller, &tenant, id).await?;
    Ok(back(&tenant, "resolved"))
}

#[derive(Deserialize)]
pub struct RetryAllForm {
    #[serde(default)]
    csrf: String,
    flow: Option<String>,
    error_contains: Option<String>,
    /// `yes`: the operator ticked the confirmation.
    confirm: Option<String>,
}

/// `POST /ui/tenants/{tenant}/dead-letters/retry`: 400 without the confirmation.
pub async fn retry_all(
    State(state): State<UiState>,
    op: Operator,
    Path(tenant): Path<String>,
    Form(form): Form<RetryAllForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    if form.confirm.as_deref() != Some("yes") {
        return Err(ApiError::Invalid(
            "Tick the confirmation to retry every matching dead letter.".into(),
        )
        .into());
    }
    let filter = RetryFilter {
        flow: form.flow,
        error_contains: form.error_contains,
    }
    .checked()?;
    let ids = retry_matching(&state.admin, &op.caller, &tenant, &filter).await?;
    let done = if ids.is_empty() {
        "retried-none"
    } else {
        "retried-all"
    };
    Ok(back(&tenant, done))
}

fn back(tenant: &str, done: &str) -> Response {
    let url = format!(
        "/ui/errors?{}",
        pages::query(&[("tenant", tenant), ("done", done)])
    );
    Redirect::to(&url).into_response()
}
