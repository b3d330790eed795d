//! `Jobs::edit_and_release` on PostgreSQL: an operator corrects a held or dead job's
//! checkpoint and puts it back in the queue.

use super::jobs::insert_audit;
use super::resolve::{open_job, reread};
use super::{PgStore, Res};
use crate::StoreError;
use crate::types::{Edit, Job, edit_refusal, now};

pub(super) async fn edit_and_release(
    store: &PgStore,
    (tenant, kind, key): (&str, &str, &str),
    edit: Edit<'_>,
    now_ms: i64,
) -> Res<Job> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let open = open_job(&tx, (tenant, kind, key)).await?;
    if let Some(why) = edit_refusal(&open, &edit) {
        return Err(StoreError::Conflict(why).into());
    }
    let at = now();
    tx.execute(
        "UPDATE jobs SET state = 'queued', run_at = $1, scheduled_at = $1, attempts = 0, hold_reason = NULL,
         step = $2, checkpoint = $3, updated_at = $4 WHERE id = $5",
        &[&now_ms, &edit.step, &edit.checkpoint.to_string(), &at, &open.id],
    )
    .await?;
    // The job runs again with the edit: its open dead letters must not replay on top.
    tx.execute(
        "UPDATE dead_letters SET replayed_at = $1
         WHERE job_id = $2 AND replayed_at IS NULL AND resolved_at IS NULL",
        &[&at, &open.id],
    )
    .await?;
    let job = reread(&tx, (tenant, kind, key), &open).await?;
    let message = format!(
        "{} job edited by hand; resuming at step {}",
        open.state.as_str(),
        edit.step
    );
    insert_audit(&tx, &job, "edited", &message, edit.data).await?;
    tx.commit().await?;
    Ok(job)
}
