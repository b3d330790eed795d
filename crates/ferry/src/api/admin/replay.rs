//! Replay over the admin API: a tenant's past quote-to-order runs through a new mapping (its
//! TOML text) or an installed transform component, as a dry run or re-posted; the same
//! [`crate::services::replay`] the CLI's `ferry replay` runs. A re-post is audited.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::flows::quote_to_order::KIND;
use crate::services::replay::{self, Report, Request, Version};
use crate::services::run_query::{self, RunQuery};
use ferry_store::JobState;

/// Which runs to replay, through what, and whether to re-post them.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplayBody {
    /// Only runs in this state: queued, running, held, done or dead.
    pub status: Option<String>,
    /// Only runs changed at or after this time (RFC 3339, `2026-12-03T10:00` UTC or a date).
    pub since: Option<String>,
    /// Only runs created at or before this time.
    pub until: Option<String>,
    /// Only these quotes (number or id); empty or absent: every run the filter selects.
    #[serde(default)]
    pub quotes: Vec<String>,
    /// A quote-to-order mapping's TOML text (give this or `plugin`).
    pub mapping: Option<String>,
    /// An installed transform component's digest or unique prefix (give this or `mapping`).
    pub plugin: Option<String>,
    /// Re-queue the selected runs without an ERP order (the tenant must serve the new
    /// version); false: a dry run, nothing sent.
    #[serde(default)]
    pub post: bool,
}

#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/replays", tag = "runs",
    params(("tenant" = String, Path, description = "Tenant name")),
    request_body = ReplayBody,
    responses(
        (status = 200, description = "Per run changed, unchanged or failed with the field diffs against what was sent, and the sums; with post, which were re-queued and which skipped (they already have their ERP order)", body = Report),
        (status = 400, description = "Neither or both of mapping and plugin, an invalid mapping, an unknown component, a bad filter, a quote no run names, or a re-post through a version the tenant does not serve", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn replay(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
    Json(body): Json<ReplayBody>,
) -> Result<Json<Report>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let version = match (body.mapping, body.plugin) {
        (Some(text), None) => Version::Mapping(text),
        (None, Some(digest)) => Version::Plugin(digest),
        _ => {
            return Err(ApiError::Invalid(
                "give exactly one of mapping (TOML text) and plugin (digest)".into(),
            ));
        }
    };
    let state_filter = match body.status.as_deref() {
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::Invalid(format!(
                "unknown status {s:?}: queued, running, held, done or dead"
            ))
        })?),
        None => None,
    };
    let req = Request {
        query: RunQuery {
            state: state_filter,
            flow: Some(KIND.to_string()),
            from: run_query::instant(body.since.as_deref(), "since").map_err(from_service)?,
            to: run_query::instant(body.until.as_deref(), "until").map_err(from_service)?,
            text: None,
        },
        quotes: body.quotes,
        version,
        post: body.post,
    };
    let report = replay::replay(&state.ctx, &tenant, &req)
        .await
        .map_err(from_service)?;
    if report.post {
        caller
            .audit(
                &state,
                &tenant,
                (KIND, "replay"),
                "replay.post",
                &format!(
                    "{}: {} re-queued, {} skipped (already ordered)",
                    report.version, report.requeued, report.skipped
                ),
            )
            .await?;
        for _ in 0..report.requeued.min(8) {
            state.wake();
        }
    }
    Ok(Json(report))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::json;

    use super::super::tests::{call, fixture};

    const PATH: &str = "/api/v1/tenants/acme/replays";

    #[tokio::test]
    async fn a_replay_needs_a_token_hides_other_tenants_and_answers_the_report() {
        let f = fixture().await;
        let shipped = crate::mapping::engine::default_text("quote-to-order").expect("shipped");
        let body = json!({"mapping": shipped}).to_string();
        let (status, _) = call(&f.app, "POST", PATH, None, Some(&body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        for tenant in ["globex", "nope"] {
            let path = format!("/api/v1/tenants/{tenant}/replays");
            let (status, answer) = call(&f.app, "POST", &path, Some(&f.acme), Some(&body)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        }
        // The fixture's runs hold quotes but no mapped orders: each maps anew (changed) or,
        // without customer data, is refused; the sums cover all three.
        let (status, report) = call(&f.app, "POST", PATH, Some(&f.acme), Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["selected"], 3, "{report}");
        assert_eq!(report["post"], false);
        let sum = ["changed", "unchanged", "failed"]
            .iter()
            .map(|k| report[k].as_u64().unwrap_or(0))
            .sum::<u64>();
        assert_eq!(sum, 3, "{report}");

        let (status, only) = call(
            &f.app,
            "POST",
            PATH,
            Some(&f.admin),
            Some(&json!({"mapping": shipped, "quotes": ["Q3"], "status": "done"}).to_string()),
        )
        .await;
        assert_eq!(
            (status, &only["selected"]),
            (StatusCode::OK, &json!(1)),
            "{only}"
        );
        for bad in [
            json!({}),
            json!({"mapping": shipped, "plugin": "abc"}),
            json!({"mapping": shipped, "status": "finished"}),
            json!({"mapping": shipped, "quotes": ["Q404"]}),
        ] {
            let (status, answer) =
                call(&f.app, "POST", PATH, Some(&f.acme), Some(&bad.to_string())).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        }
    }
}
