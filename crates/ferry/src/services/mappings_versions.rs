//! A tenant's saved mapping versions per kind, and the transform that serves the active one.
//!
//! Versions live in the store (every node reads the same ones, like plugin activations), in
//! its per-tenant key/value rows (the sync state's cursors: `mapping-versions/KIND` is the
//! index, `mapping-text/KIND/SHA256` each version's text by its content), so no schema change
//! was needed. Nodes change the index by compare-and-replace (read, change, replace only if
//! unchanged, else again), so two saves at once on two nodes make two versions, each with its
//! own text.
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

fn text_stream(kind: &str, sha256: &str) -> String {
    format!("mapping-text/{kind}/{sha256}")
}

/// Where binaries before compare-and-replace kept a version's text (by its number).
fn numbered_text_stream(kind: &str, version: u32) -> String {
    format!("mapping-version/{kind}/{version}")
}

fn parse(kind: &str, text: Option<&str>) -> Result<Index, StoreError> {
    match text {
        None => Ok(Index::default()),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| StoreError::Backend(format!("mapping version index of {kind}: {e}"))),
    }
}

pub async fn index(store: &dyn Store, tenant: &str, kind: &str) -> Result<Index, StoreError> {
    parse(
        kind,
        store.cursor(tenant, &index_stream(kind)).await?.as_deref(),
    )
}

/// Reads the index, applies `change` and replaces the index only if no one changed it since
/// it was read (else reads it again): changes made at once on several nodes each land once.
async fn change_index<T>(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    change: impl Fn(&mut Index) -> Result<T, StoreError>,
) -> Result<(Index, T), StoreError> {
    let stream = index_stream(kind);
    loop {
        let read = store.cursor(tenant, &stream).await?;
        let mut idx = parse(kind, read.as_deref())?;
        let out = change(&mut idx)?;
        let text = serde_json::to_string(&idx)
            .map_err(|e| StoreError::Backend(format!("mapping version index: {e}")))?;
        if read.as_deref() == Some(text.as_str())
            || store
                .replace_cursor(tenant, &stream, read.as_deref(), &text)
                .await?
        {
            return Ok((idx, out));
        }
    }
}

/// A saved version's text.
pub async fn text(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    version: u32,
) -> Result<Option<String>, StoreError> {
    let idx = index(store, tenant, kind).await?;
    text_in(store, tenant, kind, &idx, version).await
}

/// A version's text, the index read already.
async fn text_in(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    idx: &Index,
    version: u32,
) -> Result<Option<String>, StoreError> {
    let Some(meta) = idx.versions.iter().find(|v| v.version == version) else {
        return Ok(None);
    };
    match store
        .cursor(tenant, &text_stream(kind, &meta.sha256))
        .await?
    {
        Some(text) => Ok(Some(text)),
        None => {
            store
                .cursor(tenant, &numbered_text_stream(kind, version))
                .await
        }
    }
}

/// Stores `text` (already checked by the caller) as the next version and activates it.
pub async fn save(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    mapping_text: &str,
    saved_by: &str,
) -> Result<VersionMeta, StoreError> {
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        mapping_text.as_bytes(),
    ));
    // The text first, under its content: an index never names a version whose text is
    // missing, and a save racing this one can't overwrite it.
    store
        .set_cursor(tenant, &text_stream(kind, &sha256), mapping_text)
        .await?;
    let saved_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (_, meta) = change_index(store, tenant, kind, |idx| {
        let meta = VersionMeta {
            version: idx.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1,
            saved_at: saved_at.clone(),
            saved_by: saved_by.to_string(),
            sha256: sha256.clone(),
        };
        idx.versions.push(meta.clone());
        idx.history.push(idx.active);
        idx.active = meta.version;
        Ok(meta)
    })
    .await?;
    Ok(meta)
}

/// Makes `version` serve (0: the configured mapping); an unknown version is NotFound.
pub async fn activate(
    store: &dyn Store,
    tenant: &str,
    kind: &str,
    version: u32,
) -> Result<Index, StoreError> {
    let (idx, ()) = change_index(store, tenant, kind, |idx| {
        if version != 0 && !idx.versions.iter().any(|v| v.version == version) {
            return Err(StoreError::NotFound(format!(
                "mapping version {version} of {kind} for tenant '{tenant}'"
            )));
        }
        if idx.active != version {
            idx.history.push(idx.active);
            idx.active = version;
        }
        Ok(())
    })
    .await?;
    Ok(idx)
}

/// Goes back to the version active before; Conflict when there is none.
pub async fn rollback(store: &dyn Store, tenant: &str, kind: &str) -> Result<Index, StoreError> {
    let (idx, ()) = change_index(store, tenant, kind, |idx| {
        let previous = idx.history.pop().ok_or_else(|| {
            StoreError::Conflict(format!(
                "the {kind} mapping of tenant '{tenant}' has no earlier version to roll back to"
            ))
        })?;
        idx.active = previous;
        Ok(())
    })
    .await?;
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
    let text = text_in(store, tenant, kind, &idx, idx.active)
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

    /// The saved version looked up once for the whole batch (a catalog page), not per item.
    async fn map_documents(
        &self,
        kind: &str,
        inputs: &[Document],
        context: &MapContext,
    ) -> ferry_domain::RoleResult<Vec<Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>>> {
        match self.active(kind).await {
            Ok(Some(mapping)) => Ok(inputs.iter().map(|i| mapping.map(i, context)).collect()),
            Ok(None) => self.live.map_documents(kind, inputs, context).await,
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
    use ferry_store::{MemoryStore, SyncState};

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

    /// Two nodes (two handles on one database) saving at once: each save is its own version
    /// with its own text, none lost or overwritten (the index is changed by compare-and-
    /// replace; a lock in one process could not order two processes).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn saves_on_two_nodes_at_once_make_a_version_each_with_its_own_text() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("shared.sqlite");
        let mut nodes: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..2 {
            nodes.push(Arc::new(
                ferry_store::SqliteStore::open(&db).await.expect("store"),
            ));
        }
        let saves: Vec<_> = (0..12)
            .map(|i| {
                let store = nodes[i % 2].clone();
                tokio::spawn(async move {
                    let text = format!("mapping {i}");
                    let meta = save(&*store, "acme", "quote-to-order", &text, "t")
                        .await
                        .expect("save");
                    (meta.version, text)
                })
            })
            .collect();
        let mut saved = Vec::new();
        for s in saves {
            saved.push(s.await.expect("task"));
        }
        let idx = index(&*nodes[0], "acme", "quote-to-order")
            .await
            .expect("index");
        let mut numbers: Vec<u32> = idx.versions.iter().map(|v| v.version).collect();
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=12).collect::<Vec<u32>>(),
            "a version per save"
        );
        for (version, text) in saved {
            assert_eq!(
                super::text(&*nodes[1], "acme", "quote-to-order", version)
                    .await
                    .expect("text")
                    .as_deref(),
                Some(text.as_str()),
                "version {version} keeps its own text"
            );
        }
    }

    /// Texts saved by binaries before compare-and-replace (kept by version number) still read.
    #[tokio::test]
    async fn a_version_saved_by_an_older_binary_keeps_its_text() {
        let store = MemoryStore::new();
        let idx = Index {
            active: 1,
            versions: vec![VersionMeta {
                version: 1,
                saved_at: "2026-12-01T00:00:00.000Z".into(),
                saved_by: "t".into(),
                sha256: "0".repeat(64),
            }],
            history: vec![0],
        };
        store
            .set_cursor(
                "acme",
                &index_stream("quote-to-order"),
                &serde_json::to_string(&idx).expect("json"),
            )
            .await
            .expect("index");
        store
            .set_cursor("acme", "mapping-version/quote-to-order/1", "OLD")
            .await
            .expect("text");
        assert_eq!(
            active_text(&store, "acme", "quote-to-order")
                .await
                .expect("read"),
            Some((1, "OLD".to_string()))
        );
    }
}
