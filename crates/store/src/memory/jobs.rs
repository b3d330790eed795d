//! `Jobs` in memory, statement for statement what `sqlite/jobs.rs` does.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{JobRow, MemoryStore, State};
use crate::StoreError;
use crate::traits::Jobs;
use crate::types::{
    Claim, DeadLetter, Job, JobCount, JobState, Link, LinkRef, NewJob, Outcome, Release,
    checkpoint_keys, new_token, now, restart_checkpoint,
};

impl State {
    /// Inserts a queued job unless one exists for its key; returns whether it did.
    pub(super) fn insert_job(&mut self, job: NewJob<'_>, now_ms: i64) -> bool {
        if self.job_id(job.tenant, job.kind, job.key).is_some() {
            return false;
        }
        self.last_job_id += 1;
        let at = now();
        let row = JobRow {
            job: Job {
                id: self.last_job_id,
                tenant: job.tenant.to_owned(),
                kind: job.kind.to_owned(),
                key: job.key.to_owned(),
                state: JobState::Queued,
                step: "received".into(),
                checkpoint: job.checkpoint,
                intent: None,
                attempts: 0,
                run_at_ms: now_ms,
                last_error: None,
                hold_reason: None,
                created_at: at.clone(),
                updated_at: at,
                resolved_at: None,
            },
            token: None,
            claimed_by: None,
            lease_until: None,
            scheduled_at: Some(now_ms),
            leased_at: None,
        };
        self.jobs.insert(row.job.id, row);
        true
    }
}

/// Clears the claim columns as a finished claim does.
fn unclaim(row: &mut JobRow) {
    row.token = None;
    row.lease_until = None;
    row.leased_at = None;
}

#[async_trait]
impl Jobs for MemoryStore {
    async fn enqueue(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        self.with(|s| Ok(s.insert_job(job, now_ms)))
    }

    async fn claim(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        self.with(|s| {
            // A clock stepped back: keep each backoff's and lease's length, start it now.
            for row in s.jobs.values_mut() {
                match row.job.state {
                    JobState::Queued => {
                        if let Some(at) = row.scheduled_at.filter(|at| *at > now_ms) {
                            row.job.run_at_ms = now_ms + (row.job.run_at_ms - at).max(0);
                            row.scheduled_at = Some(now_ms);
                        }
                    }
                    JobState::Running => {
                        if let Some(at) = row.leased_at.filter(|at| *at > now_ms) {
                            row.lease_until =
                                row.lease_until.map(|until| now_ms + (until - at).max(0));
                            row.leased_at = Some(now_ms);
                        }
                    }
                    _ => {}
                }
            }
            let mut due: Vec<(i64, i64)> = s
                .jobs
                .values()
                .filter(|r| {
                    !s.pauses
                        .contains_key(&(r.job.tenant.clone(), r.job.kind.clone()))
                })
                .filter(|r| match r.job.state {
                    JobState::Queued => r.job.run_at_ms <= now_ms,
                    JobState::Running => r.lease_until.is_some_and(|until| until < now_ms),
                    _ => false,
                })
                .filter(|r| s.in_order(&r.job))
                .map(|r| (r.job.run_at_ms, r.job.id))
                .collect();
            due.sort_unstable();
            due.truncate(max);
            let mut claims = Vec::with_capacity(due.len());
            for (_, id) in due {
                let Some(row) = s.jobs.get_mut(&id) else {
                    continue;
                };
                let token = new_token();
                row.job.state = JobState::Running;
                row.token = Some(token.clone());
                row.claimed_by = Some(worker.to_owned());
                row.lease_until = Some(now_ms + lease_ms);
                row.leased_at = Some(now_ms);
                row.job.attempts += 1;
                row.job.updated_at = now();
                claims.push(Claim {
                    job: row.job.clone(),
                    token,
                });
            }
            Ok(claims)
        })
    }

    async fn extend(&self, claim: &Claim, lease_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        self.with(|s| {
            let row = s.held(claim)?;
            row.lease_until = Some(now_ms + lease_ms);
            row.leased_at = Some(now_ms);
            Ok(())
        })
    }

    async fn begin_intent(&self, claim: &Claim, intent: &str) -> Result<(), StoreError> {
        self.with(|s| {
            let row = s.held(claim)?;
            row.job.intent = Some(intent.to_owned());
            row.job.updated_at = now();
            s.append_audit(&claim.job, intent, "about to write", Json::Null);
            Ok(())
        })
    }

    async fn commit_step(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        link: Option<LinkRef<'_>>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            let row = s.held(claim)?;
            row.job.step = step.to_owned();
            row.job.checkpoint = checkpoint.clone();
            row.job.intent = None;
            row.job.updated_at = now();
            if let Some(l) = link {
                s.upsert_link(&claim.job.tenant, l.kind, l.local_id, l.remote_id, None);
            }
            s.append_audit(&claim.job, step, audit, checkpoint_keys(checkpoint));
            Ok(())
        })
    }

    async fn finish(&self, claim: &Claim, outcome: Outcome, now_ms: i64) -> Result<(), StoreError> {
        self.with(|s| {
            let row = s.held(claim)?;
            row.job.updated_at = now();
            unclaim(row);
            let mut dead_input = None;
            let (step, message) = match &outcome {
                // A job rescheduled while it ran (`rerun` moved its run_at past the claim's)
                // is queued again, attempts reset.
                Outcome::Done if row.job.run_at_ms > claim.job.run_at_ms => {
                    row.job.state = JobState::Queued;
                    row.job.attempts = 0;
                    row.scheduled_at = Some(now_ms);
                    row.job.intent = None;
                    row.job.last_error = None;
                    ("done", "finished".to_owned())
                }
                Outcome::Done => {
                    row.job.state = JobState::Done;
                    row.job.intent = None;
                    row.job.last_error = None;
                    ("done", "finished".to_owned())
                }
                // The intent stays: if a write was in flight, the next attempt starts in doubt.
                Outcome::Retry { at_ms, error } => {
                    row.job.state = JobState::Queued;
                    row.job.run_at_ms = *at_ms;
                    row.scheduled_at = Some(now_ms);
                    row.job.last_error = Some(error.clone());
                    (
                        "retry",
                        format!("retry in {} ms: {error}", (at_ms - now_ms).max(0)),
                    )
                }
                // Waiting used no attempt: the claim's increment is taken back.
                Outcome::Wait { at_ms, reason } => {
                    row.job.state = JobState::Queued;
                    row.job.run_at_ms = *at_ms;
                    row.scheduled_at = Some(now_ms);
                    row.job.attempts = (row.job.attempts - 1).max(0);
                    ("waiting", reason.clone())
                }
                Outcome::Hold { reason } => {
                    row.job.state = JobState::Held;
                    row.job.hold_reason = Some(reason.clone());
                    ("held", reason.clone())
                }
                Outcome::Dead { error } => {
                    row.job.state = JobState::Dead;
                    row.job.last_error = Some(error.clone());
                    dead_input = Some(row.job.checkpoint.clone());
                    ("dead", error.clone())
                }
            };
            if let (Some(input), Outcome::Dead { error }) = (dead_input, &outcome) {
                s.last_dead_id += 1;
                let letter = DeadLetter {
                    id: s.last_dead_id,
                    job_id: claim.job.id,
                    tenant: claim.job.tenant.clone(),
                    kind: claim.job.kind.clone(),
                    key: claim.job.key.clone(),
                    at: now(),
                    input,
                    error: error.clone(),
                    replayed_at: None,
                    resolved_at: None,
                    resolved_by: None,
                };
                s.dead.insert(letter.id, letter);
            }
            s.append_audit(&claim.job, step, &message, Json::Null);
            close_by_later_run(s, &claim.job);
            Ok(())
        })
    }

    async fn lock_reference(&self, claim: &Claim, reference: &str) -> Result<bool, StoreError> {
        self.with(|s| {
            let lock = (claim.job.tenant.clone(), reference.to_owned());
            if let Some(holder) = s.locks.get(&lock).copied()
                && holder != claim.job.id
            {
                let state = s.jobs.get(&holder).map(|r| r.job.state);
                if matches!(state, Some(JobState::Queued | JobState::Running)) {
                    return Ok(false);
                }
            }
            s.locks.insert(lock, claim.job.id);
            Ok(true)
        })
    }

    async fn release_claims_of(&self, node: &str, now_ms: i64) -> Result<usize, StoreError> {
        // Workers are named `{node}-{n}`; the dash keeps node `a` from matching node `ab`.
        let prefix = format!("{}-", node.replace('%', ""));
        self.with(|s| {
            let mut n = 0;
            for row in s.jobs.values_mut() {
                if row.job.state == JobState::Running
                    && row
                        .claimed_by
                        .as_deref()
                        .is_some_and(|w| w.starts_with(&prefix))
                {
                    row.lease_until = Some(now_ms - 1);
                    row.leased_at = Some(now_ms);
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    async fn job(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<Job>, StoreError> {
        self.with(|s| {
            Ok(s.job_id(tenant, kind, key)
                .and_then(|id| s.jobs.get(&id))
                .map(|r| r.job.clone()))
        })
    }

    async fn jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
    ) -> Result<Vec<Job>, StoreError> {
        self.with(|s| {
            Ok(s.jobs
                .values()
                .filter(|r| tenant.is_none_or(|t| r.job.tenant == t))
                .filter(|r| state.is_none_or(|st| r.job.state == st))
                .map(|r| r.job.clone())
                .collect())
        })
    }

    async fn job_counts(
        &self,
        tenant: &str,
        changed_since: Option<&str>,
    ) -> Result<Vec<JobCount>, StoreError> {
        self.with(|s| {
            let mut counts = std::collections::BTreeMap::<(String, &'static str), JobCount>::new();
            for r in s.jobs.values() {
                let job = &r.job;
                if job.tenant != tenant
                    || changed_since.is_some_and(|t| job.updated_at.as_str() < t)
                {
                    continue;
                }
                counts
                    .entry((job.kind.clone(), job.state.as_str()))
                    .or_insert_with(|| JobCount {
                        kind: job.kind.clone(),
                        state: job.state,
                        count: 0,
                    })
                    .count += 1;
            }
            Ok(counts.into_values().collect())
        })
    }

    async fn replay(&self, dead_letter_id: i64, now_ms: i64) -> Result<Job, StoreError> {
        self.with(|s| {
            let job_id = s
                .dead
                .get(&dead_letter_id)
                .filter(|d| d.replayed_at.is_none())
                .map(|d| d.job_id)
                .ok_or_else(|| {
                    StoreError::NotFound(format!("no unreplayed dead letter {dead_letter_id}"))
                })?;
            let Some(row) = s
                .jobs
                .get_mut(&job_id)
                .filter(|r| r.job.state == JobState::Dead)
            else {
                return Err(StoreError::Conflict(format!(
                    "job {job_id} is no longer dead"
                )));
            };
            row.job.state = JobState::Queued;
            row.job.run_at_ms = now_ms;
            row.scheduled_at = Some(now_ms);
            row.job.attempts = 0;
            row.job.updated_at = now();
            let job = row.job.clone();
            if let Some(letter) = s.dead.get_mut(&dead_letter_id) {
                letter.replayed_at = Some(now());
            }
            s.append_audit(
                &job,
                "replay",
                &format!("dead letter {dead_letter_id} replayed"),
                Json::Null,
            );
            Ok(job)
        })
    }

    async fn edit_and_release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        edit: crate::types::Edit<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        self.with(|s| s.edit_and_release((tenant, kind, key), edit, now_ms))
    }

    async fn resolve(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        _now_ms: i64,
    ) -> Result<Job, StoreError> {
        self.with(|s| {
            let row = s
                .job_id(tenant, kind, key)
                .and_then(|id| s.jobs.get_mut(&id))
                .filter(|r| matches!(r.job.state, JobState::Held | JobState::Dead))
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "no held or dead {kind} job for '{key}' in tenant '{tenant}'"
                    ))
                })?;
            let was = row.job.state;
            let at = now();
            row.job.state = JobState::Done;
            row.job.resolved_at = Some(at.clone());
            row.job.updated_at = at.clone();
            let job = row.job.clone();
            // Its open dead letters close with it: nothing is left to replay.
            for letter in s.dead.values_mut() {
                if letter.job_id == job.id
                    && letter.replayed_at.is_none()
                    && letter.resolved_at.is_none()
                {
                    letter.resolved_at = Some(at.clone());
                    letter.resolved_by = Some(crate::types::RESOLVED_BY_HAND.to_owned());
                }
            }
            let message = format!("{} job resolved by hand; not run again", was.as_str());
            s.append_audit(&job, "resolve", &message, Json::Null);
            Ok(job)
        })
    }

    async fn release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        from: Release<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        self.with(|s| {
            let row = s
                .job_id(tenant, kind, key)
                .and_then(|id| s.jobs.get_mut(&id))
                .filter(|r| r.job.state == JobState::Held)
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "no held {kind} job for '{key}' in tenant '{tenant}'"
                    ))
                })?;
            row.job.state = JobState::Queued;
            row.job.run_at_ms = now_ms;
            row.scheduled_at = Some(now_ms);
            row.job.attempts = 0;
            row.job.hold_reason = None;
            row.job.updated_at = now();
            let message = match from {
                Release::AtCheckpoint => "hold released",
                Release::Restart { keep } => {
                    row.job.step = "received".into();
                    row.job.intent = None;
                    row.job.checkpoint = restart_checkpoint(&row.job.checkpoint, keep);
                    "hold released; starting over from the beginning"
                }
            };
            let job = row.job.clone();
            s.append_audit(&job, "release", message, Json::Null);
            Ok(job)
        })
    }

    async fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.with(|s| {
            Ok(s.dead
                .values()
                .filter(|d| tenant.is_none_or(|t| d.tenant == t))
                .cloned()
                .collect())
        })
    }

    async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        self.with(|s| Ok(s.dead.get(&id).cloned()))
    }
}

impl State {
    /// Writes a link; a None `state` keeps the stored one (also used by `commit_step`).
    pub(super) fn upsert_link(
        &mut self,
        tenant: &str,
        kind: &str,
        local: &str,
        remote: &str,
        state: Option<&str>,
    ) {
        let key = super::key3(tenant, kind, local);
        let kept = self.links.get(&key).and_then(|l| l.state.clone());
        let link = Link {
            tenant: tenant.to_owned(),
            kind: kind.to_owned(),
            local_id: local.to_owned(),
            remote_id: remote.to_owned(),
            state: state.map(str::to_owned).or(kept),
            updated_at: now(),
        };
        self.links.insert(key, link);
    }
}

/// A job that ended done closes its dead letters still open (a rerun took it past them
/// without a replay): they are resolved "by a later run", and so is the job.
fn close_by_later_run(s: &mut super::State, job: &Job) {
    let done = s
        .jobs
        .get(&job.id)
        .is_some_and(|r| r.job.state == JobState::Done);
    if !done {
        return;
    }
    let at = now();
    let mut closed = 0;
    for letter in s.dead.values_mut() {
        if letter.job_id == job.id && letter.replayed_at.is_none() && letter.resolved_at.is_none() {
            letter.resolved_at = Some(at.clone());
            letter.resolved_by = Some(crate::types::RESOLVED_BY_LATER_RUN.to_owned());
            closed += 1;
        }
    }
    if closed > 0 {
        if let Some(row) = s.jobs.get_mut(&job.id) {
            row.job.resolved_at = Some(at);
        }
        let message =
            format!("{closed} open dead letter(s) resolved by a later run that succeeded");
        s.append_audit(job, "resolve", &message, Json::Null);
    }
}
