//! A tenant's saved mapping versions per kind, and the transform that serves the active one.
//!
//! Versions live in the store (every node reads the same ones, like plugin activations), in
//! its per-tenant key/value rows (the sync state's cursors: `mapping-versions/KIND` is the
//! index, `mapping-version/KIND/N` each version's text), so no schema change was needed.
//! Version 0 is what the tenant's configuration serves (its transform, its `mapping.KIND`
//! setting, else the shipped default); saving adds version N+1 and activates it; activating or
//! rolling back moves the pointer, the texts are kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::mapping::Mapping;
use ferry_domain::{Context as MapContext, Document, ErrorClass, RoleError, Transform};
use ferry_store::{Store, StoreError};

/// One saved version of a tenant's mapping for a kind.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct VersionMeta {
    /// 1, 2, … in the order saved (0 is the configured mapping, never stored here).
    pub version: u32,
    /// RFC 3339 UTC.
    pub saved_at: String,
    /// The token that saved it.
    pub saved_by: String,
    /// sha256 of the text, hex.
    pub sha256: String,
}

/// Which versions a tenant has for a kind and which serves.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Index {
    /// 0: the configured mapping.
    pub active: u32,
    pub versions: Vec<VersionMeta>,
    /// The versions active before, most recent last (what a rollback goes back to).
    #[serde(default)]
    pub history: Vec<u32>,
}

fn index_stream(kind: &str) -> String {
    format!("mapping-versions/{kind}")
}

fn text_stream(kind: &str, version: u32) -> String {
    format!("mapping-version/{kind}/{version}")
}

/// One change at a time on this node (the index is read, changed and written back).
static WRITING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn index(store: &dyn Store, tenant: &str, kind: &str) -> Result<Index, StoreError> {
    match store.cursor(tenant, &index_stream(kind)).await? {
        None => Ok(Index::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Backend(format!("mapping version index of {kind}: {e}"))),
    }
}

async fn put_index(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    index: &Index,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(index)
        .map_err(|e| StoreError::Backend(format!("mapping version index: {e}")))?;
    store.set_cursor(tenant, &index_stream(kind), &text).await
}

/// A saved version's text.
pub async fn text(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    version: u32,
) -> Result<Option<String>, StoreError> {
    store.cursor(tenant, &text_stream(kind, version)).await
}

/// Stores `text` (already checked by the caller) as the next version and activates it.
pub async fn save(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    mapping_text: &str,
    saved_by: &str,
) -> Result<VersionMeta, StoreError> {
    let _one = WRITING.lock().await;
    let mut idx = index(store, tenant, kind).await?;
    let version = idx.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
    // The text first: an index never names a version whose text is missing.
    store
        .set_cursor(tenant, &text_stream(kind, version), mapping_text)
        .await?;
    let meta = VersionMeta {
        version,
        saved_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        saved_by: saved_by.to_string(),
        sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            mapping_text.as_bytes(),
        )),
    };
    idx.versions.push(meta.clone());
    idx.history.push(idx.active);
    idx.active = version;
    put_index(store, tenant, kind, &idx).await?;
    Ok(meta)
}

/// Makes `version` serve (0: the configured mapping); an unknown version is NotFound.
pub async fn activate(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    version: u32,
) -> Result<Index, StoreError> {
    let _one = WRITING.lock().await;
    let mut idx = index(store, tenant, kind).await?;
    if version != 0 && !idx.versions.iter().any(|v| v.version == version) {
        return Err(StoreError::NotFound(format!(
            "mapping version {version} of {kind} for tenant '{tenant}'"
        )));
    }
    if idx.active != version {
        idx.history.push(idx.active);
        idx.active = version;
        put_index(store, tenant, kind, &idx).await?;
    }
    Ok(idx)
}

/// Goes back to the version active before; Conflict when there is none.
pub async fn rollback(store: &dyn Store, tenant: &str, kind: &str) -> Result<Index, StoreError> {
    let _one = WRITING.lock().await;
    let mut idx = index(store, tenant, kind).await?;
    let previous = idx.history.pop().ok_or_else(|| {
        StoreError::Conflict(format!(
            "the {kind} mapping of tenant '{tenant}' has no earlier version to roll back to"
        ))
    })?;
    idx.active = previous;
    put_index(store, tenant, kind, &idx).await?;
    Ok(idx)
}

/// The active saved version and its text; None when the configured mapping serves.
pub async fn active_text(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
) -> Result<Option<(u32, String)>, StoreError> {
    let idx = index(store, tenant, kind).await?;
    if idx.active == 0 {
        return Ok(None);
    }
    let text = text(store, tenant, kind, idx.active)
        .await?
        .ok_or_else(|| {
            StoreError::Backend(format!(
                "mapping version {} of {kind} has no text",
                idx.active
            ))
        })?;
    Ok(Some((idx.active, text)))
}

/// The tenant's transform with its saved mappings first: a kind whose active version is a
/// saved one is mapped by it (natively, the engine the mapping component runs), every other
/// kind by `live`. Looked up at each call, so a save or roll back on any node serves the next
/// document.
pub struct SavedMappings {
    pub tenant: String,
    pub store: Arc<dyn Store>,
    pub live: Arc<dyn Transform>,
    parsed: Mutex<HashMap<(String, u32), Arc<Mapping>>>,
}

impl SavedMappings {
    pub fn new(tenant: &str, store: Arc<dyn Store>, live: Arc<dyn Transform>) -> Self {
        Self {
            tenant: tenant.to_string(),
            store,
            live,
            parsed: Mutex::new(HashMap::new()),
        }
    }

    async fn active(&self, kind: &str) -> Result<Option<Arc<Mapping>>, String> {
        let idx = index(&*self.store, &self.tenant, kind)
            .await
            .map_err(|e| e.to_string())?;
        if idx.active == 0 {
            return Ok(None);
        }
        let key = (kind.to_string(), idx.active);
        if let Ok(parsed) = self.parsed.lock()
            && let Some(m) = parsed.get(&key)
        {
            return Ok(Some(m.clone()));
        }
        let text = text(&*self.store, &self.tenant, kind, idx.active)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("mapping version {} of {kind} has no text", idx.active))?;
        // Checked when saved: a version that no longer parses is a defect, not input.
        let mapping = Arc::new(Mapping::parse(&text).map_err(|e| e.to_string())?);
        if let Ok(mut parsed) = self.parsed.lock() {
            parsed.insert(key, mapping.clone());
        }
        Ok(Some(mapping))
    }
}

#[async_trait::async_trait]
impl Transform for SavedMappings {
    async fn map_document(
        &self,
        kind: &str,
        input: &Document,
        context: &MapContext,
    ) -> ferry_domain::RoleResult<Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>> {
        match self.active(kind).await {
            Ok(Some(mapping)) => Ok(mapping.map(input, context)),
            Ok(None) => self.live.map_document(kind, input, context).await,
            // Never the configured mapping instead: the run waits and tries again.
            Err(e) => Err(RoleError::new(
                ErrorClass::Transient,
                format!("reading the tenant's saved {kind} mapping: {e}"),
            )
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_store::MemoryStore;

    #[tokio::test]
    async fn saving_activates_and_rollback_goes_back_to_the_version_before() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let s = &*store;
        assert_eq!(
            active_text(s, "acme", "quote-to-order").await.unwrap(),
            None
        );
        let one = save(s, "acme", "quote-to-order", "A", "tok1")
            .await
            .unwrap();
        let two = save(s, "acme", "quote-to-order", "B", "tok1")
            .await
            .unwrap();
        assert_eq!((one.version, two.version), (1, 2));
        assert_eq!(
            active_text(s, "acme", "quote-to-order").await.unwrap(),
            Some((2, "B".to_string()))
        );
        // Other tenants and kinds see none of it.
        assert_eq!(
            active_text(s, "globex", "quote-to-order").await.unwrap(),
            None
        );
        assert_eq!(
            active_text(s, "acme", "quote-to-customer").await.unwrap(),
            None
        );
        rollback(s, "acme", "quote-to-order").await.unwrap();
        assert_eq!(
            active_text(s, "acme", "quote-to-order").await.unwrap(),
            Some((1, "A".to_string()))
        );
        rollback(s, "acme", "quote-to-order").await.unwrap();
        assert_eq!(
            active_text(s, "acme", "quote-to-order").await.unwrap(),
            None
        );
        assert!(matches!(
            rollback(s, "acme", "quote-to-order").await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            activate(s, "acme", "quote-to-order", 9).await,
            Err(StoreError::NotFound(_))
        ));
        let idx = activate(s, "acme", "quote-to-order", 2).await.unwrap();
        assert_eq!(idx.active, 2);
        assert_eq!(idx.versions.len(), 2, "every version is kept");
    }
}
