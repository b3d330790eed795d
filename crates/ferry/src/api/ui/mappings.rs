//! The Mappings screen: per tenant and kind, QuoteWerks' fields and M3's fields as two lists
//! with the rules between them, the mapping's text with a live preview (htmx, debounced) on the
//! last real document, suggestions with scores, Save (a new version, active at once) and the
//! versions with activate and roll back. Every action is the admin API's own
//! ([`crate::api::admin::mappings`]: tenant check, audit with the token's id) after the CSRF
//! check.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{self, page, seg};
use super::screens::visible;
use super::session::{CsrfOnly, Operator};
use super::{UiError, UiState};
use crate::api::ApiError;
use crate::api::admin::from_service;
use crate::api::admin::mappings::{activate_for, save_for};
use crate::services::ServiceError;
use crate::services::mappings::{self, FieldView, MappingView, Preview, SuggestionView};

/// The screen's routes.
pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/ui/mappings", get(index))
        .route("/ui/tenants/{tenant}/mappings/{kind}", get(screen))
        .route(
            "/ui/tenants/{tenant}/mappings/{kind}/preview",
            post(preview),
        )
        .route("/ui/tenants/{tenant}/mappings/{kind}/versions", post(save))
        .route(
            "/ui/tenants/{tenant}/mappings/{kind}/activate",
            post(activate),
        )
        .route(
            "/ui/tenants/{tenant}/mappings/{kind}/rollback",
            post(rollback),
        )
        .with_state(state)
}

fn url(tenant: &str, kind: &str) -> String {
    format!("/ui/tenants/{}/mappings/{}", seg(tenant), seg(kind))
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    #[serde(default)]
    done: String,
}

/// The fixed texts of the actions (nothing from the URL is shown).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => "Saved: the new version serves this tenant's next documents of this kind.",
        "activated" => "Activated: that version serves this tenant's next documents.",
        "rolled-back" => "Rolled back: the version active before serves again.",
        _ => return None,
    })
}

/// `GET /ui/mappings`: each visible tenant's kinds and which version serves.
async fn index(State(state): State<UiState>, op: Operator) -> Result<Response, UiError> {
    let mut rows = Vec::new();
    for tenant in visible(&state, &op) {
        for kind in mappings::kinds() {
            let (active, _, idx) = mappings::current(&state.admin.ctx, &tenant, kind)
                .await
                .map_err(from_service)?;
            rows.push((tenant.clone(), kind, active, idx.versions.len()));
        }
    }
    let body = html! {
        h1 { "Mappings" }
        table #mappings {
            thead { tr { th { "Tenant" } th { "Kind" } th { "Serving" } th { "Saved versions" } } }
            tbody {
                @for (tenant, kind, active, count) in &rows {
                    tr {
                        td { (tenant) }
                        td { a href=(url(tenant, kind)) { (kind) } }
                        td { (version_name(*active)) }
                        td { (count) }
                    }
                }
            }
        }
    };
    Ok(page(&op, "mappings", "Mappings", "", body))
}

fn version_name(v: u32) -> String {
    if v == 0 {
        "configured".to_string()
    } else {
        format!("version {v}")
    }
}

/// `GET /ui/tenants/{tenant}/mappings/{kind}`.
async fn screen(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, kind)): Path<(String, String)>,
    Query(d): Query<Done>,
) -> Result<Response, UiError> {
    op.caller.tenant(&state.admin, &tenant)?;
    let view = mappings::view(&state.admin.ctx, &tenant, &kind)
        .await
        .map_err(from_service)?;
    let text = view.text.clone();
    render(&state, &op, &view, &text, notice(&d.done), None).await
}

/// The whole screen, with `text` in the editor (what was submitted, when a save was refused).
async fn render(
    state: &UiState,
    op: &Operator,
    view: &MappingView,
    text: &str,
    done: Option<&str>,
    refused: Option<&str>,
) -> Result<Response, UiError> {
    let ctx = &state.admin.ctx;
    let shown = match mappings::preview(ctx, &view.tenant, &view.kind, text).await {
        Ok(p) => preview_markup(Ok(&p)),
        Err(ServiceError::Input(e)) => preview_markup(Err(&e)),
        Err(e) => return Err(from_service(e).into()),
    };
    let found = mappings::suggestions(ctx, &view.tenant, &view.kind, None, 3)
        .await
        .unwrap_or_default();
    let base = url(&view.tenant, &view.kind);
    let body = html! {
        p { a href="/ui/mappings" { "← all mappings" } }
        h1 { "Mapping " (view.kind) " · " (view.tenant) }
        @if let Some(n) = done { p.notice role="status" { (n) } }
        @if let Some(r) = refused { p.notice.bad role="alert" { "Not saved: " (r) } }
        p.muted {
            "Serving: " strong #serving { (version_name(view.active_version)) } " · "
            (view.source) " → " (view.target)
        }
        div.mapping-cols {
            section { h2 { "QuoteWerks fields" } (field_list("source", &view.source_fields)) }
            section {
                h2 { "Rules" }
                table #rules {
                    thead { tr { th { "Target" } th { "← from" } } }
                    tbody {
                        @for r in &view.rules {
                            tr {
                                td.mono { @if r.level == "lines" { "line." } (r.target) }
                                td.mono { (r.expression) }
                            }
                        }
                    }
                }
            }
            section { h2 { "M3 fields" } (field_list("target", &view.target_fields)) }
        }
        h2 { "Edit" }
        form #mapping-form method="post" action={ (base) "/versions" } {
            input type="hidden" name="csrf" value=(op.csrf);
            textarea.mapping #mapping-text name="text" rows="24" spellcheck="false"
                hx-post={ (base) "/preview" } hx-trigger="input changed delay:600ms"
                hx-include="#mapping-form" hx-target="#preview" hx-swap="innerHTML" { (text) }
            p { button #save type="submit" { "Save as a new version" } }
        }
        h2 { "Preview" }
        div #preview aria-live="polite" { (shown) }
        h2 { "Suggestions" }
        (suggestions(&found))
        h2 { "Versions" }
        (versions(op, &base, view))
    };
    let title = format!("Mapping {} · {}", view.kind, view.tenant);
    let mut response = page(op, "mappings", &title, "", body);
    if refused.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

fn field_list(side: &str, fields: &[FieldView]) -> Markup {
    html! {
        ul.fields id={ (side) "-fields" } {
            @for f in fields {
                li class=[f.used.then_some("used")] title=(f.description) {
                    code { @if f.level == "lines" && !f.name.starts_with("line.") { "line." } (f.name) }
                    " " span.muted { (f.description) }
                }
            }
        }
    }
}

fn preview_markup(shown: Result<&Preview, &str>) -> Markup {
    html! {
        @match shown {
            Err(e) => p.notice.bad role="alert" { (e) },
            Ok(preview) => {
                p { (preview.message) }
                @for i in &preview.issues { div.error { (i) } }
                @if let Some(out) = &preview.output {
                    pre.mono { (serde_json::to_string_pretty(out).unwrap_or_default()) }
                }
            }
        }
    }
}

fn suggestions(found: &[SuggestionView]) -> Markup {
    html! {
        @if found.is_empty() {
            p.muted { "Every target field this mapping could fill has a rule." }
        } @else {
            table #suggestions {
                thead { tr { th { "Field" } th { "Suggested rule" } th { "Score" } th { "Matched" } } }
                tbody {
                    @for s in found {
                        @for (i, c) in s.candidates.iter().enumerate() {
                            tr {
                                td {
                                    @if i == 0 {
                                        code { @if s.level == "lines" { "line." } (s.target) }
                                        " " span.muted { (s.description) }
                                    }
                                }
                                td.mono { (c.rule) }
                                td.score { (format!("{:.0}%", c.score * 100.0)) }
                                td.muted { (c.why) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn versions(op: &Operator, base: &str, view: &MappingView) -> Markup {
    let rows: Vec<(u32, String, String)> = std::iter::once((
        0,
        "configured (the tenant's setting, else the shipped default)".to_string(),
        String::new(),
    ))
    .chain(view.versions.iter().rev().map(|v| {
        (
            v.version,
            format!("saved {} by token {}", v.saved_at, v.saved_by),
            v.sha256.chars().take(12).collect(),
        )
    }))
    .collect();
    html! {
        table #versions {
            thead { tr { th { "Version" } th { "What" } th { "sha256" } th { "" } } }
            tbody {
                @for (v, what, sha) in &rows {
                    tr {
                        td { (version_name(*v)) }
                        td { (what) }
                        td.mono { (sha) }
                        td {
                            @if *v == view.active_version {
                                strong { "serving" }
                            } @else {
                                form.inline method="post" action={ (base) "/activate" } {
                                    input type="hidden" name="csrf" value=(op.csrf);
                                    input type="hidden" name="version" value=(v);
                                    button.plain type="submit" { "Activate" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if view.can_roll_back {
            form.inline method="post" action={ (base) "/rollback" }
                hx-confirm="Go back to the version that served before this one?" {
                input type="hidden" name="csrf" value=(op.csrf);
                button #rollback type="submit" { "Roll back" }
            }
        }
    }
}

#[derive(Deserialize)]
struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST …/preview` (htmx): the preview fragment; a bad mapping is shown, not an error page.
async fn preview(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, kind)): Path<(String, String)>,
    Form(form): Form<TextForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    op.caller.tenant(&state.admin, &tenant)?;
    let markup = match mappings::preview(&state.admin.ctx, &tenant, &kind, &form.text).await {
        Ok(p) => preview_markup(Ok(&p)),
        Err(ServiceError::Input(e)) => preview_markup(Err(&e)),
        Err(e) => return Err(from_service(e).into()),
    };
    Ok(Html(markup.into_string()).into_response())
}

/// `POST …/versions`: save and activate; a refused mapping shows the screen again with the
/// submitted text and why (400), having stored nothing.
async fn save(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, kind)): Path<(String, String)>,
    Form(form): Form<TextForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    match save_for(&state.admin, &op.caller, &tenant, &kind, &form.text).await {
        Ok(_) => Ok(back(&tenant, &kind, "saved")),
        Err(ApiError::Invalid(reason)) => {
            let view = mappings::view(&state.admin.ctx, &tenant, &kind)
                .await
                .map_err(from_service)?;
            render(&state, &op, &view, &form.text, None, Some(&reason)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct VersionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: u32,
}

/// `POST …/activate`.
async fn activate(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, kind)): Path<(String, String)>,
    Form(form): Form<VersionForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    activate_for(&state.admin, &op.caller, &tenant, &kind, Some(form.version)).await?;
    Ok(back(&tenant, &kind, "activated"))
}

/// `POST …/rollback`.
async fn rollback(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, kind)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    activate_for(&state.admin, &op.caller, &tenant, &kind, None).await?;
    Ok(back(&tenant, &kind, "rolled-back"))
}

fn back(tenant: &str, kind: &str, done: &str) -> Response {
    let to = format!("{}?{}", url(tenant, kind), pages::query(&[("done", done)]));
    Redirect::to(&to).into_response()
}
