//! `Jobs::edit_and_release` in memory, as `sqlite/edit.rs` does it.

use super::State;
use crate::StoreError;
use crate::types::{Edit, Job, JobState, edit_refusal, now};

impl State {
    pub(super) fn edit_and_release(
        &mut self,
        (tenant, kind, key): (&str, &str, &str),
        edit: Edit<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        let row = self
            .job_id(tenant, kind, key)
            .and_then(|id| self.jobs.get_mut(&id))
            .filter(|r| matches!(r.job.state, JobState::Held | JobState::Dead))
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no held or dead {kind} job for '{key}' in tenant '{tenant}'"
                ))
            })?;
        if let Some(why) = edit_refusal(&row.job, &edit) {
            return Err(StoreError::Conflict(why));
        }
        let was = row.job.state;
        let at = now();
        row.job.state = JobState::Queued;
        row.job.run_at_ms = now_ms;
        row.scheduled_at = Some(now_ms);
        row.job.attempts = 0;
        row.job.hold_reason = None;
        row.job.step = edit.step.to_owned();
        row.job.checkpoint = edit.checkpoint.clone();
        row.job.updated_at = at.clone();
        let job = row.job.clone();
        // The job runs again with the edit: its open dead letters must not replay on top.
        for letter in self.dead.values_mut() {
            if letter.job_id == job.id
                && letter.replayed_at.is_none()
                && letter.resolved_at.is_none()
            {
                letter.replayed_at = Some(at.clone());
            }
        }
        let message = format!(
            "{} job edited by hand; resuming at step {}",
            was.as_str(),
            edit.step
        );
        self.append_audit(&job, "edited", &message, edit.data.clone());
        Ok(job)
    }
}
