//! A held run's "Suggested fixes" panel: what the hold waits on (an unknown part number, an
//! unmatched customer) and the closest M3 records, each with its score, why, and an Accept
//! button. Accepting is the admin API's own (`admin::fixes::accept_fix`): recorded, audited
//! with the token, the hold released; the browser lands on the run.

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{self, error_text, page, run_url, seg};
use super::session::Operator;
use super::{UiError, UiState};
use crate::api::admin::fixes::{FixesState, accept_fix, from_fix};
use crate::services::fixes::{self, Accept, HoldFixes, Lookups, PluginLookups, Problem};

/// The console's state and the ERP the suggestions ask.
#[derive(Clone)]
pub struct FixesUi {
    ui: UiState,
    lookups: Arc<dyn Lookups>,
}

/// The signed-in operator, admitted as on every other screen.
struct Op(Operator);

impl FromRequestParts<FixesUi> for Op {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &FixesUi) -> Result<Self, UiError> {
        Operator::from_request_parts(parts, &state.ui).await.map(Op)
    }
}

/// The panel's routes over the tenants' plugins.
pub fn router(ui: UiState) -> Router {
    router_with(ui, Arc::new(PluginLookups))
}

/// The panel's routes asking `lookups` (tests: a fake ERP).
pub(crate) fn router_with(ui: UiState, lookups: Arc<dyn Lookups>) -> Router {
    Router::new()
        .route(
            "/ui/tenants/{tenant}/holds/{quote}/fixes",
            get(panel).post(accept),
        )
        .with_state(FixesUi { ui, lookups })
}

/// Where a held run's suggested fixes are.
pub(super) fn fixes_url(tenant: &str, quote: &str) -> String {
    format!("/ui/tenants/{}/holds/{}/fixes", seg(tenant), seg(quote))
}

/// `GET /ui/tenants/{tenant}/holds/{quote}/fixes`.
async fn panel(
    State(state): State<FixesUi>,
    Op(op): Op,
    Path((tenant, quote)): Path<(String, String)>,
) -> Result<Response, UiError> {
    op.caller.tenant(&state.ui.admin, &tenant)?;
    let found = fixes::suggest(&state.ui.admin.ctx, &*state.lookups, &tenant, &quote)
        .await
        .map_err(from_fix)?;
    let name = found.quote_number.clone().unwrap_or(found.quote_id.clone());
    let body = html! {
        p { a href=(run_url(&tenant, &found.quote_id)) { "← run " (name) } }
        (suggested(&op, &tenant, &found))
    };
    Ok(page(
        &op,
        "errors",
        &format!("Suggested fixes · {name}"),
        "",
        body,
    ))
}

fn suggested(op: &Operator, tenant: &str, found: &HoldFixes) -> Markup {
    html! {
        section #fixes {
            h2 { "Suggested fixes" }
            @if let Some(why) = &found.hold_reason {
                p { "Held: " (error_text(why)) }
            }
            @if found.problems.is_empty() {
                p.muted { "No suggestions for this hold: fix it in M3 or the quote, then release it." }
            }
            @for p in &found.problems {
                (problem(op, tenant, &found.quote_id, p))
            }
        }
    }
}

fn problem(op: &Operator, tenant: &str, quote: &str, p: &Problem) -> Markup {
    let what = if p.kind == fixes::CUSTOMER {
        "Customer"
    } else {
        "Part number"
    };
    html! {
        h3 {
            (what) " " code { (p.from) }
            @if let Some(line) = p.line { " (line " (line + 1) ")" }
            @if let Some(d) = &p.description { " · " span.muted { (d) } }
        }
        p.muted { (p.said) }
        @if p.suggestions.is_empty() {
            p.muted { "Nothing in M3 is close enough to suggest." }
        } @else {
            table.suggestions {
                thead { tr { th { "Use instead" } th { "Score" } th { "Why" } th { "" } } }
                tbody {
                    @for s in &p.suggestions {
                        tr {
                            td { code { (s.id) } " " span.muted { (s.label) } }
                            td.score { (format!("{:.0}%", s.score * 100.0)) }
                            td { @for w in &s.why { div { (w) } } }
                            td {
                                form.inline method="post" action=(fixes_url(tenant, quote))
                                    hx-confirm={ "Use " (s.id) " for " (p.from) " from now on and release the hold?" } {
                                    input type="hidden" name="csrf" value=(op.csrf);
                                    input type="hidden" name="kind" value=(p.kind);
                                    input type="hidden" name="from" value=(p.from);
                                    input type="hidden" name="to" value=(s.id);
                                    button type="submit" { "Accept" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `POST /ui/tenants/{tenant}/holds/{quote}/fixes`: accept one, then show the run.
async fn accept(
    State(state): State<FixesUi>,
    Op(op): Op,
    Path((tenant, quote)): Path<(String, String)>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    let fixes_state = FixesState {
        admin: state.ui.admin.clone(),
        lookups: state.lookups.clone(),
    };
    let chosen = Accept {
        kind: form.kind,
        from: form.from,
        to: form.to,
    };
    accept_fix(&fixes_state, &op.caller, &tenant, &quote, &chosen).await?;
    let url = format!(
        "{}?{}",
        run_url(&tenant, &quote),
        pages::query(&[("done", "released")])
    );
    Ok(Redirect::to(&url).into_response())
}
