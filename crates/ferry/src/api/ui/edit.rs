//! "Edit and retry" on a stopped run's page: the mapped order's JSON in a textarea; posting
//! it is the admin API's own edit (`admin::edit::edit_for`: stored, audited with the token,
//! queued again at validation) and the browser lands on the run.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::pages::{self, run_url, seg};
use super::session::Operator;
use super::{UiError, UiState};
use crate::api::ApiError;
use crate::api::admin::edit::edit_for;
use crate::services::edit::refusal;
use ferry_store::Job;

/// Where a run's corrected order is posted.
fn edit_url(tenant: &str, run: &str) -> String {
    format!("/ui/tenants/{}/runs/{}/order", seg(tenant), seg(run))
}

/// The form, on a run that can be edited (held or dead, no M3 write begun); nothing otherwise.
pub(super) fn edit_form(op: &Operator, tenant: &str, job: &Job) -> Markup {
    if refusal(job).is_some() {
        return html! {};
    }
    let order = job
        .checkpoint
        .get("order")
        .and_then(|o| serde_json::to_string_pretty(o).ok())
        .unwrap_or_default();
    html! {
        section #edit-order {
            h2 { "Edit and retry" }
            p.muted { "Correct the mapped order M3 is sent; the run validates it again and goes on. Nothing was written to M3 yet." }
            form method="post" action=(edit_url(tenant, &job.key)) {
                input type="hidden" name="csrf" value=(op.csrf);
                textarea name="order" rows="16" cols="80" spellcheck="false" { (order) }
                div { button type="submit" { "Save and retry" } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    order: String,
}

/// `POST /ui/tenants/{tenant}/runs/{run}/order`: edit, then show the run.
pub(super) async fn edit_order(
    State(state): State<UiState>,
    op: Operator,
    Path((tenant, run)): Path<(String, String)>,
    Form(form): Form<EditForm>,
) -> Result<Response, UiError> {
    op.check_csrf(&form.csrf)?;
    let order: serde_json::Value = serde_json::from_str(&form.order)
        .map_err(|e| ApiError::Invalid(format!("the order is not JSON: {e}")))?;
    let edited = edit_for(&state.admin, &op.caller, &tenant, &run, &order).await?;
    let url = format!(
        "{}?{}",
        run_url(&tenant, &edited.job.key),
        pages::query(&[("done", "edited")])
    );
    Ok(Redirect::to(&url).into_response())
}
