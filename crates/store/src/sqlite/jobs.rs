//! `Jobs` on SQLite. Claims run inside `BEGIN IMMEDIATE` (SQLite's one writer makes that the
//! equivalent of `FOR UPDATE SKIP LOCKED`); every write after a claim is fenced by its token.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::Value as Json;

use super::{Res, SqliteStore};
use crate::StoreError;
use crate::ordering::CLAIMABLE_IN_ORDER;
use crate::traits::Jobs;
use crate::types::{
    Claim, DeadLetter, Job, JobCount, JobState, LinkRef, NewJob, Outcome, Release, checkpoint_keys,
    new_token, now, restart_checkpoint,
};

pub(super) const JOB_COLUMNS: &str = "id, tenant, kind, key, state, step, checkpoint, intent, attempts, run_at, last_error, hold_reason, created_at, updated_at, resolved_at";

/// A job row with its checkpoint still as text (parsed by [`parse_job`], which can fail).
pub(super) fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Job, String)> {
    let state: String = r.get(4)?;
    let checkpoint: String = r.get(6)?;
    Ok((
        Job {
            id: r.get(0)?,
            tenant: r.get(1)?,
            kind: r.get(2)?,
            key: r.get(3)?,
            state: JobState::parse(&state).unwrap_or(JobState::Dead),
            step: r.get(5)?,
            checkpoint: Json::Null,
            intent: r.get(7)?,
            attempts: r.get(8)?,
            run_at_ms: r.get(9)?,
            last_error: r.get(10)?,
            hold_reason: r.get(11)?,
            created_at: r.get(12)?,
            updated_at: r.get(13)?,
            resolved_at: r.get(14)?,
        },
        checkpoint,
    ))
}

pub(super) fn parse_job((mut job, checkpoint): (Job, String)) -> Res<Job> {
    job.checkpoint = serde_json::from_str(&checkpoint)
        .map_err(|e| StoreError::Corrupt(format!("job {} checkpoint: {e}", job.id)))?;
    Ok(job)
}

fn fenced(changed: usize, claim: &Claim) -> Res<()> {
    if changed == 0 {
        Err(StoreError::LeaseLost(claim.job.id).into())
    } else {
        Ok(())
    }
}

pub(super) fn insert_job(conn: &Connection, job: &NewJob<'_>, now_ms: i64) -> Res<usize> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'queued', 'received', ?4, 0, ?5, ?5, ?6, ?6)",
        params![job.tenant, job.kind, job.key, job.checkpoint.to_string(), now_ms, now()],
    )?)
}

pub(super) fn insert_audit(
    tx: &Transaction<'_>,
    job: &Job,
    step: &str,
    message: &str,
    data: &Json,
) -> Res<()> {
    tx.execute(
        "INSERT INTO audit (tenant, kind, key, job_id, at, step, message, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![job.tenant, job.kind, job.key, job.id, now(), step, message, data.to_string()],
    )?;
    Ok(())
}

pub(super) fn job_by_key(
    conn: &Connection,
    tenant: &str,
    kind: &str,
    key: &str,
) -> Res<Option<Job>> {
    let row = conn
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3"),
            params![tenant, kind, key],
            job_row,
        )
        .optional()?;
    row.map(parse_job).transpose()
}

fn dead_letter_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeadLetter> {
    let input: String = r.get(6)?;
    Ok(DeadLetter {
        id: r.get(0)?,
        job_id: r.get(1)?,
        tenant: r.get(2)?,
        kind: r.get(3)?,
        key: r.get(4)?,
        at: r.get(5)?,
        input: serde_json::from_str(&input).unwrap_or(Json::Null),
        error: r.get(7)?,
        replayed_at: r.get(8)?,
        resolved_at: r.get(9)?,
        resolved_by: r.get(10)?,
    })
}

const DEAD_LETTER_COLUMNS: &str =
    "id, job_id, tenant, kind, key, at, input, error, replayed_at, resolved_at, resolved_by";

fn claim_blocking(
    conn: &mut Connection,
    worker: &str,
    max: usize,
    lease_ms: i64,
    now_ms: i64,
) -> Res<Vec<Claim>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Times set "in the future" of now were set before the clock stepped back (or by a
    // process whose clock is ahead): keep their length, start them now.
    tx.execute(
        "UPDATE jobs SET run_at = ?1 + max(0, run_at - scheduled_at), scheduled_at = ?1
         WHERE state = 'queued' AND scheduled_at > ?1",
        params![now_ms],
    )?;
    tx.execute(
        "UPDATE jobs SET lease_until = ?1 + max(0, lease_until - leased_at), leased_at = ?1
         WHERE state = 'running' AND leased_at > ?1",
        params![now_ms],
    )?;
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT id FROM jobs
             WHERE ((state = 'queued' AND run_at <= ?1) OR (state = 'running' AND lease_until < ?1))
               AND NOT EXISTS (SELECT 1 FROM flow_pauses p WHERE p.tenant = jobs.tenant AND p.flow = jobs.kind)
               AND {CLAIMABLE_IN_ORDER}
             ORDER BY run_at, id LIMIT ?2",
        ))?;
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        stmt.query_map(params![now_ms, max], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    let mut claims = Vec::with_capacity(ids.len());
    for id in ids {
        let token = new_token();
        let row = tx.query_row(
            &format!(
                "UPDATE jobs SET state = 'running', claim_token = ?1, claimed_by = ?2, lease_until = ?3,
                    leased_at = ?6, attempts = attempts + 1, updated_at = ?4
                 WHERE id = ?5 RETURNING {JOB_COLUMNS}"
            ),
            params![token, worker, now_ms + lease_ms, now(), id, now_ms],
            job_row,
        )?;
        claims.push(Claim {
            job: parse_job(row)?,
            token,
        });
    }
    tx.commit()?;
    Ok(claims)
}

fn finish_blocking(
    conn: &mut Connection,
    claim: &Claim,
    outcome: &Outcome,
    now_ms: i64,
) -> Res<()> {
    let tx = conn.transaction()?;
    let id = claim.job.id;
    let (n, step, message) = match outcome {
        // A job rescheduled while it ran (`rerun`: its run_at moved past the claim's) is
        // queued again, attempts reset; no other write moves a running job's run_at.
        Outcome::Done => (
            tx.execute(
                "UPDATE jobs SET state = CASE WHEN run_at > ?4 THEN 'queued' ELSE 'done' END,
                    attempts = CASE WHEN run_at > ?4 THEN 0 ELSE attempts END,
                    scheduled_at = CASE WHEN run_at > ?4 THEN ?5 ELSE scheduled_at END,
                    claim_token = NULL, lease_until = NULL, leased_at = NULL, intent = NULL, last_error = NULL, updated_at = ?1
                 WHERE id = ?2 AND claim_token = ?3 AND state = 'running'",
                params![now(), id, claim.token, claim.job.run_at_ms, now_ms],
            )?,
            "done",
            "finished".to_string(),
        ),
        // The intent stays: if a write was in flight, the next attempt starts in doubt.
        Outcome::Retry { at_ms, error } => (
            tx.execute(
                "UPDATE jobs SET state = 'queued', claim_token = NULL, lease_until = NULL, leased_at = NULL,
                    run_at = ?1, scheduled_at = ?6, last_error = ?2, updated_at = ?3
                 WHERE id = ?4 AND claim_token = ?5 AND state = 'running'",
                params![at_ms, error, now(), id, claim.token, now_ms],
            )?,
            "retry",
            format!("retry in {} ms: {error}", (at_ms - now_ms).max(0)),
        ),
        // Waiting used no attempt: the claim's increment is taken back.
        Outcome::Wait { at_ms, reason } => (
            tx.execute(
                "UPDATE jobs SET state = 'queued', claim_token = NULL, lease_until = NULL, leased_at = NULL,
                    run_at = ?1, scheduled_at = ?5, attempts = max(0, attempts - 1), updated_at = ?2
                 WHERE id = ?3 AND claim_token = ?4 AND state = 'running'",
                params![at_ms, now(), id, claim.token, now_ms],
            )?,
            "waiting",
            reason.clone(),
        ),
        Outcome::Hold { reason } => (
            tx.execute(
                "UPDATE jobs SET state = 'held', claim_token = NULL, lease_until = NULL, leased_at = NULL, hold_reason = ?1, updated_at = ?2
                 WHERE id = ?3 AND claim_token = ?4 AND state = 'running'",
                params![reason, now(), id, claim.token],
            )?,
            "held",
            reason.clone(),
        ),
        Outcome::Dead { error } => {
            let n = tx.execute(
                "UPDATE jobs SET state = 'dead', claim_token = NULL, lease_until = NULL, leased_at = NULL, last_error = ?1, updated_at = ?2
                 WHERE id = ?3 AND claim_token = ?4 AND state = 'running'",
                params![error, now(), id, claim.token],
            )?;
            if n > 0 {
                let checkpoint: String = tx.query_row(
                    "SELECT checkpoint FROM jobs WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO dead_letters (job_id, tenant, kind, key, at, input, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, claim.job.tenant, claim.job.kind, claim.job.key, now(), checkpoint, error],
                )?;
            }
            (n, "dead", error.clone())
        }
    };
    fenced(n, claim)?;
    insert_audit(&tx, &claim.job, step, &message, &Json::Null)?;
    if matches!(outcome, Outcome::Done) {
        close_by_later_run(&tx, &claim.job)?;
    }
    tx.commit()?;
    Ok(())
}

/// A job that ended done closes its dead letters still open (a rerun took it past them
/// without a replay): they are resolved "by a later run", and so is the job.
fn close_by_later_run(tx: &Transaction<'_>, job: &Job) -> Res<()> {
    let at = now();
    let closed = tx.execute(
        "UPDATE dead_letters SET resolved_at = ?1, resolved_by = 'later-run'
         WHERE job_id = ?2 AND replayed_at IS NULL AND resolved_at IS NULL
           AND EXISTS (SELECT 1 FROM jobs WHERE id = ?2 AND state = 'done')",
        params![at, job.id],
    )?;
    if closed > 0 {
        tx.execute(
            "UPDATE jobs SET resolved_at = ?1 WHERE id = ?2",
            params![at, job.id],
        )?;
        let message =
            format!("{closed} open dead letter(s) resolved by a later run that succeeded");
        insert_audit(tx, job, "resolve", &message, &Json::Null)?;
    }
    Ok(())
}

fn take_reference(conn: &mut Connection, claim: &Claim, reference: &str) -> Res<bool> {
    // IMMEDIATE: the read and the take are one step for every connection (and node).
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let tenant = &claim.job.tenant;
    let holder: Option<i64> = tx
        .query_row(
            "SELECT job_id FROM reference_locks WHERE tenant = ?1 AND reference = ?2",
            params![tenant, reference],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(holder) = holder
        && holder != claim.job.id
    {
        let state: Option<String> = tx
            .query_row("SELECT state FROM jobs WHERE id = ?1", [holder], |r| {
                r.get(0)
            })
            .optional()?;
        if matches!(state.as_deref(), Some("queued" | "running")) {
            return Ok(false);
        }
    }
    tx.execute(
        "INSERT INTO reference_locks (tenant, reference, job_id, taken_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant, reference) DO UPDATE SET job_id = excluded.job_id, taken_at = excluded.taken_at",
        params![tenant, reference, claim.job.id, now()],
    )?;
    tx.commit()?;
    Ok(true)
}

fn replay_blocking(conn: &mut Connection, dead_letter_id: i64, now_ms: i64) -> Res<Job> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let job_id: i64 = tx
        .query_row(
            "SELECT job_id FROM dead_letters WHERE id = ?1 AND replayed_at IS NULL",
            params![dead_letter_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| {
            StoreError::NotFound(format!("no unreplayed dead letter {dead_letter_id}"))
        })?;
    let n = tx.execute(
        "UPDATE jobs SET state = 'queued', run_at = ?1, scheduled_at = ?1, attempts = 0, updated_at = ?2 WHERE id = ?3 AND state = 'dead'",
        params![now_ms, now(), job_id],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(format!("job {job_id} is no longer dead")).into());
    }
    tx.execute(
        "UPDATE dead_letters SET replayed_at = ?1 WHERE id = ?2",
        params![now(), dead_letter_id],
    )?;
    let job = parse_job(tx.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
        params![job_id],
        job_row,
    )?)?;
    let message = format!("dead letter {dead_letter_id} replayed");
    insert_audit(&tx, &job, "replay", &message, &Json::Null)?;
    tx.commit()?;
    Ok(job)
}

fn release_blocking(
    conn: &mut Connection,
    tenant: &str,
    kind: &str,
    key: &str,
    keep: Option<&[String]>,
    now_ms: i64,
) -> Res<Job> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let held = job_by_key(&tx, tenant, kind, key)?.filter(|j| j.state == JobState::Held);
    let Some(held) = held else {
        return Err(StoreError::NotFound(format!(
            "no held {kind} job for '{key}' in tenant '{tenant}'"
        ))
        .into());
    };
    tx.execute(
        "UPDATE jobs SET state = 'queued', run_at = ?1, scheduled_at = ?1, attempts = 0, hold_reason = NULL, updated_at = ?2
         WHERE id = ?3",
        params![now_ms, now(), held.id],
    )?;
    if let Some(keep) = keep {
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        let checkpoint = restart_checkpoint(&held.checkpoint, &keep);
        tx.execute(
            "UPDATE jobs SET step = 'received', intent = NULL, checkpoint = ?1 WHERE id = ?2",
            params![checkpoint.to_string(), held.id],
        )?;
    }
    let job = job_by_key(&tx, tenant, kind, key)?
        .ok_or_else(|| StoreError::NotFound(format!("job {} vanished", held.id)))?;
    let message = if keep.is_some() {
        "hold released; starting over from the beginning"
    } else {
        "hold released"
    };
    insert_audit(&tx, &job, "release", message, &Json::Null)?;
    tx.commit()?;
    Ok(job)
}

#[async_trait]
impl Jobs for SqliteStore {
    async fn enqueue(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        let (tenant, kind, key) = (
            job.tenant.to_owned(),
            job.kind.to_owned(),
            job.key.to_owned(),
        );
        let checkpoint = job.checkpoint;
        self.run(move |conn| {
            let job = NewJob {
                tenant: &tenant,
                kind: &kind,
                key: &key,
                checkpoint,
            };
            Ok(insert_job(conn, &job, now_ms)? > 0)
        })
        .await
    }

    async fn claim(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        let worker = worker.to_owned();
        self.run(move |conn| claim_blocking(conn, &worker, max, lease_ms, now_ms))
            .await
    }

    async fn extend(&self, claim: &Claim, lease_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        let claim = claim.clone();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE jobs SET lease_until = ?1, leased_at = ?4 WHERE id = ?2 AND claim_token = ?3 AND state = 'running'",
                params![now_ms + lease_ms, claim.job.id, claim.token, now_ms],
            )?;
            fenced(n, &claim)
        })
        .await
    }

    async fn begin_intent(&self, claim: &Claim, intent: &str) -> Result<(), StoreError> {
        let (claim, intent) = (claim.clone(), intent.to_owned());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.execute(
                "UPDATE jobs SET intent = ?1, updated_at = ?2 WHERE id = ?3 AND claim_token = ?4 AND state = 'running'",
                params![intent, now(), claim.job.id, claim.token],
            )?;
            fenced(n, &claim)?;
            insert_audit(&tx, &claim.job, &intent, "about to write", &Json::Null)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn commit_step(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        link: Option<LinkRef<'_>>,
    ) -> Result<(), StoreError> {
        let (claim, step, audit) = (claim.clone(), step.to_owned(), audit.to_owned());
        let checkpoint = checkpoint.clone();
        let link = link.map(|l| {
            (
                l.kind.to_owned(),
                l.local_id.to_owned(),
                l.remote_id.to_owned(),
            )
        });
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.execute(
                "UPDATE jobs SET step = ?1, checkpoint = ?2, intent = NULL, updated_at = ?3
                 WHERE id = ?4 AND claim_token = ?5 AND state = 'running'",
                params![
                    step,
                    checkpoint.to_string(),
                    now(),
                    claim.job.id,
                    claim.token
                ],
            )?;
            fenced(n, &claim)?;
            if let Some((kind, local, remote)) = link {
                super::records::upsert_link(&tx, &claim.job.tenant, &kind, &local, &remote, None)?;
            }
            insert_audit(
                &tx,
                &claim.job,
                &step,
                &audit,
                &checkpoint_keys(&checkpoint),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn finish(&self, claim: &Claim, outcome: Outcome, now_ms: i64) -> Result<(), StoreError> {
        let claim = claim.clone();
        self.run(move |conn| finish_blocking(conn, &claim, &outcome, now_ms))
            .await
    }

    async fn lock_reference(&self, claim: &Claim, reference: &str) -> Result<bool, StoreError> {
        let (claim, reference) = (claim.clone(), reference.to_owned());
        self.run(move |conn| take_reference(conn, &claim, &reference))
            .await
    }

    async fn release_claims_of(&self, node: &str, now_ms: i64) -> Result<usize, StoreError> {
        // Workers are named `{node}-{n}`; the dash keeps node `a` from matching node `ab`.
        let pattern = format!("{}-%", node.replace('%', "").replace('_', "\\_"));
        self.run(move |conn| {
            Ok(conn.execute(
                "UPDATE jobs SET lease_until = ?1 - 1, leased_at = ?1
                 WHERE state = 'running' AND claimed_by LIKE ?2 ESCAPE '\\'",
                params![now_ms, pattern],
            )?)
        })
        .await
    }

    async fn job(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<Job>, StoreError> {
        let (tenant, kind, key) = (tenant.to_owned(), kind.to_owned(), key.to_owned());
        self.run(move |conn| job_by_key(conn, &tenant, &kind, &key))
            .await
    }

    async fn jobs(
        &self,
        tenant: Option<&str>,
        state: Option<JobState>,
    ) -> Result<Vec<Job>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![tenant, state.map(JobState::as_str)], job_row)?;
            rows.map(|r| parse_job(r?)).collect()
        })
        .await
    }

    async fn job_counts(
        &self,
        tenant: &str,
        changed_since: Option<&str>,
    ) -> Result<Vec<JobCount>, StoreError> {
        let (tenant, since) = (tenant.to_owned(), changed_since.map(str::to_owned));
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT kind, state, count(*) FROM jobs WHERE tenant = ?1 AND (?2 IS NULL OR updated_at >= ?2)
                 GROUP BY kind, state ORDER BY kind, state",
            )?;
            let rows = stmt.query_map(params![tenant, since], |r| {
                let state: String = r.get(1)?;
                Ok(JobCount {
                    kind: r.get(0)?,
                    state: JobState::parse(&state).unwrap_or(JobState::Dead),
                    count: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn replay(&self, dead_letter_id: i64, now_ms: i64) -> Result<Job, StoreError> {
        self.run(move |conn| replay_blocking(conn, dead_letter_id, now_ms))
            .await
    }

    async fn release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        from: Release<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        let (tenant, kind, key) = (tenant.to_owned(), kind.to_owned(), key.to_owned());
        let keep: Option<Vec<String>> = match from {
            Release::AtCheckpoint => None,
            Release::Restart { keep } => Some(keep.iter().map(|k| (*k).to_owned()).collect()),
        };
        self.run(move |conn| release_blocking(conn, &tenant, &kind, &key, keep.as_deref(), now_ms))
            .await
    }

    async fn edit_and_release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        edit: crate::types::Edit<'_>,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        let (tenant, kind, key) = (tenant.to_owned(), kind.to_owned(), key.to_owned());
        let (was, checkpoint, step, data) = (
            edit.was.clone(),
            edit.checkpoint.clone(),
            edit.step.to_owned(),
            edit.data.clone(),
        );
        self.run(move |conn| {
            let edit = crate::types::Edit {
                was: &was,
                checkpoint: &checkpoint,
                step: &step,
                data: &data,
            };
            super::edit::edit_blocking(conn, (&tenant, &kind, &key), edit, now_ms)
        })
        .await
    }

    async fn resolve(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        let (tenant, kind, key) = (tenant.to_owned(), kind.to_owned(), key.to_owned());
        self.run(move |conn| super::resolve::resolve_blocking(conn, (&tenant, &kind, &key), now_ms))
            .await
    }

    async fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map(params![tenant], dead_letter_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?1"),
                    params![id],
                    dead_letter_row,
                )
                .optional()?)
        })
        .await
    }
}
