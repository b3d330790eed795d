//! `Jobs` on PostgreSQL. A claim selects runnable rows `FOR UPDATE SKIP LOCKED`, so nodes
//! claiming at once never wait on each other nor take the same job; every write after a claim
//! is fenced by its token (`WHERE claim_token = $ AND state = 'running'`).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use serde_json::Value as Json;
use tokio_postgres::Row;

use super::ordered::still_in_order;
use super::{Fail, PgStore, Res};
use crate::StoreError;
use crate::ordering::CLAIMABLE_IN_ORDER;
use crate::traits::Jobs;
use crate::types::{
    Claim, DeadLetter, Job, JobCount, JobState, LinkRef, NewJob, Outcome, Release, checkpoint_keys,
    new_token, now, restart_checkpoint,
};

pub(super) const JOB_COLUMNS: &str = "id, tenant, kind, key, state, step, checkpoint, intent, attempts, run_at, last_error, hold_reason, created_at, updated_at, resolved_at";

pub(super) fn job_row(r: &Row) -> Res<Job> {
    let state: String = r.try_get(4)?;
    let id: i64 = r.try_get(0)?;
    let checkpoint: String = r.try_get(6)?;
    Ok(Job {
        id,
        tenant: r.try_get(1)?,
        kind: r.try_get(2)?,
        key: r.try_get(3)?,
        state: JobState::parse(&state).unwrap_or(JobState::Dead),
        step: r.try_get(5)?,
        checkpoint: serde_json::from_str(&checkpoint)
            .map_err(|e| StoreError::Corrupt(format!("job {id} checkpoint: {e}")))?,
        intent: r.try_get(7)?,
        attempts: r.try_get(8)?,
        run_at_ms: r.try_get(9)?,
        last_error: r.try_get(10)?,
        hold_reason: r.try_get(11)?,
        created_at: r.try_get(12)?,
        updated_at: r.try_get(13)?,
        resolved_at: r.try_get(14)?,
    })
}

fn fenced(changed: u64, claim: &Claim) -> Res<()> {
    if changed == 0 {
        Err(StoreError::LeaseLost(claim.job.id).into())
    } else {
        Ok(())
    }
}

pub(super) async fn insert_job(c: &impl GenericClient, job: &NewJob<'_>, now_ms: i64) -> Res<u64> {
    Ok(c.execute(
        "INSERT INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', 'received', $4, 0, $5, $5, $6, $6)
         ON CONFLICT (tenant, kind, key) DO NOTHING",
        &[&job.tenant, &job.kind, &job.key, &job.checkpoint.to_string(), &now_ms, &now()],
    )
    .await?)
}

pub(super) async fn insert_audit(
    c: &impl GenericClient,
    job: &Job,
    step: &str,
    message: &str,
    data: &Json,
) -> Res<()> {
    c.execute(
        "INSERT INTO audit (tenant, kind, key, job_id, at, step, message, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&job.tenant, &job.kind, &job.key, &job.id, &now(), &step, &message, &data.to_string()],
    )
    .await?;
    Ok(())
}

/// The job for a key; `lock`: also lock its row until the transaction ends.
pub(super) async fn job_by_key(
    c: &impl GenericClient,
    tenant: &str,
    kind: &str,
    key: &str,
    lock: bool,
) -> Res<Option<Job>> {
    let suffix = if lock { " FOR UPDATE" } else { "" };
    let row = c
        .query_opt(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = $1 AND kind = $2 AND key = $3{suffix}"
            ),
            &[&tenant, &kind, &key],
        )
        .await?;
    row.as_ref().map(job_row).transpose()
}

const DEAD_LETTER_COLUMNS: &str =
    "id, job_id, tenant, kind, key, at, input, error, replayed_at, resolved_at, resolved_by";

fn dead_letter_row(r: &Row) -> Res<DeadLetter> {
    let input: String = r.try_get(6)?;
    Ok(DeadLetter {
        id: r.try_get(0)?,
        job_id: r.try_get(1)?,
        tenant: r.try_get(2)?,
        kind: r.try_get(3)?,
        key: r.try_get(4)?,
        at: r.try_get(5)?,
        input: serde_json::from_str(&input).unwrap_or(Json::Null),
        error: r.try_get(7)?,
        replayed_at: r.try_get(8)?,
        resolved_at: r.try_get(9)?,
        resolved_by: r.try_get(10)?,
    })
}

impl PgStore {
    async fn claim_jobs(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Res<Vec<Claim>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Times set "in the future" of now were set before the clock stepped back (or by a
        // process whose clock is ahead): keep their length, start them now. Rows another node
        // holds are skipped, not waited for (it is moving them anyway).
        tx.execute(
            "UPDATE jobs SET run_at = $1 + greatest(0, run_at - scheduled_at), scheduled_at = $1
             WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND scheduled_at > $1
                          FOR UPDATE SKIP LOCKED)",
            &[&now_ms],
        )
        .await?;
        tx.execute(
            "UPDATE jobs SET lease_until = $1 + greatest(0, lease_until - leased_at), leased_at = $1
             WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND leased_at > $1
                          FOR UPDATE SKIP LOCKED)",
            &[&now_ms],
        )
        .await?;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = tx
            .query(
                &format!(
                    "SELECT id, tenant, ordering_key FROM jobs
                 WHERE ((state = 'queued' AND run_at <= $1) OR (state = 'running' AND lease_until < $1))
                   AND NOT EXISTS (SELECT 1 FROM flow_pauses p WHERE p.tenant = jobs.tenant AND p.flow = jobs.kind)
                   AND {CLAIMABLE_IN_ORDER}
                 ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED"
                ),
                &[&now_ms, &max],
            )
            .await?;
        let mut claims = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let ordering_key: Option<String> = row.try_get(2)?;
            if let Some(key) = ordering_key {
                let tenant: String = row.try_get(1)?;
                if !still_in_order(&tx, id, &tenant, &key).await? {
                    continue;
                }
            }
            let token = new_token();
            let row = tx
                .query_one(
                    &format!(
                        "UPDATE jobs SET state = 'running', claim_token = $1, claimed_by = $2, lease_until = $3,
                            leased_at = $6, attempts = attempts + 1, updated_at = $4
                         WHERE id = $5 RETURNING {JOB_COLUMNS}"
                    ),
                    &[&token, &worker, &(now_ms + lease_ms), &now(), &id, &now_ms],
                )
                .await?;
            claims.push(Claim {
                job: job_row(&row)?,
                token,
            });
        }
        tx.commit().await?;
        Ok(claims)
    }

    async fn finish_job(&self, claim: &Claim, outcome: &Outcome, now_ms: i64) -> Res<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let id = claim.job.id;
        let token = &claim.token;
        let (n, step, message) = match outcome {
            // A job rescheduled while it ran (`rerun`: its run_at moved past the claim's) is
            // queued again, attempts reset; no other write moves a running job's run_at.
            Outcome::Done => (
                tx.execute(
                    "UPDATE jobs SET state = CASE WHEN run_at > $4 THEN 'queued' ELSE 'done' END,
                        attempts = CASE WHEN run_at > $4 THEN 0 ELSE attempts END,
                        scheduled_at = CASE WHEN run_at > $4 THEN $5 ELSE scheduled_at END,
                        claim_token = NULL, lease_until = NULL, leased_at = NULL, intent = NULL, last_error = NULL, updated_at = $1
                     WHERE id = $2 AND claim_token = $3 AND state = 'running'",
                    &[&now(), &id, token, &claim.job.run_at_ms, &now_ms],
                )
                .await?,
                "done",
                "finished".to_string(),
            ),
            // The intent stays: if a write was in flight, the next attempt starts in doubt.
            Outcome::Retry { at_ms, error } => (
                tx.execute(
                    "UPDATE jobs SET state = 'queued', claim_token = NULL, lease_until = NULL, leased_at = NULL,
                        run_at = $1, scheduled_at = $6, last_error = $2, updated_at = $3
                     WHERE id = $4 AND claim_token = $5 AND state = 'running'",
                    &[at_ms, error, &now(), &id, token, &now_ms],
                )
                .await?,
                "retry",
                format!("retry in {} ms: {error}", (at_ms - now_ms).max(0)),
            ),
            // Waiting used no attempt: the claim's increment is taken back.
            Outcome::Wait { at_ms, reason } => (
                tx.execute(
                    "UPDATE jobs SET state = 'queued', claim_token = NULL, lease_until = NULL, leased_at = NULL,
                        run_at = $1, scheduled_at = $5, attempts = greatest(0, attempts - 1), updated_at = $2
                     WHERE id = $3 AND claim_token = $4 AND state = 'running'",
                    &[at_ms, &now(), &id, token, &now_ms],
                )
                .await?,
                "waiting",
                reason.clone(),
            ),
            Outcome::Hold { reason } => (
                tx.execute(
                    "UPDATE jobs SET state = 'held', claim_token = NULL, lease_until = NULL, leased_at = NULL, hold_reason = $1, updated_at = $2
                     WHERE id = $3 AND claim_token = $4 AND state = 'running'",
                    &[reason, &now(), &id, token],
                )
                .await?,
                "held",
                reason.clone(),
            ),
            Outcome::Dead { error } => {
                let checkpoint: Option<String> = tx
                    .query_opt(
                        "UPDATE jobs SET state = 'dead', claim_token = NULL, lease_until = NULL, leased_at = NULL, last_error = $1, updated_at = $2
                         WHERE id = $3 AND claim_token = $4 AND state = 'running' RETURNING checkpoint",
                        &[error, &now(), &id, token],
                    )
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                if let Some(checkpoint) = &checkpoint {
                    let job = &claim.job;
                    tx.execute(
                        "INSERT INTO dead_letters (job_id, tenant, kind, key, at, input, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        &[&id, &job.tenant, &job.kind, &job.key, &now(), checkpoint, error],
                    )
                    .await?;
                }
                (u64::from(checkpoint.is_some()), "dead", error.clone())
            }
        };
        fenced(n, claim)?;
        insert_audit(&tx, &claim.job, step, &message, &Json::Null).await?;
        if matches!(outcome, Outcome::Done) {
            // Dead letters still open (a rerun took the job past them without a replay) are
            // resolved "by a later run", and so is the job.
            let at = now();
            let closed = tx
                .execute(
                    "UPDATE dead_letters SET resolved_at = $1, resolved_by = 'later-run'
                     WHERE job_id = $2 AND replayed_at IS NULL AND resolved_at IS NULL
                       AND EXISTS (SELECT 1 FROM jobs WHERE id = $2 AND state = 'done')",
                    &[&at, &id],
                )
                .await?;
            if closed > 0 {
                tx.execute(
                    "UPDATE jobs SET resolved_at = $1 WHERE id = $2",
                    &[&at, &id],
                )
                .await?;
                let message =
                    format!("{closed} open dead letter(s) resolved by a later run that succeeded");
                insert_audit(&tx, &claim.job, "resolve", &message, &Json::Null).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn take_reference(&self, claim: &Claim, reference: &str) -> Res<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let tenant = &claim.job.tenant;
        // The read and the take are one step for every node: a lock on the (tenant,
        // reference) pair, held until commit, also when no row exists yet.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(length($1) || ':' || $1 || $2, 0))",
            &[tenant, &reference],
        )
        .await?;
        let holder: Option<i64> = tx
            .query_opt(
                "SELECT job_id FROM reference_locks WHERE tenant = $1 AND reference = $2",
                &[tenant, &reference],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
        if let Some(holder) = holder
            && holder != claim.job.id
        {
            let state: Option<String> = tx
                .query_opt("SELECT state FROM jobs WHERE id = $1", &[&holder])
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            if matches!(state.as_deref(), Some("queued" | "running")) {
                return Ok(false);
            }
        }
        tx.execute(
            "INSERT INTO reference_locks (tenant, reference, job_id, taken_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, reference) DO UPDATE SET job_id = excluded.job_id, taken_at = excluded.taken_at",
            &[tenant, &reference, &claim.job.id, &now()],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn replay_dead(&self, dead_letter_id: i64, now_ms: i64) -> Res<Job> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let job_id: i64 = tx
            .query_opt(
                "SELECT job_id FROM dead_letters WHERE id = $1 AND replayed_at IS NULL FOR UPDATE",
                &[&dead_letter_id],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .ok_or_else(|| {
                StoreError::NotFound(format!("no unreplayed dead letter {dead_letter_id}"))
            })?;
        let row = tx
            .query_opt(
                &format!(
                    "UPDATE jobs SET state = 'queued', run_at = $1, scheduled_at = $1, attempts = 0, updated_at = $2
                     WHERE id = $3 AND state = 'dead' RETURNING {JOB_COLUMNS}"
                ),
                &[&now_ms, &now(), &job_id],
            )
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("job {job_id} is no longer dead")))?;
        let job = job_row(&row)?;
        tx.execute(
            "UPDATE dead_letters SET replayed_at = $1 WHERE id = $2",
            &[&now(), &dead_letter_id],
        )
        .await?;
        let message = format!("dead letter {dead_letter_id} replayed");
        insert_audit(&tx, &job, "replay", &message, &Json::Null).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn release_held(
        &self,
        (tenant, kind, key): (&str, &str, &str),
        keep: Option<&[&str]>,
        now_ms: i64,
    ) -> Res<Job> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let held = job_by_key(&tx, tenant, kind, key, true)
            .await?
            .filter(|j| j.state == JobState::Held);
        let Some(held) = held else {
            return Err(StoreError::NotFound(format!(
                "no held {kind} job for '{key}' in tenant '{tenant}'"
            ))
            .into());
        };
        tx.execute(
            "UPDATE jobs SET state = 'queued', run_at = $1, scheduled_at = $1, attempts = 0, hold_reason = NULL, updated_at = $2
             WHERE id = $3",
            &[&now_ms, &now(), &held.id],
        )
        .await?;
        if let Some(keep) = keep {
            let checkpoint = restart_checkpoint(&held.checkpoint, keep);
            tx.execute(
                "UPDATE jobs SET step = 'received', intent = NULL, checkpoint = $1 WHERE id = $2",
                &[&checkpoint.to_string(), &held.id],
            )
            .await?;
        }
        let job = job_by_key(&tx, tenant, kind, key, false)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {} vanished", held.id)))?;
        let message = if keep.is_some() {
            "hold released; starting over from the beginning"
        } else {
            "hold released"
        };
        insert_audit(&tx, &job, "release", message, &Json::Null).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn commit(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        link: Option<LinkRef<'_>>,
    ) -> Res<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE jobs SET step = $1, checkpoint = $2, intent = NULL, updated_at = $3
                 WHERE id = $4 AND claim_token = $5 AND state = 'running'",
                &[
                    &step,
                    &checkpoint.to_string(),
                    &now(),
                    &claim.job.id,
                    &claim.token,
                ],
            )
            .await?;
        fenced(n, claim)?;
        if let Some(l) = link {
            super::records::upsert_link(
                &tx,
                &claim.job.tenant,
                l.kind,
                l.local_id,
                l.remote_id,
                None,
            )
            .await?;
        }
        insert_audit(&tx, &claim.job, step, audit, &checkpoint_keys(checkpoint)).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Jobs for PgStore {
    async fn enqueue(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        async {
            let client = self.client().await?;
            Ok(insert_job(&client, &job, now_ms).await? > 0)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn claim(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        self.claim_jobs(worker, max, lease_ms, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn extend(&self, claim: &Claim, lease_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "UPDATE jobs SET lease_until = $1, leased_at = $4 WHERE id = $2 AND claim_token = $3 AND state = 'running'",
                    &[&(now_ms + lease_ms), &claim.job.id, &claim.token, &now_ms],
                )
                .await?;
            fenced(n, claim)
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn begin_intent(&self, claim: &Claim, intent: &str) -> Result<(), StoreError> {
        async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let n = tx
                .execute(
                    "UPDATE jobs SET intent = $1, updated_at = $2 WHERE id = $3 AND claim_token = $4 AND state = 'running'",
                    &[&intent, &now(), &claim.job.id, &claim.token],
                )
                .await?;
            fenced(n, claim)?;
            insert_audit(&tx, &claim.job, intent, "about to write", &Json::Null).await?;
            tx.commit().await?;
            Ok(())
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn commit_step(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        link: Option<LinkRef<'_>>,
    ) -> Result<(), StoreError> {
        self.commit(claim, step, checkpoint, audit, link)
            .await
            .map_err(Fail::into_store)
    }

    async fn finish(&self, claim: &Claim, outcome: Outcome, now_ms: i64) -> Result<(), StoreError> {
        self.finish_job(claim, &outcome, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn lock_reference(&self, claim: &Claim, reference: &str) -> Result<bool, StoreError> {
        self.take_reference(claim, reference)
            .await
            .map_err(Fail::into_store)
    }

    async fn release_claims_of(&self, node: &str, now_ms: i64) -> Result<usize, StoreError> {
        // Workers are named `{node}-{n}`; the dash keeps node `a` from matching node `ab`.
        let pattern = format!("{}-%", node.replace(['\\', '%'], "").replace('_', "\\_"));
        async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "UPDATE jobs SET lease_until = $1::bigint - 1, leased_at = $1
                     WHERE state = 'running' AND claimed_by LIKE $2 ESCAPE '\\'",
                    &[&now_ms, &pattern],
                )
                .await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn job(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<Job>, StoreError> {
        async {
            let client = self.client().await?;
            job_by_key(&client, tenant, kind, key, false).await
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
    ) -> Result<Vec<Job>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1::text IS NULL OR tenant = $1)
                         AND ($2::text IS NULL OR state = $2) ORDER BY id"
                    ),
                    &[&tenant, &state.map(JobState::as_str)],
                )
                .await?;
            rows.iter().map(job_row).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn job_counts(
        &self,
        tenant: &str,
        changed_since: Option<&str>,
    ) -> Result<Vec<JobCount>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT kind, state, count(*) FROM jobs WHERE tenant = $1
                     AND ($2::text IS NULL OR updated_at >= $2)
                     GROUP BY kind, state ORDER BY kind, state",
                    &[&tenant, &changed_since],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let state: String = r.try_get(1)?;
                    Ok(JobCount {
                        kind: r.try_get(0)?,
                        state: JobState::parse(&state).unwrap_or(JobState::Dead),
                        count: r.try_get(2)?,
                    })
                })
                .collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn replay(&self, dead_letter_id: i64, now_ms: i64) -> Result<Job, StoreError> {
        self.replay_dead(dead_letter_id, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        from: Release<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        let keep = match from {
            Release::AtCheckpoint => None,
            Release::Restart { keep } => Some(keep),
        };
        self.release_held((tenant, kind, key), keep, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn edit_and_release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        edit: crate::types::Edit<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        super::edit::edit_and_release(self, (tenant, kind, key), edit, now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn resolve(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        super::resolve::resolve(self, (tenant, kind, key), now_ms)
            .await
            .map_err(Fail::into_store)
    }

    async fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE $1::text IS NULL OR tenant = $1 ORDER BY id"
                    ),
                    &[&tenant],
                )
                .await?;
            rows.iter().map(dead_letter_row).collect::<Res<Vec<_>>>()
        }
        .await
        .map_err(Fail::into_store)
    }

    async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    &format!("SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = $1"),
                    &[&id],
                )
                .await?;
            row.as_ref().map(dead_letter_row).transpose()
        }
        .await
        .map_err(Fail::into_store)
    }
}
