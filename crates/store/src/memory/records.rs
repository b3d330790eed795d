//! `Inbox`, `Links`, `Audit`, `SyncState` and `Activations` in memory.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{AuditRow, MemoryStore, key3};
use crate::StoreError;
use crate::traits::{Activations, Audit, Inbox, Links, SyncState};
use crate::types::{
    Activation, AuditEntry, InboxEvent, Ingested, Install, JobState, Link, NewEvent, NewJob, now,
};

impl super::State {
    /// Stores an inbound event unless its (tenant, source, id) was seen; returns whether new.
    fn record_event(
        &mut self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
    ) -> bool {
        if self
            .inbox
            .iter()
            .any(|e| e.tenant == tenant && e.source == source && e.dedup_key == dedup_key)
        {
            return false;
        }
        let id = self.inbox.last().map_or(1, |e| e.id + 1);
        self.inbox.push(InboxEvent {
            id,
            tenant: tenant.to_owned(),
            source: source.to_owned(),
            dedup_key: dedup_key.to_owned(),
            payload: payload.clone(),
            received_at: now(),
        });
        true
    }
}

#[async_trait]
impl Inbox for MemoryStore {
    async fn ingest(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
        payload: &Json,
        job: Option<NewJob<'_>>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.with(|s| {
            if !s.record_event(tenant, source, dedup_key, payload) {
                return Ok(Ingested::Duplicate);
            }
            let Some(job) = job else {
                return Ok(Ingested::Stored);
            };
            let existing = s
                .job_id(job.tenant, job.kind, job.key)
                .and_then(|id| s.jobs.get(&id))
                .map(|r| r.job.state);
            Ok(match existing {
                None => {
                    s.insert_job(job, now_ms);
                    Ingested::Queued
                }
                Some(JobState::Queued) => Ingested::Queued,
                Some(_) => Ingested::AlreadyHandled,
            })
        })
    }

    async fn rerun(
        &self,
        event: Option<NewEvent<'_>>,
        job: NewJob<'_>,
        now_ms: i64,
    ) -> Result<Ingested, StoreError> {
        self.with(|s| {
            if let Some(e) = event
                && !s.record_event(job.tenant, e.source, e.dedup_key, e.payload)
            {
                return Ok(Ingested::Duplicate);
            }
            let Some(row) = s
                .job_id(job.tenant, job.kind, job.key)
                .and_then(|id| s.jobs.get_mut(&id))
            else {
                s.insert_job(job, now_ms);
                return Ok(Ingested::Queued);
            };
            match row.job.state {
                JobState::Done | JobState::Held | JobState::Dead => {
                    row.job.state = JobState::Queued;
                    row.job.step = "received".into();
                    row.job.checkpoint = job.checkpoint;
                    row.job.attempts = 0;
                    row.job.hold_reason = None;
                    // Running again: no longer closed by hand.
                    row.job.resolved_at = None;
                    row.job.run_at_ms = now_ms;
                    row.scheduled_at = Some(now_ms);
                }
                // Runs once more after it ends (see `finish`).
                JobState::Running => {
                    row.job.checkpoint = job.checkpoint;
                    row.job.run_at_ms = (row.job.run_at_ms + 1).max(now_ms);
                }
                JobState::Queued => {}
            }
            row.job.updated_at = now();
            Ok(Ingested::Queued)
        })
    }

    async fn replace_queued(&self, job: NewJob<'_>, now_ms: i64) -> Result<bool, StoreError> {
        self.with(|s| {
            let Some(row) = s
                .job_id(job.tenant, job.kind, job.key)
                .and_then(|id| s.jobs.get_mut(&id))
                .filter(|row| row.job.state == JobState::Queued)
            else {
                return Ok(false);
            };
            row.job.step = "received".into();
            row.job.checkpoint = job.checkpoint;
            row.job.attempts = 0;
            row.job.run_at_ms = now_ms;
            row.scheduled_at = Some(now_ms);
            row.job.updated_at = now();
            Ok(true)
        })
    }

    async fn event(
        &self,
        tenant: &str,
        source: &str,
        dedup_key: &str,
    ) -> Result<Option<InboxEvent>, StoreError> {
        self.with(|s| {
            Ok(s.inbox
                .iter()
                .find(|e| e.tenant == tenant && e.source == source && e.dedup_key == dedup_key)
                .cloned())
        })
    }

    async fn events(
        &self,
        tenant: Option<&str>,
        limit: usize,
    ) -> Result<Vec<InboxEvent>, StoreError> {
        self.with(|s| {
            Ok(s.inbox
                .iter()
                .rev()
                .filter(|e| tenant.is_none_or(|t| e.tenant == t))
                .take(limit)
                .cloned()
                .collect())
        })
    }
}

#[async_trait]
impl Links for MemoryStore {
    async fn link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
    ) -> Result<Option<Link>, StoreError> {
        self.with(|s| Ok(s.links.get(&key3(tenant, kind, local_id)).cloned()))
    }

    async fn put_link(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        remote_id: &str,
        state: Option<&str>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.upsert_link(tenant, kind, local_id, remote_id, state);
            Ok(())
        })
    }

    async fn links_by_remote(
        &self,
        tenant: &str,
        kind: &str,
        remote_id: &str,
    ) -> Result<Vec<Link>, StoreError> {
        self.with(|s| {
            // The map is ordered by (tenant, kind, local id): already by local id.
            Ok(s.links
                .values()
                .filter(|l| l.tenant == tenant && l.kind == kind && l.remote_id == remote_id)
                .cloned()
                .collect())
        })
    }

    async fn set_link_state(
        &self,
        tenant: &str,
        kind: &str,
        local_id: &str,
        state: &str,
    ) -> Result<bool, StoreError> {
        self.with(|s| {
            let Some(link) = s.links.get_mut(&key3(tenant, kind, local_id)) else {
                return Ok(false);
            };
            link.state = Some(state.to_owned());
            link.updated_at = now();
            Ok(true)
        })
    }

    async fn open_links(
        &self,
        tenant: &str,
        kind: &str,
        closed: &[String],
    ) -> Result<Vec<Link>, StoreError> {
        self.with(|s| {
            let mut open: Vec<Link> = s
                .links
                .values()
                .filter(|l| l.tenant == tenant && l.kind == kind)
                .filter(|l| l.state.as_ref().is_some_and(|st| !closed.contains(st)))
                .cloned()
                .collect();
            open.sort_by(|a, b| (&a.updated_at, &a.local_id).cmp(&(&b.updated_at, &b.local_id)));
            Ok(open)
        })
    }
}

#[async_trait]
impl Audit for MemoryStore {
    async fn audit(
        &self,
        tenant: &str,
        kind: &str,
        key: &str,
        step: &str,
        message: &str,
        data: &Json,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            let job_id = s.job_id(tenant, kind, key).unwrap_or(0);
            s.audit.push(AuditRow {
                tenant: tenant.to_owned(),
                key: key.to_owned(),
                entry: AuditEntry {
                    at: now(),
                    job_id,
                    step: step.to_owned(),
                    message: message.to_owned(),
                    data: data.clone(),
                },
            });
            Ok(())
        })
    }

    async fn trail(&self, tenant: &str, key: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.with(|s| {
            Ok(s.audit
                .iter()
                .filter(|a| a.tenant == tenant && a.key == key)
                .map(|a| a.entry.clone())
                .collect())
        })
    }
}

#[async_trait]
impl SyncState for MemoryStore {
    async fn cursor(&self, tenant: &str, stream: &str) -> Result<Option<String>, StoreError> {
        self.with(|s| {
            Ok(s.cursors
                .get(&(tenant.to_owned(), stream.to_owned()))
                .cloned())
        })
    }

    async fn set_cursor(&self, tenant: &str, stream: &str, cursor: &str) -> Result<(), StoreError> {
        self.with(|s| {
            s.cursors
                .insert((tenant.to_owned(), stream.to_owned()), cursor.to_owned());
            Ok(())
        })
    }

    async fn replace_cursor(
        &self,
        tenant: &str,
        stream: &str,
        expected: Option<&str>,
        cursor: &str,
    ) -> Result<bool, StoreError> {
        self.with(|s| {
            let key = (tenant.to_owned(), stream.to_owned());
            if s.cursors.get(&key).map(String::as_str) != expected {
                return Ok(false);
            }
            s.cursors.insert(key, cursor.to_owned());
            Ok(true)
        })
    }

    async fn content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.with(|s| Ok(s.hashes.get(&key3(tenant, entity_kind, key)).cloned()))
    }

    async fn set_content_hash(
        &self,
        tenant: &str,
        entity_kind: &str,
        key: &str,
        hash: &str,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.hashes
                .insert(key3(tenant, entity_kind, key), hash.to_owned());
            Ok(())
        })
    }

    async fn content_hashes(
        &self,
        tenant: &str,
        entity_kind: &str,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        self.with(|s| {
            Ok(keys
                .iter()
                .filter_map(|key| {
                    s.hashes
                        .get(&key3(tenant, entity_kind, key))
                        .map(|hash| (key.clone(), hash.clone()))
                })
                .collect())
        })
    }

    async fn set_content_hashes(
        &self,
        tenant: &str,
        entity_kind: &str,
        entries: &[(String, String)],
    ) -> Result<(), StoreError> {
        // One lock held for all of them: no reader sees half the batch.
        self.with(|s| {
            for (key, hash) in entries {
                s.hashes
                    .insert(key3(tenant, entity_kind, key), hash.clone());
            }
            Ok(())
        })
    }
}

/// A role's live activations, newest first: the first serves, the second is a rollback away.
fn live(activations: &[(Activation, bool)], tenant: &str, role: &str) -> Vec<Activation> {
    activations
        .iter()
        .rev()
        .filter(|(a, retired)| !retired && a.tenant == tenant && a.role == role)
        .map(|(a, _)| a.clone())
        .collect()
}

#[async_trait]
impl Activations for MemoryStore {
    async fn record_install(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if !s
                .installs
                .iter()
                .any(|i| i.tenant == tenant && i.role == role && i.digest == digest)
            {
                s.installs.push(Install {
                    tenant: tenant.to_owned(),
                    role: role.to_owned(),
                    digest: digest.to_owned(),
                    installed_at: now(),
                });
            }
            Ok(())
        })
    }

    async fn installs(&self, tenant: Option<&str>) -> Result<Vec<Install>, StoreError> {
        self.with(|s| {
            let mut all: Vec<Install> = s
                .installs
                .iter()
                .filter(|i| tenant.is_none_or(|t| i.tenant == t))
                .cloned()
                .collect();
            // Stable: installs of the same millisecond keep their order.
            all.sort_by(|a, b| {
                (&a.tenant, &a.role, &a.installed_at).cmp(&(&b.tenant, &b.role, &b.installed_at))
            });
            Ok(all)
        })
    }

    async fn activate(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
    ) -> Result<Activation, StoreError> {
        self.with(|s| {
            if !s
                .installs
                .iter()
                .any(|i| i.tenant == tenant && i.role == role && i.digest == digest)
            {
                return Err(StoreError::NotFound(format!(
                    "{digest} is not installed for tenant '{tenant}' role {role}"
                )));
            }
            if let Some(current) = live(&s.activations, tenant, role).into_iter().next()
                && current.digest == digest
            {
                return Ok(current);
            }
            let seq = s.activations.last().map_or(1, |(a, _)| a.seq + 1);
            let activation = Activation {
                seq,
                tenant: tenant.to_owned(),
                role: role.to_owned(),
                digest: digest.to_owned(),
                activated_at: now(),
            };
            s.activations.push((activation.clone(), false));
            Ok(activation)
        })
    }

    async fn rollback(&self, tenant: &str, role: &str) -> Result<Activation, StoreError> {
        self.with(|s| {
            let live = live(&s.activations, tenant, role);
            let [current, previous, ..] = live.as_slice() else {
                return Err(StoreError::Conflict(format!(
                    "tenant '{tenant}' role {role} has no earlier activation to roll back to"
                )));
            };
            if let Some(entry) = s.activations.iter_mut().find(|(a, _)| a.seq == current.seq) {
                entry.1 = true;
            }
            Ok(previous.clone())
        })
    }

    async fn previous(&self, tenant: &str, role: &str) -> Result<Option<Activation>, StoreError> {
        self.with(|s| Ok(live(&s.activations, tenant, role).into_iter().nth(1)))
    }

    async fn active(&self) -> Result<Vec<Activation>, StoreError> {
        self.with(|s| {
            let mut newest: std::collections::BTreeMap<(String, String), Activation> =
                Default::default();
            for (a, retired) in &s.activations {
                if !retired {
                    // In seq order: a later live one replaces an earlier one.
                    newest.insert((a.tenant.clone(), a.role.clone()), a.clone());
                }
            }
            Ok(newest.into_values().collect())
        })
    }

    async fn generation(&self) -> Result<i64, StoreError> {
        // Every activation adds one and every rollback retires one: the sum only grows.
        self.with(|s| {
            let retired = s.activations.iter().filter(|(_, r)| *r).count();
            Ok(i64::try_from(s.activations.len() + retired).unwrap_or(i64::MAX))
        })
    }

    async fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.with(|s| {
            s.blobs
                .entry(digest.to_owned())
                .or_insert_with(|| bytes.to_vec());
            Ok(())
        })
    }

    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|s| Ok(s.blobs.get(digest).cloned()))
    }

    async fn put_plugin_file(
        &self,
        digest: &str,
        tenant: &str,
        name: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            s.plugin_files
                .insert(key3(digest, tenant, name), text.to_owned());
            Ok(())
        })
    }

    async fn plugin_files(
        &self,
        digest: &str,
        tenant: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|s| {
            Ok(s.plugin_files
                .iter()
                .filter(|((d, t, _), _)| d == digest && t == tenant)
                .map(|((_, _, name), text)| (name.clone(), text.clone()))
                .collect())
        })
    }
}
