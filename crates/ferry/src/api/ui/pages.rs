//! The console's pages, as maud templates: every value is escaped by maud; URLs are built here
//! with each path segment percent-encoded.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::screens::{Filter, TenantPlugins};
use super::session::Operator;
use crate::api::admin::runs::Run;
use crate::flows::quote_to_order;
use crate::services::controls::FLOWS;
use crate::services::journeys::Journey;
use crate::services::run_query::ANY_FLOW;
use crate::services::run_query::detail::{CallView, StepView};
use ferry_store::DeadLetter;

/// The statuses a run can be in, for the filter.
const STATUSES: [&str; 5] = ["queued", "running", "held", "done", "dead"];

/// What a path segment must encode: all but letters, digits and `-_~`, so `quote-to-order`
/// stays readable in links; `.` stays encoded so no segment can be `..`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// One path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

pub fn run_url(tenant: &str, run: &str) -> String {
    format!("/ui/tenants/{}/runs/{}", seg(tenant), seg(run))
}

/// A run's page whatever its flow (a quote's run needs no flow).
pub fn flow_run_url(tenant: &str, flow: &str, run: &str) -> String {
    if flow == crate::flows::quote_to_order::KIND {
        run_url(tenant, run)
    } else {
        format!("{}?{}", run_url(tenant, run), query(&[("flow", flow)]))
    }
}

/// A query string from pairs, encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    q.finish()
}

/// The text for an action's `done=` code (a fixed list: nothing from the URL is shown).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "released" => "Released: the run goes on from where it stopped.",
        "restarted" => "Released: the run starts over from the quote.",
        "retried" => "Retried: the run is queued again from its last checkpoint.",
        "activated" => "Activated: the component now serves the role.",
        "rolled-back" => "Rolled back: the previous component serves the role again.",
        "resolved" => "Resolved: closed by hand, not run again; it is listed under Resolved.",
        "retried-all" => "Retried: every matching open dead letter is queued again.",
        "retried-none" => "No open dead letter matched: nothing was retried.",
        "paused" => "Paused: its jobs wait, unclaimed, until resumed; intake still stores them.",
        "resumed" => "Resumed: its waiting jobs are claimed again.",
        "ran-now" => "Run now: polled (or queued the sync) at once.",
        "ran-paused" => "Run now: queued, but the flow is paused: it waits for a resume.",
        "edited" => "Edited: the corrected order is validated again and the run goes on.",
        _ => return None,
    })
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            // htmx's indicator styles would be an inline style the CSP refuses.
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
            title { (title) " · Ferry console" }
            link rel="stylesheet" href="/ui/assets/console.css";
            script src="/ui/assets/htmx.min.js" defer {}
        }
    }
}

/// A signed-in page: header with the screens, who is signed in and sign-out.
pub(super) fn page(op: &Operator, here: &str, title: &str, done: &str, body: Markup) -> Response {
    let nav = [
        ("runs", "/ui/runs", "Runs"),
        ("health", "/ui/health", "Health"),
        ("errors", "/ui/errors", "Errors"),
        ("plugins", "/ui/plugins", "Plugins"),
        ("mappings", "/ui/mappings", "Mappings"),
        ("alerts", "/ui/alerts", "Alerts"),
    ];
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-boost="true" {
                header {
                    span.brand { "Ferry console" }
                    nav {
                        @for (key, href, label) in nav {
                            a href=(href) class=[(key == here).then_some("here")] { (label) }
                        }
                    }
                    div.who {
                        span #who { (op.label()) }
                        form.inline method="post" action="/ui/sign-out" {
                            input type="hidden" name="csrf" value=(op.csrf);
                            button.plain type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    @if let Some(text) = notice(done) {
                        p.notice role="status" { (text) }
                    }
                    (body)
                }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// The sign-in form, with why it is shown again.
pub fn sign_in(message: Option<&str>) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head("Sign in"))
            body {
                div.signin {
                    h1 { "Ferry console" }
                    @if let Some(m) = message {
                        p.notice.bad role="alert" { (m) }
                    }
                    form method="post" action="/ui/sign-in" {
                        label {
                            "Admin API token (from ferry tokens create)"
                            input type="password" name="token" autocomplete="off" required autofocus;
                        }
                        button type="submit" { "Sign in" }
                    }
                }
            }
        }
    };
    Html(markup.into_string())
}

/// An error page (no session needed).
pub fn problem(status: StatusCode, title: &str, text: &str) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main {
                    h1 { (status.as_u16()) " " (title) }
                    p.notice.bad { (text) }
                    p { a href="/ui/runs" { "Back to the runs" } }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

pub(super) fn status_badge(status: &str) -> Markup {
    html! { span class={ "status status-" (status) } { (status) } }
}

/// The tenant picker shared by the screens (only the tenants the token may see).
pub(super) fn tenant_select(tenants: &[String], chosen: &str) -> Markup {
    html! {
        label {
            "Tenant"
            select name="tenant" {
                option value="" selected[chosen.is_empty()] { "All" }
                @for t in tenants {
                    option value=(t) selected[t == chosen] { (t) }
                }
            }
        }
    }
}

/// The error's own text and the vendor details it ends with (`[m3.program=…; …]`).
pub fn split_details(error: &str) -> (&str, Vec<(&str, &str)>) {
    if let Some(body) = error.strip_suffix(']')
        && let Some(at) = body.rfind(" [")
    {
        let details: Vec<(&str, &str)> = body[at + 2..]
            .split("; ")
            .filter_map(|kv| kv.split_once('='))
            .collect();
        if !details.is_empty() {
            return (&error[..at], details);
        }
    }
    (error, Vec::new())
}

pub(super) fn error_text(error: &str) -> Markup {
    let (text, details) = split_details(error);
    html! {
        div.error { (text) }
        @if !details.is_empty() {
            table.details {
                @for (k, v) in details {
                    tr { th.mono { (k) } td.mono { (v) } }
                }
            }
        }
    }
}

pub fn runs(
    op: &Operator,
    tenants: &[String],
    f: &Filter,
    rows: &[(String, Run)],
    cut: bool,
) -> Response {
    let body = html! {
        h1 { "Runs" }
        form.filters method="get" action="/ui/runs"
            hx-get="/ui/runs" hx-target="#runs" hx-select="#runs" hx-swap="outerHTML"
            hx-push-url="true" hx-trigger="input changed delay:300ms from:#run-search, change" {
            (tenant_select(tenants, &f.tenant))
            label {
                "Status"
                select name="status" {
                    option value="" selected[f.status.is_empty()] { "Any" }
                    @for s in STATUSES {
                        option value=(s) selected[s == f.status] { (s) }
                    }
                }
            }
            label {
                "Flow"
                select name="flow" {
                    option value="" selected[f.flow.is_empty()] { "quote-to-order" }
                    @for fl in FLOWS.iter().filter(|fl| **fl != quote_to_order::KIND).chain(&[ANY_FLOW]) {
                        option value=(fl) selected[*fl == f.flow] { (fl) }
                    }
                }
            }
            label { "From" input type="datetime-local" name="from" value=(f.from) title="UTC"; }
            label { "To" input type="datetime-local" name="to" value=(f.to) title="UTC"; }
            label {
                "Quote or order number"
                input #run-search type="search" name="q" value=(f.q) placeholder="Q1042 or an M3 order number";
            }
            button type="submit" { "Search" }
        }
        div #runs {
            @if rows.is_empty() {
                p.muted { "No runs match." }
            } @else {
                table {
                    thead { tr { th { "Tenant" } th { "Flow" } th { "Quote" } th { "Status" } th { "Step" } th { "Attempts" } th { "M3 order" } th { "Updated" } } }
                    tbody {
                        @for (tenant, run) in rows {
                            tr {
                                td { (tenant) }
                                td { (run.flow) }
                                td {
                                    a href=(flow_run_url(tenant, &run.flow, &run.quote_id)) {
                                        (run.quote_number.as_deref().unwrap_or(&run.quote_id))
                                    }
                                    @if run.quote_number.is_some() { " " span.muted.mono { "id " (run.quote_id) } }
                                }
                                td { (status_badge(&run.status)) }
                                td { (run.step) }
                                td { (run.attempts) }
                                td { (run.order_number.as_deref().unwrap_or("")) }
                                td.muted { (run.updated_at) }
                            }
                        }
                    }
                }
                @if cut { p.muted { "Showing the newest runs only; narrow the filter to see others." } }
            }
        }
    };
    page(op, "runs", "Runs", &f.done, body)
}

pub fn run(
    op: &Operator,
    tenant: &str,
    journey: &Journey,
    letters: &[DeadLetter],
    steps: &[StepView],
    done: &str,
) -> Response {
    let run = Run::from(&journey.job);
    let number = run.quote_number.as_deref().unwrap_or(&run.quote_id);
    let open_letter = letters
        .iter()
        .rev()
        .find(|d| d.replayed_at.is_none() && d.resolved_at.is_none());
    let held = run.status == "held";
    let cp = &journey.job.checkpoint;
    let body = html! {
        h1 { "Quote " (number) " " (status_badge(&run.status)) }
        dl.facts {
            dt { "Tenant" } dd { (tenant) }
            dt { "Quote id" } dd.mono { (run.quote_id) }
            dt { "Step reached" } dd { (run.step) }
            dt { "Attempts" } dd { (run.attempts) }
            dt { "Write in progress" } dd {
                @match &journey.job.intent {
                    Some(intent) => { (intent) " (read back from M3 before writing again)" }
                    None => span.muted { "none" },
                }
            }
            dt { "M3 order" } dd {
                @match journey.order() {
                    Some((number, status)) => { (number) " " span.muted { "status " (status) } }
                    None => span.muted { "not yet" },
                }
            }
            dt { "Created" } dd { (run.created_at) }
            dt { "Updated" } dd { (run.updated_at) }
        }
        @if let Some(at) = &run.resolved_at {
            h2 { "Resolved" }
            p { "Closed by hand at " (at) "; not run again." }
        }
        @if let Some(reason) = &run.hold_reason {
            h2 { @if held { "Held" } @else { "Was held" } }
            (error_text(reason))
            @if held {
                (release_buttons(op, tenant, &run.quote_id))
                " "
                (super::errors::resolve_hold_button(op, tenant, &run.quote_id))
            }
        }
        @if let Some(error) = &run.last_error {
            h2 { "Last error" }
            (error_text(error))
        }
        @if let Some(letter) = open_letter {
            h2 { "Dead letter " (letter.id) }
            (retry_button(op, tenant, letter.id))
            " "
            (super::errors::resolve_letter_button(op, tenant, letter.id))
        }
        (super::edit::edit_form(op, tenant, &journey.job))
        (step_table(steps))
        h2 { "Timeline" }
        @if journey.trail.is_empty() {
            p.muted { "Nothing recorded yet." }
        } @else {
            ol.timeline {
                @for e in &journey.trail {
                    li {
                        strong { (e.step) } " " span.muted { (e.at) }
                        div { (e.message) }
                        @if !e.data.is_null() {
                            details { summary { "data" } pre { (pretty(&e.data)) } }
                        }
                    }
                }
            }
        }
        h2 { "What the run holds" }
        details { summary { "Checkpoint (quote, customer, mapped order, receipt)" } pre { (pretty(cp)) } }
    };
    page(op, "runs", &format!("Quote {number}"), done, body)
}

/// The steps that called plugins: attempts, time, the plugin of each call and the HTTP
/// requests it sent (masked when stored), each request folded.
fn step_table(steps: &[StepView]) -> Markup {
    html! {
        h2 { "Steps" }
        @if steps.is_empty() {
            p.muted { "No plugin calls recorded for this run." }
        } @else {
            table.steps {
                thead { tr { th { "Step" } th { "Attempts" } th { "Time" } th { "Calls" } } }
                tbody {
                    @for s in steps {
                        tr {
                            td { strong { (s.step) } br; span.muted { (s.at) } }
                            td {
                                (s.attempts)
                                @if s.failed_attempts > 0 { " (" (s.failed_attempts) " failed)" }
                            }
                            td { (s.duration_ms) " ms" }
                            td { @for c in &s.calls { (call_view(c)) } }
                        }
                    }
                }
            }
        }
    }
}

fn call_view(c: &CallView) -> Markup {
    let p = &c.plugin;
    html! {
        div.call {
            (c.role) " "
            strong { (p.name.as_deref().unwrap_or("plugin")) }
            @if let Some(v) = &p.version { " " (v) }
            " " code title="sha256 prefix" { (p.digest) }
            @if let Some(contract) = &p.contract { " " span.muted { "contract " (contract) } }
            " " span.muted { "attempt " (c.attempt) ", " (c.duration_ms) " ms" }
            @if c.failed { " " span.status.status-dead { "failed" } }
            @if let Some(stop) = &c.stopped { div { "stopped: " (stop) } }
            @for e in &c.exchanges {
                details.exchange {
                    summary.mono {
                        (e.method) " " (e.path) " → "
                        @match (e.status, &e.error) {
                            (Some(status), _) => { (status) }
                            (None, Some(error)) => { (error) }
                            (None, None) => { "no answer" }
                        }
                        " " span.muted { (e.duration_ms) " ms" }
                    }
                    @if !e.request_headers.is_empty() {
                        pre { @for (k, v) in &e.request_headers { (k) ": " (v) "\n" } }
                    }
                    @if let Some(body) = &e.request_body { pre { (body) } }
                    @if let Some(body) = &e.response_body { pre { (body) } }
                }
            }
            @if c.exchanges_dropped > 0 {
                div.muted { (c.exchanges_dropped) " more requests not kept" }
            }
        }
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub(super) fn release_buttons(op: &Operator, tenant: &str, quote: &str) -> Markup {
    let action = format!("/ui/tenants/{}/holds/{}/release", seg(tenant), seg(quote));
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(op.csrf);
            button type="submit" title="The data was fixed in M3: go on from where it stopped" { "Release" }
        }
        " "
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(op.csrf);
            input type="hidden" name="restart" value="1";
            button.plain type="submit" title="The quote was fixed in QuoteWerks: read it again" { "Restart from the quote" }
        }
    }
}

pub(super) fn retry_button(op: &Operator, tenant: &str, id: i64) -> Markup {
    html! {
        form.inline method="post" action={ "/ui/tenants/" (seg(tenant)) "/dead-letters/" (id) "/retry" } {
            input type="hidden" name="csrf" value=(op.csrf);
            button type="submit" { "Retry" }
        }
    }
}

pub fn plugins(
    op: &Operator,
    tenants: &[String],
    f: &Filter,
    sections: &[TenantPlugins],
) -> Response {
    let body = html! {
        h1 { "Plugins" }
        form.filters method="get" action="/ui/plugins" {
            (tenant_select(tenants, &f.tenant))
            button type="submit" { "Show" }
        }
        @for s in sections {
            h2 { (s.tenant) }
            @if s.rows.is_empty() { p.muted { "No plugins installed." } } @else {
                table.plugins {
                    thead { tr { th { "Role" } th { "Component" } th { "Contract" } th { "Digest" } th { "Installed" } th { "" } } }
                    tbody {
                        @for r in &s.rows {
                            @let previous = s.previous.iter().any(|(role, d)| role == &r.role && d == &r.digest);
                            tr {
                                td { (r.role) }
                                td { (r.name.as_deref().unwrap_or("?")) " " (r.version.as_deref().unwrap_or("")) }
                                td.mono { (r.contract.as_deref().unwrap_or("")) }
                                td.mono title=(r.digest) { (r.digest.get(..12).unwrap_or(&r.digest)) }
                                td.muted { (r.installed_at) }
                                td {
                                    @if r.active {
                                        strong { "active" }
                                        @if s.previous.iter().any(|(role, _)| role == &r.role) {
                                            " "
                                            form.inline method="post" action={ "/ui/tenants/" (seg(&s.tenant)) "/plugins/" (seg(&r.role)) "/rollback" } {
                                                input type="hidden" name="csrf" value=(op.csrf);
                                                button.plain type="submit" { "Roll back" }
                                            }
                                        }
                                    } @else {
                                        @if previous { span.muted { "previous " } }
                                        form.inline method="post" action={ "/ui/tenants/" (seg(&s.tenant)) "/plugins/" (seg(&r.role)) "/activate" } {
                                            input type="hidden" name="csrf" value=(op.csrf);
                                            input type="hidden" name="digest" value=(r.digest);
                                            button.plain type="submit" { "Activate" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(op, "plugins", "Plugins", &f.done, body)
}

#[cfg(test)]
#[path = "run_steps_tests.rs"]
mod run_steps_tests;
