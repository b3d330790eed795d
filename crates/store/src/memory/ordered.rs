//! `Ordered` in memory: the ordering keys by job id beside the jobs, the rule of
//! `crate::ordering` applied by `claim` under the store's one lock.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{MemoryStore, State};
use crate::StoreError;
use crate::ordering::Ordered;
use crate::types::{InboxEvent, Ingested, Job, JobState, NewJob, now};

impl State {
    /// Whether `job` may be claimed by the ordering rule: no key, or no other job of its
    /// tenant and key running and no earlier one queued.
    pub(super) fn in_order(&self, job: &Job) -> bool {
        let Some(key) = self.ordering.get(&job.id) else {
            return true;
        };
        !self.ordering.iter().any(|(id, k)| {
            *id != job.id
                && k == key
                && self.jobs.get(id).is_some_and(|other| {
                    other.job.tenant == job.tenant
                        && (other.job.state == JobState::Running
                            || (other.job.state == JobState::Queued && *id < job.id))
                })
        })
    }
}

#[async_trait]
impl Ordered for MemoryStore {
    async fn ingest_ordered(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: NewJob<'_>,
        ordering_key: &str,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.with(|s| {
            if s.inbox
                .iter()
                .any(|e| e.tenant == tenant && e.source == source && e.dedup_key == dedup_key)
            {
                return Ok(Ingested::Duplicate);
            }
            let id = s.inbox.last().map_or(1, |e| e.id + 1);
            s.inbox.push(InboxEvent {
                id,
                tenant: tenant.to_owned(),
                source: source.to_owned(),
                dedup_key: dedup_key.to_owned(),
                payload: payload.clone(),
                received_at: now(),
            });
            let existing = s
                .job_id(job.tenant, job.kind, job.key)
                .and_then(|id| s.jobs.get(&id))
                .map(|r| r.job.state);
            Ok(match existing {
                None => {
                    s.insert_job(job, now_ms);
                    s.ordering.insert(s.last_job_id, ordering_key.to_owned());
                    Ingested::Queued
                }
                Some(JobState::Queued) => Ingested::Queued,
                Some(_) => Ingested::AlreadyHandled,
            })
        })
    }

    async fn ordering_key(&self, job_id: i64) -> Result<Option<String>, StoreError> {
        self.with(|s| Ok(s.ordering.get(&job_id).cloned()))
    }
}
