//! `JobStore` on SQLite. Claims run inside `BEGIN IMMEDIATE` (SQLite's one writer makes that
//! the equivalent of `FOR UPDATE SKIP LOCKED`); every write after a claim is fenced by its
//! token.

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::{Value as Json, json};

use super::StoreError;
use super::jobs::{
    AuditEntry, Claim, DeadLetter, InboxEvent, Ingested, Job, JobState, JobStore, NewJob, OrderRow,
    Outcome,
};
use super::sqlite::{SqliteStore, now};

const JOB_COLUMNS: &str = "id, tenant, kind, key, state, step, checkpoint, intent, attempts, run_at, last_error, hold_reason, created_at, updated_at";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Job, String)> {
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
        },
        checkpoint,
    ))
}

fn parse_job((mut job, checkpoint): (Job, String)) -> Result<Job, StoreError> {
    job.checkpoint = serde_json::from_str(&checkpoint)
        .map_err(|e| StoreError::Corrupt(format!("job {} checkpoint: {e}", job.id)))?;
    Ok(job)
}

fn fenced(changed: usize, claim: &Claim) -> Result<(), StoreError> {
    if changed == 0 {
        Err(StoreError::LeaseLost(claim.job.id))
    } else {
        Ok(())
    }
}

fn new_token() -> String {
    use rand::RngExt;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

fn insert_audit(
    tx: &Transaction<'_>,
    job: &Job,
    step: &str,
    message: &str,
    data: &Json,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (tenant, kind, key, job_id, at, step, message, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![job.tenant, job.kind, job.key, job.id, now(), step, message, data.to_string()],
    )?;
    Ok(())
}

impl JobStore for SqliteStore {
    fn ingest(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO inbox (tenant, source, dedup_key, payload, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![tenant, source, dedup_key, payload.to_string(), now()],
        )?;
        if inserted == 0 {
            tx.commit()?;
            return Ok(Ingested::Duplicate);
        }
        let Some(job) = job else {
            tx.commit()?;
            return Ok(Ingested::Stored);
        };
        let existing: Option<String> = tx
            .query_row(
                "SELECT state FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3",
                params![job.tenant, job.kind, job.key],
                |r| r.get(0),
            )
            .optional()?;
        let outcome = match existing.as_deref() {
            None => {
                tx.execute(
                    "INSERT INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, 'queued', 'received', ?4, 0, ?5, ?5, ?6, ?6)",
                    params![job.tenant, job.kind, job.key, job.checkpoint.to_string(), now_ms, now()],
                )?;
                Ingested::Queued
            }
            Some("queued") => Ingested::Queued,
            Some(_) => Ingested::AlreadyHandled,
        };
        tx.commit()?;
        Ok(outcome)
    }

    fn enqueue(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        let conn = self.conn()?;
        let n = conn.execute(
            "INSERT OR IGNORE INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'queued', 'received', ?4, 0, ?5, ?5, ?6, ?6)",
            params![job.tenant, job.kind, job.key, job.checkpoint.to_string(), now_ms, now()],
        )?;
        Ok(n > 0)
    }

    fn rerun(
        &self,
        event: Option<InboxEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(e) = event {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO inbox (tenant, source, dedup_key, payload, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![job.tenant, e.source, e.dedup_key, e.payload.to_string(), now()],
            )?;
            if inserted == 0 {
                tx.commit()?;
                return Ok(Ingested::Duplicate);
            }
        }
        let checkpoint = job.checkpoint.to_string();
        // Finished: queue again from the new checkpoint. Running: move run_at past the
        // claim's, which `finish` reads as "run once more". Queued: as it is.
        tx.execute(
            "INSERT INTO jobs (tenant, kind, key, state, step, checkpoint, attempts, run_at, scheduled_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'queued', 'received', ?4, 0, ?5, ?5, ?6, ?6)
             ON CONFLICT (tenant, kind, key) DO UPDATE SET
                state = CASE WHEN state IN ('done', 'held', 'dead') THEN 'queued' ELSE state END,
                step = CASE WHEN state IN ('done', 'held', 'dead') THEN 'received' ELSE step END,
                checkpoint = CASE WHEN state = 'queued' THEN checkpoint ELSE excluded.checkpoint END,
                attempts = CASE WHEN state IN ('done', 'held', 'dead') THEN 0 ELSE attempts END,
                hold_reason = CASE WHEN state IN ('done', 'held', 'dead') THEN NULL ELSE hold_reason END,
                run_at = CASE WHEN state IN ('done', 'held', 'dead') THEN excluded.run_at
                              WHEN state = 'running' THEN max(run_at + 1, excluded.run_at)
                              ELSE run_at END,
                scheduled_at = CASE WHEN state IN ('done', 'held', 'dead') THEN excluded.scheduled_at ELSE scheduled_at END,
                updated_at = excluded.updated_at",
            params![job.tenant, job.kind, job.key, checkpoint, now_ms, now()],
        )?;
        tx.commit()?;
        Ok(Ingested::Queued)
    }

    fn claim(
        &self,
        worker: &str,
        max: usize,
        lease_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<Claim>, StoreError> {
        let mut conn = self.conn()?;
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
            let mut stmt = tx.prepare(
                "SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_at <= ?1) OR (state = 'running' AND lease_until < ?1)
                 ORDER BY run_at, id LIMIT ?2",
            )?;
            stmt.query_map(params![now_ms, max as i64], |r| r.get(0))?
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

    fn extend(&self, claim: &Claim, lease_ms: i64, now_ms: i64) -> Result<(), StoreError> {
        let n = self.conn()?.execute(
            "UPDATE jobs SET lease_until = ?1, leased_at = ?4 WHERE id = ?2 AND claim_token = ?3 AND state = 'running'",
            params![now_ms + lease_ms, claim.job.id, claim.token, now_ms],
        )?;
        fenced(n, claim)
    }

    fn begin_intent(&self, claim: &Claim, intent: &str) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE jobs SET intent = ?1, updated_at = ?2 WHERE id = ?3 AND claim_token = ?4 AND state = 'running'",
            params![intent, now(), claim.job.id, claim.token],
        )?;
        fenced(n, claim)?;
        insert_audit(&tx, &claim.job, intent, "about to write", &Json::Null)?;
        tx.commit()?;
        Ok(())
    }

    fn commit_step(
        &self,
        claim: &Claim,
        step: &str,
        checkpoint: &Json,
        audit: &str,
        xref: Option<(&str, &str, &str)>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
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
        fenced(n, claim)?;
        if let Some((kind, local, remote)) = xref {
            tx.execute(
                "INSERT INTO xref (tenant, kind, local_id, remote_id, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, kind, local_id) DO UPDATE SET remote_id = excluded.remote_id, updated_at = excluded.updated_at",
                params![claim.job.tenant, kind, local, remote, now()],
            )?;
        }
        insert_audit(
            &tx,
            &claim.job,
            step,
            audit,
            &json!({ "checkpoint_keys": checkpoint.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()) }),
        )?;
        tx.commit()?;
        Ok(())
    }

    fn finish(&self, claim: &Claim, outcome: Outcome, now_ms: i64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let id = claim.job.id;
        let (n, step, message) = match &outcome {
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
                    let checkpoint: String = tx.query_row("SELECT checkpoint FROM jobs WHERE id = ?1", params![id], |r| r.get(0))?;
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
        tx.commit()?;
        Ok(())
    }

    fn lock_reference(&self, claim: &Claim, reference: &str) -> Result<bool, StoreError> {
        self.take_reference(claim, reference)
    }

    fn release_claims_of(&self, node: &str, now_ms: i64) -> Result<usize, StoreError> {
        self.release_node_claims(node, now_ms)
    }

    fn xref_get(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT remote_id FROM xref WHERE tenant = ?1 AND kind = ?2 AND local_id = ?3",
                params![tenant, kind, local_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn audit(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        step: &str,
        message: &str,
        data: &Json,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO audit (tenant, kind, key, job_id, at, step, message, data)
             VALUES (?1, ?2, ?3, (SELECT id FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3), ?4, ?5, ?6, ?7)",
            params![tenant, kind, key, now(), step, message, data.to_string()],
        )?;
        Ok(())
    }

    fn job(&self, tenant: &str, kind: &str, key: &str) -> Result<Option<Job>, StoreError> {
        let row = self
            .conn()?
            .query_row(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3"
                ),
                params![tenant, kind, key],
                job_row,
            )
            .optional()?;
        row.map(parse_job).transpose()
    }

    fn jobs(&self, tenant: Option<&str>, state: Option<JobState>) -> Result<Vec<Job>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![tenant, state.map(JobState::as_str)], job_row)?;
        rows.map(|r| parse_job(r?)).collect()
    }

    fn trail(&self, tenant: &str, key: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT at, coalesce(job_id, 0), step, message, data FROM audit WHERE tenant = ?1 AND key = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![tenant, key], |r| {
            let data: String = r.get(4)?;
            Ok(AuditEntry {
                at: r.get(0)?,
                job_id: r.get(1)?,
                step: r.get(2)?,
                message: r.get(3)?,
                data: serde_json::from_str(&data).unwrap_or(Json::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn dead_letters(&self, tenant: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT id, job_id, tenant, kind, key, at, input, error, replayed_at FROM dead_letters
             WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![tenant], dead_letter_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn dead_letter(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT id, job_id, tenant, kind, key, at, input, error, replayed_at FROM dead_letters WHERE id = ?1",
                params![id],
                dead_letter_row,
            )
            .optional()?)
    }

    fn replay(&self, dead_letter_id: i64, now_ms: i64) -> Result<Job, StoreError> {
        let mut conn = self.conn()?;
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
            return Err(StoreError::Conflict(format!(
                "job {job_id} is no longer dead"
            )));
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
        insert_audit(
            &tx,
            &job,
            "replay",
            &format!("dead letter {dead_letter_id} replayed"),
            &Json::Null,
        )?;
        tx.commit()?;
        Ok(job)
    }

    fn release(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        restart: bool,
        now_ms: i64,
    ) -> Result<Job, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = if restart {
            tx.execute(
                "UPDATE jobs SET state = 'queued', run_at = ?1, scheduled_at = ?1, attempts = 0, hold_reason = NULL, updated_at = ?2,
                    step = 'received', intent = NULL,
                    checkpoint = json_object('quote_id', json_extract(checkpoint, '$.quote_id'), 'event', json_extract(checkpoint, '$.event'))
                 WHERE tenant = ?3 AND kind = ?4 AND key = ?5 AND state = 'held'",
                params![now_ms, now(), tenant, kind, key],
            )?
        } else {
            tx.execute(
                "UPDATE jobs SET state = 'queued', run_at = ?1, scheduled_at = ?1, attempts = 0, hold_reason = NULL, updated_at = ?2
                 WHERE tenant = ?3 AND kind = ?4 AND key = ?5 AND state = 'held'",
                params![now_ms, now(), tenant, kind, key],
            )?
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no held {kind} job for '{key}' in tenant '{tenant}'"
            )));
        }
        let job = parse_job(tx.query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key = ?3"),
            params![tenant, kind, key],
            job_row,
        )?)?;
        let message = if restart {
            "hold released; starting over from the quote"
        } else {
            "hold released"
        };
        insert_audit(&tx, &job, "release", message, &Json::Null)?;
        tx.commit()?;
        Ok(job)
    }

    fn record_order(
        &self,
        tenant: &str,
        quote_id: &str,
        order_number: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO orders (tenant, quote_id, order_number, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant, quote_id) DO UPDATE SET order_number = excluded.order_number",
            params![tenant, quote_id, order_number, status, now()],
        )?;
        Ok(())
    }

    fn open_orders(
        &self,
        tenant: &str,
        final_statuses: &[String],
    ) -> Result<Vec<OrderRow>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT tenant, quote_id, order_number, status, updated_at FROM orders WHERE tenant = ?1 ORDER BY updated_at",
        )?;
        let rows = stmt.query_map(params![tenant], order_row)?;
        let all: Vec<OrderRow> = rows.collect::<Result<_, _>>()?;
        Ok(all
            .into_iter()
            .filter(|o| !final_statuses.contains(&o.status))
            .collect())
    }

    fn order_by_number(
        &self,
        tenant: &str,
        order_number: &str,
    ) -> Result<Option<OrderRow>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT tenant, quote_id, order_number, status, updated_at FROM orders WHERE tenant = ?1 AND order_number = ?2",
                params![tenant, order_number],
                order_row,
            )
            .optional()?)
    }

    fn set_order_status(
        &self,
        tenant: &str,
        quote_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE orders SET status = ?1, updated_at = ?2 WHERE tenant = ?3 AND quote_id = ?4",
            params![status, now(), tenant, quote_id],
        )?;
        Ok(())
    }
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
    })
}

fn order_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        tenant: r.get(0)?,
        quote_id: r.get(1)?,
        order_number: r.get(2)?,
        status: r.get(3)?,
        updated_at: r.get(4)?,
    })
}
