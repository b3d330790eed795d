//! Warm instances: a transform's instance, and a quoting connector's after `parse-webhook`,
//! serves the next such call of the same component under the same grants, and nothing else; a
//! call that fails leaves none behind. The test transform's `calls` kind, and the test quoting
//! connector's `calls` webhook, answer how many calls their instance has served.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use ferry::runtime::{CallError, Grants, Plugin, PluginSource, Role, Runtime, RuntimeSettings};
use ferry_domain::{
    CallFailureKind, Context, Document, InboundWebhook, Quoting, RoleFailure, Value,
};

fn doc(kind: &str) -> Document {
    Document {
        kind: kind.into(),
        id: None,
        fields: vec![],
        lines: vec![],
    }
}

fn ctx() -> Context {
    Context {
        tenant: "t".into(),
        settings: vec![],
        ids: vec![],
    }
}

/// One tenant call at a time, and a short wait for it: a turn a warm call kept would refuse
/// the next call as busy.
fn warm_settings(warm_instances: usize) -> RuntimeSettings {
    RuntimeSettings {
        call_deadline_ms: 300,
        tenant_concurrency: 1,
        tenant_queue_ms: 200,
        warm_instances,
        ..settings()
    }
}

async fn calls(rt: &Runtime, plugin: &Plugin, grants: &Arc<Grants>) -> u32 {
    let mapped = rt
        .transform(plugin, grants.clone())
        .await
        .expect("instantiate")
        .map("calls", &doc("x"), &ctx())
        .await
        .expect("call")
        .expect("mapped");
    match mapped.document.fields.first().map(|f| &f.value) {
        Some(Value::Text(n)) => n.parse().expect("a count"),
        other => panic!("no count: {other:?}"),
    }
}

async fn fails(rt: &Runtime, plugin: &Plugin, grants: &Arc<Grants>, kind: &str) -> CallError {
    rt.transform(plugin, grants.clone())
        .await
        .expect("instantiate")
        .map(kind, &doc("x"), &ctx())
        .await
        .expect_err("the call fails")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transforms_instance_serves_its_next_calls_under_the_same_grants_only() {
    let rt = Runtime::new(warm_settings(16)).expect("runtime");
    let plugin = load(&rt, "test_transform", Role::Transform);
    let a = Arc::new(grants("a"));
    let b = Arc::new(grants("b"));

    assert_eq!(calls(&rt, &plugin, &a).await, 1);
    assert_eq!(calls(&rt, &plugin, &a).await, 2);
    // Past the first call's deadline: a warm call gets a budget of its own.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(calls(&rt, &plugin, &a).await, 3);
    // Another tenant, the same component: a fresh instance, never a's.
    assert_eq!(calls(&rt, &plugin, &b).await, 1);
    // The same tenant under other grants (its settings changed): fresh too.
    let a_changed = Arc::new(grants("a"));
    assert_eq!(calls(&rt, &plugin, &a_changed).await, 1);
    assert_eq!(calls(&rt, &plugin, &a).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_traps_or_runs_out_of_time_leaves_no_warm_instance() {
    let rt = Runtime::new(warm_settings(16)).expect("runtime");
    let plugin = load(&rt, "test_transform", Role::Transform);
    let a = Arc::new(grants("a"));

    assert_eq!(calls(&rt, &plugin, &a).await, 1);
    // The warm instance panics: it is dropped, and the next call starts from scratch.
    assert!(matches!(
        fails(&rt, &plugin, &a, "panic").await,
        CallError::Trap { .. }
    ));
    assert_eq!(calls(&rt, &plugin, &a).await, 1);
    assert_eq!(calls(&rt, &plugin, &a).await, 2);
    // A warm instance that loops is stopped at its own deadline, and dropped.
    assert!(matches!(
        fails(&rt, &plugin, &a, "spin").await,
        CallError::Deadline { .. }
    ));
    assert_eq!(calls(&rt, &plugin, &a).await, 1);
    // One that grows past the memory cap likewise.
    assert!(matches!(
        fails(&rt, &plugin, &a, "hog").await,
        CallError::MemoryLimit { .. }
    ));
    assert_eq!(calls(&rt, &plugin, &a).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_warm_instances_every_call_is_fresh() {
    let rt = Runtime::new(warm_settings(0)).expect("runtime");
    let plugin = load(&rt, "test_transform", Role::Transform);
    let a = Arc::new(grants("a"));
    for _ in 0..3 {
        assert_eq!(calls(&rt, &plugin, &a).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_instances_are_bounded_across_tenants() {
    let rt = Runtime::new(warm_settings(2)).expect("runtime");
    let plugin = load(&rt, "test_transform", Role::Transform);
    let tenants: Vec<Arc<Grants>> = ["a", "b", "c"]
        .iter()
        .map(|t| Arc::new(grants(t)))
        .collect();
    for g in &tenants {
        assert_eq!(calls(&rt, &plugin, g).await, 1);
    }
    // Two wait (b's and c's); a's, the oldest, was dropped for the third.
    assert_eq!(calls(&rt, &plugin, &tenants[0]).await, 1);
    assert_eq!(calls(&rt, &plugin, &tenants[2]).await, 2);
}

/// One quoting plugin under grants the test swaps, as a tenant's environment serves them (the
/// same `Arc` until its settings change).
struct QuotingSource {
    runtime: Arc<Runtime>,
    plugin: Arc<Plugin>,
    grants: Mutex<Arc<Grants>>,
}

impl PluginSource for QuotingSource {
    fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    fn plugin(&self, _: Role) -> Result<Arc<Plugin>, String> {
        Ok(self.plugin.clone())
    }

    fn grants(&self, _: Role) -> Arc<Grants> {
        self.grants.lock().expect("grants").clone()
    }
}

fn quoting_role(warm_instances: usize) -> (Arc<QuotingSource>, Arc<dyn Quoting>) {
    let runtime = Runtime::new(warm_settings(warm_instances)).expect("runtime");
    let plugin = Arc::new(load(&runtime, "test_quoting", Role::Quoting));
    let source = Arc::new(QuotingSource {
        runtime,
        plugin,
        grants: Mutex::new(Arc::new(grants("a"))),
    });
    let roles = ferry::runtime::roles::roles(source.clone());
    (source, roles.quoting)
}

fn webhook(behave: &str) -> InboundWebhook {
    InboundWebhook {
        headers: vec![],
        body: format!(r#"{{"behave":"{behave}"}}"#).into_bytes(),
    }
}

/// How many webhooks the instance that parsed this one has parsed.
async fn parsed(quoting: &Arc<dyn Quoting>) -> u32 {
    let event = quoting
        .parse_webhook(&webhook("calls"))
        .await
        .expect("parsed");
    event
        .event_id
        .strip_prefix("calls-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {}", event.event_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quoting_connectors_webhook_instance_serves_its_next_webhooks_under_the_same_grants_only()
{
    let (source, quoting) = quoting_role(16);
    assert_eq!(parsed(&quoting).await, 1);
    assert_eq!(parsed(&quoting).await, 2);
    // Another call of the role in between (it fails: the test grants have no database) leaves
    // the webhook instance waiting.
    assert!(
        quoting
            .list_ready_quotes(&ferry_domain::PageRequest {
                cursor: None,
                limit: 1
            })
            .await
            .is_err()
    );
    assert_eq!(parsed(&quoting).await, 3);
    // The tenant's settings change (new grants): a fresh instance.
    *source.grants.lock().expect("grants") = Arc::new(grants("a"));
    assert_eq!(parsed(&quoting).await, 1);
    // Another tenant, the same component: never a's instance.
    *source.grants.lock().expect("grants") = Arc::new(grants("b"));
    assert_eq!(parsed(&quoting).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_panics_leaves_no_warm_instance_and_none_are_kept_when_off() {
    let (_, quoting) = quoting_role(16);
    assert_eq!(parsed(&quoting).await, 1);
    let failure = quoting
        .parse_webhook(&webhook("panic"))
        .await
        .expect_err("the plugin panics");
    assert!(
        matches!(
            &failure,
            RoleFailure::Call(call) if call.kind == CallFailureKind::Trap
        ),
        "{failure:?}"
    );
    assert_eq!(parsed(&quoting).await, 1);

    // With warm instances off, every webhook gets a fresh instance.
    let (_, quoting) = quoting_role(0);
    for _ in 0..3 {
        assert_eq!(parsed(&quoting).await, 1);
    }
}
