//! `Jobs::edit_and_release` on SQLite: an operator corrects a held or dead job's checkpoint
//! and puts it back in the queue.

use rusqlite::{Connection, TransactionBehavior, params};

use super::Res;
use super::jobs::insert_audit;
use super::resolve::{open_job, reread};
use crate::StoreError;
use crate::types::{Edit, Job, now};

pub(super) fn edit_blocking(
    conn: &mut Connection,
    (tenant, kind, key): (&str, &str, &str),
    edit: Edit<'_>,
    now_ms: i64,
) -> Res<Job> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let open = open_job(&tx, (tenant, kind, key))?;
    if let Some(why) = crate::types::edit_refusal(&open, &edit) {
        return Err(StoreError::Conflict(why).into());
    }
    let at = now();
    tx.execute(
        "UPDATE jobs SET state = 'queued', run_at = ?1, scheduled_at = ?1, attempts = 0, hold_reason = NULL,
         step = ?2, checkpoint = ?3, updated_at = ?4 WHERE id = ?5",
        params![now_ms, edit.step, edit.checkpoint.to_string(), at, open.id],
    )?;
    // The job runs again with the edit: its open dead letters must not replay on top.
    tx.execute(
        "UPDATE dead_letters SET replayed_at = ?1
         WHERE job_id = ?2 AND replayed_at IS NULL AND resolved_at IS NULL",
        params![at, open.id],
    )?;
    let job = reread(&tx, (tenant, kind, key), &open)?;
    let message = format!(
        "{} job edited by hand; resuming at step {}",
        open.state.as_str(),
        edit.step
    );
    insert_audit(&tx, &job, "edited", &message, edit.data)?;
    tx.commit()?;
    Ok(job)
}
