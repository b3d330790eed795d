//! Replay: past quote-to-order runs through a new mapping (a mapping file's text) or an
//! installed transform component. A dry run maps each run's recorded quote again and diffs the
//! result, field by field ([`shadow::diff`]), against the order the run sent; nothing is sent
//! or stored. `post` re-queues the selected runs that have no ERP order yet, so the flow runs
//! them again; a run whose quote already has its order is skipped, never ordered again.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;
use utoipa::ToSchema;

use super::run_query::{self, RunQuery};
use super::shadow::{self, Change};
use super::{Context, ServiceError, journeys, plugins};
use crate::flows::quote_to_order::{Checkpoint, KIND};
use crate::flows::status::ORDER_LINK;
use crate::mapping::Mapping;
use crate::runtime::Role;
use ferry_domain::{Document, Transform};
use ferry_store::{Job, NewJob};

/// The tenant transform setting the shipped mapping component reads its order mapping from.
const MAPPING_SETTING: &str = "mapping.quote-to-order";

/// The new version the runs are replayed through.
#[derive(Debug, Clone)]
pub enum Version {
    /// A declarative quote-to-order mapping (the file's TOML text).
    Mapping(String),
    /// An installed transform component of the tenant: its digest or a unique prefix.
    Plugin(String),
}

/// Which runs, through what, and whether to re-post them.
#[derive(Debug, Clone)]
pub struct Request {
    /// Status, time range and flow (only quote-to-order runs can be replayed).
    pub query: RunQuery,
    /// Only these quotes (number or id, order reference or ERP order number); empty: all.
    pub quotes: Vec<String>,
    pub version: Version,
    pub post: bool,
}

/// What a replay found, per run and in sum.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    pub tenant: String,
    /// The version replayed: `mapping` or `plugin sha256:…`.
    pub version: String,
    /// Whether the runs were re-posted (false: a dry run, nothing sent).
    pub post: bool,
    pub selected: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// Runs the new version could not map (call failed, mapping refused it, nothing recorded).
    pub failed: usize,
    /// Re-posted: queued to run again.
    pub requeued: usize,
    /// Not re-posted because the quote already has its ERP order.
    pub skipped: usize,
    pub runs: Vec<RunReplay>,
}

/// One run replayed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunReplay {
    /// The run's key (the quote's id).
    pub run: String,
    pub quote_number: Option<String>,
    /// The run's state when selected (queued, running, held, done, dead).
    pub status: String,
    /// `changed`, `unchanged` or `failed`.
    pub outcome: String,
    /// Why it failed, or what was odd about it.
    pub reason: Option<String>,
    /// Each field the new version maps differently from what was sent.
    pub changes: Vec<FieldChange>,
    /// The ERP order the quote already has.
    pub order_number: Option<String>,
    /// With `post`: `requeued`, or `skipped` (it already has its order).
    pub posted: Option<String>,
}

/// One path of the order where what was sent and what the new version maps differ.
#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct FieldChange {
    /// `fields.NAME.text`, `lines[2].fields.NAME.decimal`, …
    pub path: String,
    #[schema(value_type = Option<Object>)]
    pub sent: Option<Json>,
    #[schema(value_type = Option<Object>)]
    pub replayed: Option<Json>,
}

impl From<Change> for FieldChange {
    fn from(c: Change) -> Self {
        FieldChange {
            path: c.path,
            sent: c.live,
            replayed: c.shadow,
        }
    }
}

/// The new version, ready to map, and how to name it.
struct Loaded {
    transform: Arc<dyn Transform>,
    label: String,
    /// Whether the tenant serves this version now (re-posting maps with what it serves).
    served: bool,
    /// The transform settings a mapping reads as `setting.X`.
    settings: Vec<(String, String)>,
}

/// Replays the runs `req` selects (see the module's doc).
pub async fn replay(ctx: &Context, tenant: &str, req: &Request) -> Result<Report, ServiceError> {
    ctx.tenant(tenant)?;
    if let Some(flow) = req.query.flow.as_deref().filter(|f| *f != KIND) {
        return Err(ServiceError::Input(format!(
            "replay covers the {KIND} flow only (not {flow})"
        )));
    }
    let jobs = select(ctx, tenant, req).await?;
    let loaded = load(ctx, tenant, &req.version).await?;
    let store = ctx.open_store().await?;
    let mut runs = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let mut run = compare(&loaded, tenant, job).await;
        if run.order_number.is_none() {
            run.order_number = store
                .link(tenant, ORDER_LINK, &job.key)
                .await?
                .map(|l| l.remote_id);
        }
        runs.push(run);
    }
    if req.post {
        post(ctx, tenant, &loaded, &jobs, &mut runs).await?;
    }
    let count = |o: &str| runs.iter().filter(|r| r.outcome == o).count();
    let posted = |p: &str| {
        runs.iter()
            .filter(|r| r.posted.as_deref() == Some(p))
            .count()
    };
    Ok(Report {
        tenant: tenant.to_string(),
        version: loaded.label,
        post: req.post,
        selected: runs.len(),
        changed: count("changed"),
        unchanged: count("unchanged"),
        failed: count("failed"),
        requeued: posted("requeued"),
        skipped: posted("skipped"),
        runs,
    })
}

/// The runs the filter and the quote list select; a listed quote no run names is an error.
async fn select(ctx: &Context, tenant: &str, req: &Request) -> Result<Vec<Job>, ServiceError> {
    let mut query = req.query.clone();
    query.flow = Some(KIND.to_string());
    let jobs = run_query::find(ctx, tenant, &query).await?;
    if req.quotes.is_empty() {
        return Ok(jobs);
    }
    if let Some(missing) = req
        .quotes
        .iter()
        .find(|q| !jobs.iter().any(|j| journeys::names(j, q)))
    {
        return Err(ServiceError::Input(format!(
            "no {KIND} run of tenant '{tenant}' matching the filter names quote '{missing}'"
        )));
    }
    Ok(jobs
        .into_iter()
        .filter(|j| req.quotes.iter().any(|q| journeys::names(j, q)))
        .collect())
}

/// The version as a transform: a mapping natively (the engine the mapping component runs), a
/// component with the grants and settings it would be served with.
async fn load(ctx: &Context, tenant: &str, version: &Version) -> Result<Loaded, ServiceError> {
    let registry = plugins::open_registry(ctx).await?;
    let base = ctx.config.plugin_grants(tenant, Role::Transform)?;
    let active = registry.active(tenant, Role::Transform);
    // A mapping version saved from the console or admin API serves the kind before the
    // transform's setting or component does.
    let store = ctx.open_store().await?;
    let saved = super::mappings_versions::active_text(store.as_ref(), tenant, KIND).await?;
    match version {
        Version::Mapping(text) => {
            let mapping = Mapping::parse(text)
                .map_err(|e| ServiceError::Input(format!("not a valid mapping: {e}")))?;
            if mapping.kind() != KIND {
                return Err(ServiceError::Input(format!(
                    "the mapping is for '{}', replay needs a {KIND} mapping",
                    mapping.kind()
                )));
            }
            let settings = match &active {
                Some(a) => {
                    super::packages::serving_grants(&registry, tenant, &a.digest, &base).settings
                }
                None => base.settings.clone(),
            };
            let served = match &saved {
                Some((_, serving)) => serving.trim() == text.trim(),
                None => settings
                    .get(MAPPING_SETTING)
                    .is_some_and(|s| s.trim() == text.trim()),
            };
            Ok(Loaded {
                transform: Arc::new(NativeMapping(mapping)),
                label: "mapping".into(),
                served,
                settings: settings.into_iter().collect(),
            })
        }
        Version::Plugin(prefix) => {
            let prefix = prefix.trim().trim_start_matches("sha256:");
            let matches: Vec<String> = registry
                .list(Some(tenant))
                .await?
                .into_iter()
                .filter(|r| r.role == Role::Transform.as_str() && r.digest.starts_with(prefix))
                .map(|r| r.digest)
                .collect();
            let digest = match matches.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ServiceError::Input(format!(
                        "no transform component {prefix} installed for tenant '{tenant}' (ferry plugin install FILE --tenant {tenant} --role transform)"
                    )));
                }
                many => {
                    return Err(ServiceError::Input(format!(
                        "'{prefix}' matches several components: {}",
                        many.join(", ")
                    )));
                }
            };
            let grants = Arc::new(super::packages::serving_grants(
                &registry, tenant, &digest, &base,
            ));
            let transform = super::shadow_run::load_transform(&registry, &digest, grants.clone())
                .await
                .map_err(ServiceError::Input)?;
            Ok(Loaded {
                transform,
                served: saved.is_none() && active.is_some_and(|a| a.digest == digest),
                label: format!("plugin {digest}"),
                settings: grants
                    .settings
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            })
        }
    }
}

/// A mapping file run natively, kinds other than its own by the shipped defaults.
struct NativeMapping(Mapping);

#[async_trait::async_trait]
impl Transform for NativeMapping {
    async fn map_document(
        &self,
        kind: &str,
        input: &Document,
        context: &ferry_domain::Context,
    ) -> ferry_domain::RoleResult<Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>> {
        if kind == self.0.kind() {
            Ok(self.0.map(input, context))
        } else {
            crate::mapping::DefaultMappings
                .map_document(kind, input, context)
                .await
        }
    }
}

/// One run's recorded quote mapped by the new version, diffed against the order it sent.
async fn compare(loaded: &Loaded, tenant: &str, job: &Job) -> RunReplay {
    let mut run = RunReplay {
        run: job.key.clone(),
        quote_number: journeys::quote_number(job),
        status: job.state.as_str().to_string(),
        outcome: "failed".into(),
        reason: None,
        changes: Vec::new(),
        order_number: None,
        posted: None,
    };
    let cp: Checkpoint = match serde_json::from_value(job.checkpoint.clone()) {
        Ok(cp) => cp,
        Err(e) => {
            run.reason = Some(format!("unreadable checkpoint: {e}"));
            return run;
        }
    };
    run.order_number = cp.receipt.as_ref().map(|r| r.order_number.clone());
    let Some(quote) = &cp.quote else {
        run.reason = Some(format!(
            "the run has not read its quote yet (step {})",
            job.step
        ));
        return run;
    };
    let mut ids = vec![("quote".to_string(), cp.quote_id.clone())];
    if let Some(c) = &cp.customer {
        ids.push(("customer".to_string(), c.clone()));
    }
    let context = ferry_domain::Context {
        tenant: tenant.to_string(),
        settings: loaded.settings.clone(),
        ids,
    };
    let replayed = match loaded.transform.map_document(KIND, quote, &context).await {
        Ok(Ok(mapped)) => mapped.document,
        Ok(Err(issues)) => {
            let found: Vec<String> = issues
                .iter()
                .map(|i| format!("{}: {}", i.field, i.message))
                .collect();
            run.reason = Some(format!("the mapping refuses it: {}", found.join("; ")));
            return run;
        }
        Err(e) => {
            run.reason = Some(format!("the mapping call failed: {e}"));
            return run;
        }
    };
    let replayed = serde_json::to_value(&replayed).unwrap_or(Json::Null);
    let Some(sent) = &cp.order else {
        run.outcome = "changed".into();
        run.reason = Some(format!(
            "the run stopped before its order was mapped (step {}); the new version maps it",
            job.step
        ));
        run.changes.push(FieldChange {
            path: String::new(),
            sent: None,
            replayed: Some(replayed),
        });
        return run;
    };
    let sent = serde_json::to_value(sent).unwrap_or(Json::Null);
    let mut changes = Vec::new();
    shadow::diff("", &sent, &replayed, &mut changes);
    run.outcome = if changes.is_empty() {
        "unchanged"
    } else {
        "changed"
    }
    .into();
    run.changes = changes.into_iter().map(FieldChange::from).collect();
    run
}

/// Re-queues the runs without an ERP order (from the start: the flow reads the quote again and
/// maps it with what the tenant serves, which must be the new version); a run whose quote has
/// its order is skipped, so re-posting never orders a quote twice.
async fn post(
    ctx: &Context,
    tenant: &str,
    loaded: &Loaded,
    jobs: &[Job],
    runs: &mut [RunReplay],
) -> Result<(), ServiceError> {
    for run in runs.iter_mut().filter(|r| r.order_number.is_some()) {
        run.posted = Some("skipped".into());
    }
    let pending = runs.iter().filter(|r| r.posted.is_none()).count();
    if pending > 0 && !loaded.served {
        return Err(ServiceError::Input(format!(
            "{pending} run(s) would be re-posted, but tenant '{tenant}' does not serve this {} yet: the flow maps with what it serves (save and activate the mapping as a version, activate the component with no saved mapping version active, or set the transform setting {MAPPING_SETTING} to the mapping and restart ferry serve); a dry run needs neither",
            if loaded.label == "mapping" {
                "mapping"
            } else {
                "component"
            }
        )));
    }
    let store = ctx.open_store().await?;
    let now = chrono::Utc::now().timestamp_millis();
    for (job, run) in jobs.iter().zip(runs.iter_mut()) {
        if run.posted.is_some() {
            continue;
        }
        let event = job
            .checkpoint
            .get("event")
            .cloned()
            .filter(|e| !e.is_null());
        let checkpoint = serde_json::to_value(Checkpoint::new(&job.key, event))
            .map_err(|e| ServiceError::Input(format!("checkpoint: {e}")))?;
        store
            .rerun(
                None,
                NewJob {
                    tenant,
                    kind: KIND,
                    key: &job.key,
                    checkpoint,
                },
                now,
            )
            .await?;
        store
            .audit(
                tenant,
                KIND,
                &job.key,
                "replay",
                &format!("re-posted through {}", loaded.label),
                &Json::Null,
            )
            .await?;
        run.posted = Some("requeued".into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
