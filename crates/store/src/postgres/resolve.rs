//! `Jobs::resolve` on PostgreSQL: an operator closes a held or dead job by hand.

use deadpool_postgres::GenericClient;
use serde_json::Value as Json;

use super::jobs::{insert_audit, job_by_key};
use super::{PgStore, Res};
use crate::StoreError;
use crate::types::{Job, JobState, now};

pub(super) async fn resolve(
    store: &PgStore,
    (tenant, kind, key): (&str, &str, &str),
    _now_ms: i64,
) -> Res<Job> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let open = open_job(&tx, (tenant, kind, key)).await?;
    let at = now();
    tx.execute(
        "UPDATE jobs SET state = 'done', resolved_at = $1, updated_at = $1 WHERE id = $2",
        &[&at, &open.id],
    )
    .await?;
    // Its open dead letters close with it: nothing is left to replay.
    tx.execute(
        "UPDATE dead_letters SET resolved_at = $1, resolved_by = 'hand'
         WHERE job_id = $2 AND replayed_at IS NULL AND resolved_at IS NULL",
        &[&at, &open.id],
    )
    .await?;
    let job = reread(&tx, (tenant, kind, key), &open).await?;
    let message = format!(
        "{} job resolved by hand; not run again",
        open.state.as_str()
    );
    insert_audit(&tx, &job, "resolve", &message, &Json::Null).await?;
    tx.commit().await?;
    Ok(job)
}

/// The held or dead job an operator acts on by hand (resolve, edit), locked, else `NotFound`.
pub(super) async fn open_job(
    tx: &impl GenericClient,
    (tenant, kind, key): (&str, &str, &str),
) -> Res<Job> {
    job_by_key(tx, tenant, kind, key, true)
        .await?
        .filter(|j| matches!(j.state, JobState::Held | JobState::Dead))
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "no held or dead {kind} job for '{key}' in tenant '{tenant}'"
            ))
            .into()
        })
}

/// The job as the hand action left it, for the answer and the audit entry.
pub(super) async fn reread(
    tx: &impl GenericClient,
    (tenant, kind, key): (&str, &str, &str),
    open: &Job,
) -> Res<Job> {
    job_by_key(tx, tenant, kind, key, false)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {} vanished", open.id)).into())
}
