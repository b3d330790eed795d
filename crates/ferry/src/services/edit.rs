//! Edit-and-retry (console screen 4): the operator corrects a stopped quote's mapped order
//! and the run goes on from validation with it.
//!
//! Only before any order write: once M3 may hold the order (an intent, a draft, a receipt or
//! lines sent), editing what was sent would break exactly-once, so that is refused. The edit
//! is laid on the checkpoint the operator was shown, in one store transaction that also
//! puts the run back in the queue and audits the caller's token and the changed fields.

use serde::Serialize;
use serde_json::{Value as Json, json};
use utoipa::ToSchema;

use super::shadow::{Change, diff};
use super::{Context, ServiceError, journeys};
use crate::flows::now_ms;
use crate::flows::quote_to_order::{Checkpoint, KIND};
use ferry_domain::Document;
use ferry_store::{Edit, Job, JobState};

/// The steps a run may be edited at: none of them has written to M3.
const EDITABLE_STEPS: [&str; 5] = ["received", "fetched", "customer", "mapped", "validated"];
/// Where an edited run resumes: validation runs again on the corrected order.
const RESUME_AT: &str = "mapped";

/// One field the edit changed (a path into the order document, as replays and shadows show).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// e.g. `fields.FACI.text` or `lines[0].fields.ITNO.text`.
    pub field: String,
    /// The value before; absent when the edit added the field.
    pub was: Option<Json>,
    /// The value after; absent when the edit removed the field.
    pub now: Option<Json>,
}

impl From<Change> for FieldChange {
    fn from(c: Change) -> Self {
        Self {
            field: c.path,
            was: c.live,
            now: c.shadow,
        }
    }
}

/// What an edit did: the run, queued again, and what changed.
#[derive(Debug, Clone)]
pub struct Edited {
    pub job: Job,
    pub changed: Vec<FieldChange>,
}

/// Why a run can't be edited, or None: the run must be stopped (held or dead) before any M3
/// write and have a mapped order to correct.
pub fn refusal(job: &Job) -> Option<String> {
    if job.kind != KIND {
        return Some(format!("a {} run has no order to edit", job.kind));
    }
    if !matches!(job.state, JobState::Held | JobState::Dead) {
        return Some(format!(
            "quote {} is {}: only a held or dead run can be edited",
            job.key,
            job.state.as_str()
        ));
    }
    if !EDITABLE_STEPS.contains(&job.step.as_str()) {
        return Some(format!(
            "quote {} is past validation (step {}): M3 may already hold its order",
            job.key, job.step
        ));
    }
    if let Some(intent) = &job.intent {
        return Some(format!(
            "quote {} began an M3 write ({intent}): M3 may already hold its order",
            job.key
        ));
    }
    let cp: Checkpoint = match serde_json::from_value(job.checkpoint.clone()) {
        Ok(cp) => cp,
        Err(e) => return Some(format!("quote {}: unreadable checkpoint: {e}", job.key)),
    };
    if cp.draft.is_some() || cp.receipt.is_some() || cp.lines_added > 0 {
        return Some(format!(
            "quote {} has an M3 order draft: M3 may already hold its order",
            job.key
        ));
    }
    if cp.order.is_none() {
        return Some(format!(
            "quote {} has no mapped order yet (step {})",
            job.key, job.step
        ));
    }
    None
}

/// Replaces a stopped quote's mapped order with `order` (the checkpoint's `order` shape) and
/// puts the run back in the queue at validation, audited with `token` and the changed fields.
/// A document that doesn't parse is [`ServiceError::Input`] and stores nothing; a run that
/// can't be edited is [`ServiceError::NotEditable`].
pub async fn edit_order(
    ctx: &Context,
    tenant: &str,
    quote: &str,
    order: &Json,
    token: &str,
) -> Result<Edited, ServiceError> {
    let job = journeys::trace(ctx, tenant, quote).await?.job;
    if let Some(why) = refusal(&job) {
        return Err(ServiceError::NotEditable(why));
    }
    let parsed: Document = serde_json::from_value(order.clone())
        .map_err(|e| ServiceError::Input(format!("not an order document: {e}")))?;
    let new_order = serde_json::to_value(&parsed)
        .map_err(|e| ServiceError::Input(format!("order document: {e}")))?;
    let mut checkpoint = job.checkpoint.clone();
    let old_order = checkpoint.get("order").cloned().unwrap_or(Json::Null);
    let mut changes = Vec::new();
    diff("", &old_order, &new_order, &mut changes);
    let changed: Vec<FieldChange> = changes.into_iter().map(FieldChange::from).collect();
    if let Some(fields) = checkpoint.as_object_mut() {
        fields.insert("order".into(), new_order);
    }
    let data = json!({ "token": token, "action": "run.edit", "changed": changed });
    let edit = Edit {
        was: &job.checkpoint,
        checkpoint: &checkpoint,
        step: RESUME_AT,
        data: &data,
    };
    let store = ctx.open_store().await?;
    let job = store
        .edit_and_release(tenant, KIND, &job.key, edit, now_ms())
        .await?;
    Ok(Edited { job, changed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, step: &str, checkpoint: Json) -> Job {
        Job {
            id: 1,
            tenant: "acme".into(),
            kind: KIND.into(),
            key: "q1".into(),
            state,
            step: step.into(),
            checkpoint,
            intent: None,
            attempts: 0,
            run_at_ms: 0,
            last_error: None,
            hold_reason: None,
            created_at: String::new(),
            updated_at: String::new(),
            resolved_at: None,
        }
    }

    fn order() -> Json {
        json!({"kind": "order", "id": null, "fields": [], "lines": []})
    }

    #[test]
    fn only_a_stopped_run_with_a_mapped_order_and_no_m3_write_is_editable() {
        let mapped = json!({"quote_id": "q1", "order": order()});
        assert_eq!(
            refusal(&job(JobState::Held, "mapped", mapped.clone())),
            None
        );
        assert_eq!(
            refusal(&job(JobState::Dead, "validated", mapped.clone())),
            None
        );
        let refused = [
            job(JobState::Done, "written-back", mapped.clone()),
            job(JobState::Queued, "mapped", mapped.clone()),
            job(JobState::Dead, "head", mapped.clone()),
            job(JobState::Held, "fetched", json!({"quote_id": "q1"})),
            job(
                JobState::Dead,
                "validated",
                json!({"quote_id": "q1", "order": order(), "draft": "D1"}),
            ),
        ];
        for j in refused {
            assert!(refusal(&j).is_some(), "{} {}", j.state.as_str(), j.step);
        }
        let mut begun = job(JobState::Dead, "validated", mapped);
        begun.intent = Some("head".into());
        assert!(
            refusal(&begun)
                .unwrap_or_default()
                .contains("began an M3 write")
        );
    }
}
