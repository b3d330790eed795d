//! The shadow hook: the tenant's transform, and beside it, while a shadow of the transform
//! role runs, the candidate component on the same input. The live answer is what the flow
//! gets; the candidate's is only compared and recorded (`ferry plugin shadow report`), never
//! returned, so nothing it maps reaches the ERP.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_domain::{Context, Document, Issue, Mapped, RoleResult, Transform};
use ferry_store::{ShadowRecord, Store};
use serde_json::{Value as Json, json};

use crate::runtime::{Grants, Plugin, PluginSource, Registry, Role, Runtime};

/// The live transform, shadowed by the tenant's running shadow (if any).
pub struct ShadowedTransform {
    pub tenant: String,
    pub live: Arc<dyn Transform>,
    pub store: Arc<dyn Store>,
    pub registry: Arc<Registry>,
    /// What the candidate is given: the live transform's grants (it sends nothing).
    pub grants: Arc<Grants>,
    /// The loaded candidate, by digest (loaded once per shadow, not per call).
    pub loaded: LoadedCandidate,
}

/// The loaded candidate by digest, shared by every `ShadowedTransform` of one tenant.
pub type LoadedCandidate = Arc<Mutex<Option<(String, Arc<dyn Transform>)>>>;

/// A source that serves the candidate component as its role.
struct Candidate {
    runtime: Arc<Runtime>,
    role: Role,
    plugin: Arc<Plugin>,
    grants: Arc<Grants>,
}

impl PluginSource for Candidate {
    fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }
    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, String> {
        if role == self.role {
            Ok(self.plugin.clone())
        } else {
            Err(format!("a {} candidate serves no {role}", self.role))
        }
    }
    fn grants(&self, _role: Role) -> Arc<Grants> {
        self.grants.clone()
    }
}

/// What a transform answered, as recorded: the mapped document, the issues, or the failure.
pub fn answer_json(answer: &RoleResult<Result<Mapped, Vec<Issue>>>) -> Json {
    match answer {
        Ok(Ok(mapped)) => serde_json::to_value(&mapped.document).unwrap_or(Json::Null),
        Ok(Err(issues)) => json!({ "issues": issues }),
        Err(e) => json!({ "failed": e.to_string() }),
    }
}

/// The run a document belongs to: its id, else its `DocNo`.
fn run_key(input: &Document) -> String {
    input
        .id
        .clone()
        .or_else(|| input.get("DocNo").map(|v| format!("{v:?}")))
        .unwrap_or_else(|| "-".into())
}

/// The transform an installed component serves with `grants` (kinds it does not map fall
/// back to the shipped defaults, as for the live one); compiled off the reactor. Shadow runs
/// and replays load their candidate this way.
pub(crate) async fn load_transform(
    registry: &Registry,
    digest: &str,
    grants: Arc<Grants>,
) -> Result<Arc<dyn Transform>, String> {
    Ok(load_roles(registry, digest, Role::Transform, grants)
        .await?
        .transform)
}

/// The roles an installed component serves as `role` with `grants` (the other roles answer
/// that they have no plugin); compiled off the reactor. A connector's shadow picks its own.
pub(crate) async fn load_roles(
    registry: &Registry,
    digest: &str,
    role: Role,
    grants: Arc<Grants>,
) -> Result<ferry_domain::Roles, String> {
    let bytes = registry.fetch(digest).await.map_err(|e| e.to_string())?;
    let runtime = registry.runtime().clone();
    let loader = runtime.clone();
    // Compiling is CPU-bound: off the reactor.
    let plugin = tokio::task::spawn_blocking(move || loader.load(&bytes, Some(role)))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let source = Candidate {
        runtime,
        role,
        plugin: Arc::new(plugin),
        grants,
    };
    Ok(crate::runtime::roles::roles_with_default_transform(
        Arc::new(source),
        Arc::new(crate::mapping::DefaultMappings),
    ))
}

impl ShadowedTransform {
    async fn candidate(&self, digest: &str) -> Result<Arc<dyn Transform>, String> {
        if let Ok(loaded) = self.loaded.lock()
            && let Some((d, t)) = loaded.as_ref()
            && d == digest
        {
            return Ok(t.clone());
        }
        let transform = load_transform(&self.registry, digest, self.grants.clone()).await?;
        if let Ok(mut loaded) = self.loaded.lock() {
            *loaded = Some((digest.to_string(), transform.clone()));
        }
        Ok(transform)
    }

    /// The tenant's running transform shadow, read at each call (or batch): a shadow started
    /// a moment ago sees the next document.
    async fn running(&self) -> Result<Option<ferry_store::Shadow>, String> {
        let shadows = self
            .store
            .shadows(Some(&self.tenant))
            .await
            .map_err(|e| e.to_string())?;
        Ok(shadows
            .into_iter()
            .find(|s| s.role == Role::Transform.as_str() && s.ended_at.is_none()))
    }

    /// Runs the candidate on the same call and records both answers; any failure here is
    /// logged and recorded, never passed to the flow.
    async fn shadow(
        &self,
        kind: &str,
        input: &Document,
        context: &Context,
        live: &RoleResult<Result<Mapped, Vec<Issue>>>,
    ) -> Result<(), String> {
        let Some(running) = self.running().await? else {
            return Ok(());
        };
        let shadow = match self.candidate(&running.digest).await {
            Ok(t) => answer_json(&t.map_document(kind, input, context).await),
            Err(e) => json!({ "failed": format!("loading the candidate: {e}") }),
        };
        let live = answer_json(live);
        let record = ShadowRecord {
            shadow_id: running.id,
            kind: kind.to_string(),
            key: run_key(input),
            agree: live == shadow,
            live,
            shadow,
            recorded_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        self.store
            .record_shadow(&record)
            .await
            .map_err(|e| e.to_string())
    }
}

#[async_trait]
impl Transform for ShadowedTransform {
    async fn map_document(
        &self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> RoleResult<Result<Mapped, Vec<Issue>>> {
        let live = self.live.map_document(kind, input, context).await;
        if let Err(e) = self.shadow(kind, input, context, &live).await {
            tracing::warn!(tenant = %self.tenant, kind, "shadow run not recorded: {e}");
        }
        live
    }

    /// While a shadow runs, one by one (each input compared); else the live batch.
    async fn map_documents(
        &self,
        kind: &str,
        inputs: &[Document],
        context: &Context,
    ) -> RoleResult<Vec<Result<Mapped, Vec<Issue>>>> {
        // Read once for the batch (a catalog page), not per item. Unread, go one by one: the
        // per-call path records its own failure to read.
        if !matches!(self.running().await, Ok(None)) {
            return ferry_domain::map_each(self, kind, inputs, context).await;
        }
        self.live.map_documents(kind, inputs, context).await
    }
}
