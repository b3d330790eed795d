//! `Shadows` in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::StoreError;
use crate::shadows::{Shadow, ShadowRecord, Shadows};
use crate::types::now;

/// Shadows by id, and their records by (shadow, key, kind).
#[derive(Default)]
pub(super) struct Book {
    shadows: BTreeMap<i64, Shadow>,
    records: BTreeMap<(i64, String, String), ShadowRecord>,
}

impl MemoryStore {
    fn book<T>(&self, op: impl FnOnce(&mut Book) -> T) -> Result<T, StoreError> {
        let mut book = self.shadows.lock().map_err(|_| StoreError::Poisoned)?;
        Ok(op(&mut book))
    }
}

fn end(book: &mut Book, tenant: &str, role: &str, outcome: &str) -> Option<Shadow> {
    let s = book
        .shadows
        .values_mut()
        .find(|s| s.tenant == tenant && s.role == role && s.ended_at.is_none())?;
    s.ended_at = Some(now());
    s.outcome = Some(outcome.to_string());
    Some(s.clone())
}

#[async_trait]
impl Shadows for MemoryStore {
    async fn start_shadow(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
        live_digest: &str,
    ) -> Result<Shadow, StoreError> {
        self.book(|book| {
            end(book, tenant, role, "replaced");
            let id = book.shadows.keys().next_back().map_or(1, |k| k + 1);
            let s = Shadow {
                id,
                tenant: tenant.to_string(),
                role: role.to_string(),
                digest: digest.to_string(),
                live_digest: live_digest.to_string(),
                started_at: now(),
                ended_at: None,
                outcome: None,
            };
            book.shadows.insert(id, s.clone());
            s
        })
    }

    async fn end_shadow(
        &self,
        tenant: &str,
        role: &str,
        outcome: &str,
    ) -> Result<Option<Shadow>, StoreError> {
        self.book(|book| end(book, tenant, role, outcome))
    }

    async fn shadows(&self, tenant: Option<&str>) -> Result<Vec<Shadow>, StoreError> {
        self.book(|book| {
            book.shadows
                .values()
                .rev()
                .filter(|s| tenant.is_none_or(|t| s.tenant == t))
                .cloned()
                .collect()
        })
    }

    async fn record_shadow(&self, record: &ShadowRecord) -> Result<(), StoreError> {
        self.book(|book| {
            let key = (record.shadow_id, record.key.clone(), record.kind.clone());
            book.records.insert(key, record.clone());
        })
    }

    async fn shadow_records(&self, shadow_id: i64) -> Result<Vec<ShadowRecord>, StoreError> {
        self.book(|book| {
            book.records
                .range((shadow_id, String::new(), String::new())..)
                .take_while(|((id, _, _), _)| *id == shadow_id)
                .map(|(_, r)| r.clone())
                .collect()
        })
    }
}
