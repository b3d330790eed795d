//! `Jobs::resolve` on SQLite: an operator closes a held or dead job by hand.

use rusqlite::{Connection, TransactionBehavior, params};
use serde_json::Value as Json;

use super::Res;
use super::jobs::{insert_audit, job_by_key};
use crate::StoreError;
use crate::types::{Job, JobState, now};

pub(super) fn resolve_blocking(
    conn: &mut Connection,
    (tenant, kind, key): (&str, &str, &str),
    _now_ms: i64,
) -> Res<Job> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let open = open_job(&tx, (tenant, kind, key))?;
    let at = now();
    tx.execute(
        "UPDATE jobs SET state = 'done', resolved_at = ?1, updated_at = ?1 WHERE id = ?2",
        params![at, open.id],
    )?;
    // Its open dead letters close with it: nothing is left to replay.
    tx.execute(
        "UPDATE dead_letters SET resolved_at = ?1, resolved_by = 'hand'
         WHERE job_id = ?2 AND replayed_at IS NULL AND resolved_at IS NULL",
        params![at, open.id],
    )?;
    let job = reread(&tx, (tenant, kind, key), &open)?;
    let message = format!(
        "{} job resolved by hand; not run again",
        open.state.as_str()
    );
    insert_audit(&tx, &job, "resolve", &message, &Json::Null)?;
    tx.commit()?;
    Ok(job)
}

/// The held or dead job an operator acts on by hand (resolve, edit), else `NotFound`.
pub(super) fn open_job(tx: &Connection, (tenant, kind, key): (&str, &str, &str)) -> Res<Job> {
    job_by_key(tx, tenant, kind, key)?
        .filter(|j| matches!(j.state, JobState::Held | JobState::Dead))
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "no held or dead {kind} job for '{key}' in tenant '{tenant}'"
            ))
            .into()
        })
}

/// The job as the hand action left it, for the answer and the audit entry.
pub(super) fn reread(
    tx: &Connection,
    (tenant, kind, key): (&str, &str, &str),
    open: &Job,
) -> Res<Job> {
    job_by_key(tx, tenant, kind, key)?
        .ok_or_else(|| StoreError::NotFound(format!("job {} vanished", open.id)).into())
}
