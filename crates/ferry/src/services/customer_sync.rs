//! `ferry sync customers`: the customer sync (`flows::customers`) run in this process against
//! the tenant's active erp and quoting plugins and the configured store, and its schedule in
//! `ferry serve`.
//!
//! The customer calls are `@unstable(feature = sync)` exports the typed role adapters don't
//! carry yet, so they are made through the runtime's JSON call path (`Runtime::call_json`),
//! which checks each argument against the plugin's own WIT types.
//!
//! A run is no job: it runs in the process that starts it. One tenant's runs never overlap in
//! a process (schedule, run-now and the CLI take [`Running`]); a paused `customer-sync` flow
//! runs nothing (its schedule skips its slots, run-now and the CLI start nothing but a dry run).

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{Context, ServiceError};
use crate::flows::customers::{
    self, CustomerPolicy, CustomerReport, CustomerRoles, ErpCustomers, QuotingCustomers, RunOptions,
};
use crate::runtime::dynamic::DynamicError;
use crate::runtime::{Grants, Plugin, Role, Runtime};
use crate::tenant::TenantEnv;
use ferry_domain::{
    CallFailure, CallFailureKind, Document, DocumentPage, ErrorClass, FieldError, MatchCriteria,
    PageRequest, RoleError, RoleFailure, RoleResult,
};
use ferry_store::Store;

/// One role of one tenant, called by export name.
struct PluginCalls {
    env: Arc<TenantEnv>,
    role: Role,
}

impl PluginCalls {
    async fn call(&self, function: &str, input: Json) -> RoleResult<Json> {
        let plugin: Arc<Plugin> = self.env.plugin(self.role).map_err(|e| CallFailure {
            kind: CallFailureKind::NoPlugin,
            message: e.to_string(),
        })?;
        let grants: Arc<Grants> = self.env.grants(self.role);
        let runtime: &Arc<Runtime> = self.env.runtime();
        match runtime.call_json(&plugin, grants, function, &input).await {
            Ok(answer) => answered(function, answer),
            Err(DynamicError::Call(stopped)) => Err(CallFailure {
                kind: CallFailureKind::Trap,
                message: format!("{function}: {stopped}"),
            }
            .into()),
            Err(other) => Err(RoleError::new(ErrorClass::Unsupported, other.to_string()).into()),
        }
    }
}

/// `{"ok": v}` → v; `{"err": {"class": payload}}` → the classified error.
fn answered(function: &str, answer: Json) -> RoleResult<Json> {
    if let Some(ok) = answer.get("ok") {
        return Ok(ok.clone());
    }
    let err = answer.get("err").cloned().unwrap_or(Json::Null);
    let (case, payload) = match &err {
        Json::Object(m) => m
            .iter()
            .next()
            .map(|(k, v)| (k.clone(), v.clone()))
            .unwrap_or_default(),
        Json::String(s) => (s.clone(), Json::Null),
        _ => (String::new(), Json::Null),
    };
    let text = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let error = match case.as_str() {
        "not-found" => RoleError::new(ErrorClass::NotFound, text(&payload)),
        "conflict" => RoleError::new(ErrorClass::Conflict, text(&payload)),
        "transient" => RoleError::new(ErrorClass::Transient, text(&payload)),
        "unauthorized" => RoleError::new(ErrorClass::Unauthorized, text(&payload)),
        "unsupported" => RoleError::new(ErrorClass::Unsupported, text(&payload)),
        "rate-limited" => {
            let mut e = RoleError::new(ErrorClass::RateLimited, text(&payload["message"]));
            e.retry_after_ms = payload["retry-after-ms"].as_u64();
            e
        }
        "invalid" => {
            let fields: Vec<FieldError> = payload
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| FieldError {
                            field: text(&f["field"]),
                            line: f["line"].as_u64().and_then(|l| u32::try_from(l).ok()),
                            message: text(&f["message"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let message = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ");
            let mut e = RoleError::new(ErrorClass::Invalid, message);
            e.fields = fields;
            e
        }
        _ => RoleError::new(ErrorClass::Fatal, format!("{function}: {}", text(&payload))),
    };
    Err(error.into())
}

fn document(v: Json) -> RoleResult<Document> {
    serde_json::from_value(v)
        .map_err(|e| RoleError::new(ErrorClass::Fatal, format!("not a document: {e}")).into())
}

fn page(v: Json) -> RoleResult<DocumentPage> {
    let documents = match v.get("documents").cloned() {
        Some(Json::Array(docs)) => docs.into_iter().map(document).collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    let next = v.get("next").and_then(Json::as_str).map(str::to_string);
    Ok(DocumentPage { documents, next })
}

fn doc_json(d: &Document) -> Json {
    serde_json::to_value(d).unwrap_or(Json::Null)
}

fn page_json(p: &PageRequest) -> Json {
    json!({ "cursor": p.cursor, "limit": p.limit })
}

fn text(v: Json) -> RoleResult<String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| RoleFailure::from(RoleError::new(ErrorClass::Fatal, "expected a string")))
}

#[async_trait]
impl ErpCustomers for PluginCalls {
    async fn get_customer(&self, id: &str) -> RoleResult<Document> {
        document(self.call("get-customer", json!({ "id": id })).await?)
    }

    async fn find_customers(&self, c: &MatchCriteria) -> RoleResult<Vec<Document>> {
        let criteria = json!({
            "email": c.email, "name": c.name, "phone": c.phone, "external-ref": c.external_ref,
        });
        match self
            .call("find-customers", json!({ "criteria": criteria }))
            .await?
        {
            Json::Array(docs) => docs.into_iter().map(document).collect(),
            _ => Ok(Vec::new()),
        }
    }

    async fn create_customer(&self, customer: &Document) -> RoleResult<String> {
        text(
            self.call("create-customer", json!({ "customer": doc_json(customer) }))
                .await?,
        )
    }

    async fn update_customer(&self, id: &str, changes: &Document) -> RoleResult<()> {
        self.call(
            "update-customer",
            json!({ "id": id, "changes": doc_json(changes) }),
        )
        .await
        .map(|_| ())
    }

    async fn list_customers_changed(
        &self,
        since: &str,
        p: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        page(
            self.call(
                "list-customers-changed",
                json!({ "since": since, "page": page_json(p) }),
            )
            .await?,
        )
    }
}

#[async_trait]
impl QuotingCustomers for PluginCalls {
    async fn get_customer(&self, id: &str) -> RoleResult<Document> {
        document(self.call("get-customer", json!({ "id": id })).await?)
    }

    async fn upsert_customer(&self, customer: &Document) -> RoleResult<String> {
        text(
            self.call("upsert-customer", json!({ "customer": doc_json(customer) }))
                .await?,
        )
    }

    async fn list_customers_changed(
        &self,
        since: &str,
        p: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        page(
            self.call(
                "list-customers-changed",
                json!({ "since": since, "page": page_json(p) }),
            )
            .await?,
        )
    }
}

/// The tenant's customer roles over its active plugins.
pub fn roles(env: Arc<TenantEnv>) -> CustomerRoles {
    CustomerRoles {
        erp: Arc::new(PluginCalls {
            env: env.clone(),
            role: Role::Erp,
        }),
        quoting: Arc::new(PluginCalls {
            env,
            role: Role::Quoting,
        }),
    }
}

/// The tenants whose customer sync runs in this process now.
static RUNNING: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// A tenant's customer run in this process, released when dropped.
struct Running(String);

impl Running {
    /// None while another run of the tenant's is on.
    fn take(tenant: &str) -> Option<Self> {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        running
            .insert(tenant.to_string())
            .then(|| Self(tenant.to_string()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// Whether an operator has the tenant's customer sync paused.
async fn paused(store: &dyn Store, tenant: &str) -> Result<bool, ferry_store::StoreError> {
    Ok(store
        .pauses(Some(tenant))
        .await?
        .iter()
        .any(|p| p.flow == customers::KIND))
}

/// Checks `--since` (a date or RFC 3339, not with `--full`) and the tenant's policy.
pub fn check(policy: &CustomerPolicy, options: &RunOptions) -> Result<(), ServiceError> {
    policy
        .check()
        .map_err(|e| ServiceError::Input(format!("[sync.customers]: {e}")))?;
    if let Some(since) = &options.since {
        if options.full {
            return Err(ServiceError::Input(
                "--since reads the customers changed since a date; --full reads them all: choose one"
                    .into(),
            ));
        }
        let date = chrono::NaiveDate::parse_from_str(since, "%Y-%m-%d").is_ok();
        if !date && chrono::DateTime::parse_from_rfc3339(since).is_err() {
            return Err(ServiceError::Input(format!(
                "--since {since:?} is neither a date (2026-11-30) nor RFC 3339 (2026-11-30T08:00:00Z)"
            )));
        }
    }
    Ok(())
}

/// Runs the tenant's customer sync once, here, and returns what it did.
pub async fn run(
    ctx: &Context,
    tenant: &str,
    options: RunOptions,
) -> Result<CustomerReport, ServiceError> {
    let policy = ctx.tenant(tenant)?.sync.customers.clone();
    check(&policy, &options)?;
    let registry = super::plugins::open_registry(ctx).await?;
    let env = TenantEnv::build(&ctx.config, tenant, registry)
        .map_err(|e| ServiceError::Input(format!("{e:#}")))?;
    let store = ctx.open_store().await?;
    if !options.dry_run && paused(store.as_ref(), tenant).await? {
        return Err(ServiceError::Input(format!(
            "the customer sync of '{tenant}' is paused: resume the flow {} first",
            customers::KIND
        )));
    }
    let _running = Running::take(tenant).ok_or_else(|| {
        ServiceError::Input(format!(
            "a customer sync of '{tenant}' runs already in this process"
        ))
    })?;
    customers::sync(
        tenant,
        &roles(Arc::new(env)),
        store.as_ref(),
        &policy,
        &options,
    )
    .await
    .map_err(|e| {
        ServiceError::Input(format!(
            "customer sync stopped (run it again to resume): {e}"
        ))
    })
}

/// Starts one run of the tenant's customer sync in the background (run-now); false when one
/// runs already in this process. The caller checks the pause.
pub fn start(env: Arc<TenantEnv>, policy: CustomerPolicy, store: Arc<dyn Store>) -> bool {
    let Some(running) = Running::take(&env.name) else {
        return false;
    };
    tokio::spawn(async move {
        let _running = running;
        once(&env, &roles(env.clone()), store.as_ref(), &policy).await;
    });
    true
}

/// One scheduled or run-now run, logged.
async fn once(env: &TenantEnv, roles: &CustomerRoles, store: &dyn Store, policy: &CustomerPolicy) {
    match customers::sync(&env.name, roles, store, policy, &RunOptions::default()).await {
        Ok(r) => tracing::info!(
            tenant = %env.name,
            inserted = r.inserted, updated = r.updated, unchanged = r.unchanged,
            held = r.held, failed = r.failed, conflicts = r.conflicts.len(),
            "customer sync"
        ),
        Err(e) => tracing::warn!(tenant = %env.name, "customer sync stopped: {e}"),
    }
}

/// `ferry serve`'s schedule: a run every `every`, at most once per slot across the nodes
/// sharing the store (the slot's lease, as the catalog's schedule).
pub async fn schedule(
    env: Arc<TenantEnv>,
    policy: CustomerPolicy,
    store: Arc<dyn Store>,
    node: String,
) {
    let Ok(Some(every)) = policy.interval() else {
        return;
    };
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    let roles = roles(env.clone());
    loop {
        let now = ferry_flows::now_ms();
        let slot = now.div_euclid(every_ms).saturating_add(1);
        let wait = slot.saturating_mul(every_ms).saturating_sub(now);
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
        match store
            .take_slot(&env.name, customers::SCHEDULE, slot, &node)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(tenant = %env.name, "customer sync schedule: {e}");
                continue;
            }
        }
        match paused(store.as_ref(), &env.name).await {
            Ok(false) => {}
            Ok(true) => continue,
            Err(e) => {
                tracing::warn!(tenant = %env.name, "customer sync schedule: {e}");
                continue;
            }
        }
        let Some(_running) = Running::take(&env.name) else {
            continue;
        };
        once(&env, &roles, store.as_ref(), &policy).await;
    }
}
