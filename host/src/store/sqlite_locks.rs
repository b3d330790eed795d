//! One writer per order reference, and a restarted node taking its jobs back at once.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::StoreError;
use super::jobs::Claim;
use super::sqlite::{SqliteStore, now};

impl SqliteStore {
    pub(super) fn take_reference(
        &self,
        claim: &Claim,
        reference: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
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

    pub(super) fn release_node_claims(&self, node: &str, now_ms: i64) -> Result<usize, StoreError> {
        let conn = self.conn()?;
        // Workers are named `{node}-{n}`; the dash keeps node `a` from matching node `ab`.
        let pattern = format!("{}-%", node.replace('%', "").replace('_', "\\_"));
        let n = conn.execute(
            "UPDATE jobs SET lease_until = ?1 - 1, leased_at = ?1
             WHERE state = 'running' AND claimed_by LIKE ?2 ESCAPE '\\'",
            params![now_ms, pattern],
        )?;
        Ok(n)
    }
}
