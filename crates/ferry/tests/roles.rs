//! The role adapters over real components: each call is served by the plugin active when it
//! is made (a swap needs no new `Roles`), a role without a plugin fails as `NoPlugin`, and a
//! plugin's own errors and stopped calls arrive classified, in domain types.

mod common;

use std::sync::Arc;

use common::*;
use ferry::runtime::{Grants, Plugin, PluginSource, Registry, Role, Runtime, RuntimeSettings};
use ferry_domain::journal::{Journal, PluginCall};
use ferry_domain::{
    CallFailure, CallFailureKind, Context, Document, ErrorClass, Field, FieldError, Issue, Line,
    Mapped, RoleFailure, RoleResult, Roles, Value,
};
use ferry_store::SqliteStore;

const TENANT: &str = "acme";

/// The registry's active plugins for one tenant, as the server's tenant environment serves
/// them (its grants one value, as the server keeps them per plugin: a warm instance serves
/// only the grants it was made with).
struct Active {
    registry: Arc<Registry>,
    grants: Arc<Grants>,
}

impl PluginSource for Active {
    fn runtime(&self) -> &Arc<Runtime> {
        self.registry.runtime()
    }

    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, String> {
        self.registry
            .active(TENANT, role)
            .ok_or_else(|| format!("tenant '{TENANT}' has no active {role} plugin"))
    }

    fn grants(&self, _: Role) -> Arc<Grants> {
        self.grants.clone()
    }
}

async fn open(dir: &std::path::Path, deadline_ms: u64) -> (Arc<Registry>, Roles) {
    open_with(
        dir,
        RuntimeSettings {
            call_deadline_ms: deadline_ms,
            ..settings()
        },
    )
    .await
}

async fn open_with(dir: &std::path::Path, settings: RuntimeSettings) -> (Arc<Registry>, Roles) {
    let rt = Runtime::new(RuntimeSettings {
        cache_dir: Some(dir.join("cache")),
        ..settings
    })
    .expect("runtime");
    let store = Arc::new(
        SqliteStore::open(&dir.join("ferry.db"))
            .await
            .expect("store"),
    );
    let registry = Registry::open(rt, store, &dir.join("plugins"))
        .await
        .expect("registry");
    let roles = ferry::runtime::roles::roles(Arc::new(Active {
        registry: registry.clone(),
        grants: Arc::new(grants(TENANT)),
    }));
    (registry, roles)
}

async fn activate(registry: &Registry, name: &str, role: Role) {
    let installed = registry
        .install(component(name), TENANT, role)
        .await
        .expect("install");
    registry
        .activate(TENANT, role, &installed.digest)
        .await
        .expect("activate");
}

fn doc() -> Document {
    Document {
        kind: "quote".into(),
        id: Some("17".into()),
        fields: vec![],
        lines: vec![],
    }
}

fn ctx() -> Context {
    Context {
        tenant: TENANT.into(),
        settings: vec![],
        ids: vec![("customer".into(), "C9".into())],
    }
}

async fn mapped_by(roles: &Roles) -> Value {
    let mapped = roles
        .transform
        .map_document("echo", &doc(), &ctx())
        .await
        .expect("the call completes")
        .expect("mapped");
    assert_eq!(
        mapped.document.get("id:customer"),
        Some(&Value::Text("C9".into()))
    );
    mapped.document.get("MappedBy").cloned().expect("MappedBy")
}

#[tokio::test]
async fn each_call_is_served_by_the_plugin_active_when_it_is_made() {
    let dir = tempfile::tempdir().expect("tmp");
    let (registry, roles) = open(dir.path(), 5_000).await;
    activate(&registry, "test_transform", Role::Transform).await;
    assert_eq!(
        mapped_by(&roles).await,
        Value::Text("test-transform v1".into())
    );
    activate(&registry, "test_transform_v2", Role::Transform).await;
    assert_eq!(
        mapped_by(&roles).await,
        Value::Text("test-transform v2".into()),
        "the same roles, the new plugin"
    );
    let issues = roles
        .transform
        .map_document("fail", &doc(), &ctx())
        .await
        .expect("the call completes")
        .expect_err("issues");
    assert_eq!(
        issues[0].to_string(),
        "lines[3].ORQT: 'abc' is not a decimal"
    );
    assert_eq!(issues[0].rule.as_deref(), Some("test-rule"));
}

#[tokio::test]
async fn a_role_without_a_plugin_fails_as_no_plugin() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_registry, roles) = open(dir.path(), 5_000).await;
    match roles.erp.get_order_status("ORD1").await {
        Err(RoleFailure::Call(f)) => {
            assert_eq!(f.kind, CallFailureKind::NoPlugin);
            assert_eq!(f.message, "tenant 'acme' has no active erp plugin");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn plugin_errors_and_stopped_calls_arrive_classified() {
    let dir = tempfile::tempdir().expect("tmp");
    let (registry, roles) = open(dir.path(), 300).await;
    activate(&registry, "test_erp", Role::Erp).await;
    activate(&registry, "test_transform", Role::Transform).await;

    let changes = roles
        .erp
        .parse_event("text/plain", b"ITEM-1\nITEM-2\n")
        .await
        .expect("parsed");
    let seen: Vec<(&str, &str, &str)> = changes
        .iter()
        .map(|c| (c.entity.as_str(), c.key.as_str(), c.action.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("item", "ITEM-1", "updated"), ("item", "ITEM-2", "updated")]
    );
    match roles.erp.parse_event("application/json", b"{}").await {
        Err(RoleFailure::Error(e)) => {
            assert_eq!(e.class, ErrorClass::Invalid);
            assert_eq!(
                e.fields,
                [FieldError {
                    field: "content-type".into(),
                    line: None,
                    message: "expected text/plain, got application/json".into(),
                }]
            );
        }
        other => panic!("{other:?}"),
    }
    match roles.erp.get_order_status("ORD1").await {
        Err(RoleFailure::Error(e)) => {
            assert_eq!(e.class, ErrorClass::Fatal);
            assert!(e.message.contains("get-order-status"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    match roles.transform.map_document("spin", &doc(), &ctx()).await {
        Err(RoleFailure::Call(f)) => {
            assert_eq!(f.kind, CallFailureKind::Deadline);
            assert_eq!(f.message, "stopped: the call ran past its 300 ms deadline");
        }
        other => panic!("{other:?}"),
    }
}

// ---- a batch (`map_documents`) against single calls (`map_document`) ----

/// A quote whose one line's `Amount` is `amount` (the test transform's `sum` adds them up).
fn priced(id: usize, amount: Value) -> Document {
    Document {
        kind: "quote".into(),
        id: Some(id.to_string()),
        fields: vec![],
        lines: vec![Line {
            fields: vec![Field::new("Amount", amount)],
        }],
    }
}

/// Quotes 1..=n, each summing to its own number, and quote 3 with an amount that is not a
/// decimal (an issue: an answer of the batch, not a failure of it).
fn priced_quotes(n: usize) -> Vec<Document> {
    (1..=n)
        .map(|i| {
            let amount = if i == 3 {
                Value::Text("abc".into())
            } else {
                Value::Integer(i64::try_from(i).expect("small"))
            };
            priced(i, amount)
        })
        .collect()
}

type Answers = Vec<Result<Mapped, Vec<Issue>>>;

async fn one_by_one(roles: &Roles, kind: &str, inputs: &[Document]) -> RoleResult<Answers> {
    let mut out = Vec::new();
    for input in inputs {
        out.push(roles.transform.map_document(kind, input, &ctx()).await?);
    }
    Ok(out)
}

/// `work` inside a run's journal, and the calls it journaled (all of them: none dropped).
async fn journaled<T>(work: impl Future<Output = T>) -> (T, Vec<PluginCall>) {
    let journal = Journal::new();
    let out = journal.scope(work).await;
    let (calls, dropped) = journal.take();
    assert_eq!(dropped, 0, "the journal kept every call");
    (out, calls)
}

/// A journaled call without its duration (which differs from run to run).
fn timeless(calls: &[PluginCall]) -> Vec<PluginCall> {
    calls
        .iter()
        .map(|c| PluginCall {
            duration_ms: 0,
            ..c.clone()
        })
        .collect()
}

fn sum(answer: &Result<Mapped, Vec<Issue>>) -> Option<&Value> {
    answer.as_ref().ok().and_then(|m| m.document.get("Total"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_and_journals_as_its_single_calls_do() {
    let dir = tempfile::tempdir().expect("tmp");
    let (registry, roles) = open(dir.path(), 5_000).await;
    activate(&registry, "test_transform", Role::Transform).await;
    let digest = registry
        .active(TENANT, Role::Transform)
        .expect("active")
        .digest
        .clone();
    let inputs = priced_quotes(5);

    // Outside a journal.
    let batch = roles
        .transform
        .map_documents("sum", &inputs, &ctx())
        .await
        .expect("the batch completes");
    let singles = one_by_one(&roles, "sum", &inputs)
        .await
        .expect("the calls complete");
    assert_eq!(batch, singles, "the same answers, in order");
    let totals: Vec<Option<Value>> = batch.iter().map(|a| sum(a).cloned()).collect();
    let dec = |s: &str| Some(Value::Decimal(s.into()));
    assert_eq!(
        totals,
        [dec("1"), dec("2"), None, dec("4"), dec("5")],
        "each answer is its own input's"
    );
    let issues = batch[2]
        .as_ref()
        .expect_err("quote 3's amount is no decimal");
    assert_eq!(
        (issues[0].field.as_str(), issues[0].line),
        ("Amount", Some(0))
    );
    assert!(
        issues[0].message.contains("'abc' is not a decimal"),
        "{issues:?}"
    );

    // Inside a run's journal (the catalog's page runs in one): an entry per call.
    let (batch_in_run, batch_calls) =
        journaled(roles.transform.map_documents("sum", &inputs, &ctx())).await;
    let (singles_in_run, single_calls) = journaled(one_by_one(&roles, "sum", &inputs)).await;
    assert_eq!(batch_in_run.expect("the batch completes"), batch);
    assert_eq!(singles_in_run.expect("the calls complete"), batch);
    assert_eq!(batch_calls.len(), inputs.len(), "{batch_calls:?}");
    for call in &batch_calls {
        assert_eq!(
            (
                call.role.as_str(),
                call.digest.as_str(),
                call.stopped.as_deref()
            ),
            ("transform", digest.as_str(), None),
        );
        assert!(call.contract.is_some(), "{call:?}");
    }
    assert_eq!(timeless(&batch_calls), timeless(&single_calls));
}

/// What the test transform's `calls` kind answers: how many calls its instance has served.
fn served(answer: &Result<Mapped, Vec<Issue>>) -> Option<u32> {
    match answer.as_ref().ok()?.document.get("outcome")? {
        Value::Text(n) => n.parse().ok(),
        _ => None,
    }
}

async fn served_alone(roles: &Roles) -> Option<u32> {
    let answer = roles
        .transform
        .map_document("calls", &doc(), &ctx())
        .await
        .expect("the call completes");
    served(&answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batchs_calls_take_the_warm_instance_as_single_calls_do() {
    let dir = tempfile::tempdir().expect("tmp");
    let (registry, roles) = open(dir.path(), 5_000).await;
    activate(&registry, "test_transform", Role::Transform).await;
    let batch = roles
        .transform
        .map_documents("calls", &[doc(), doc(), doc()], &ctx())
        .await
        .expect("the batch completes");
    // One instance, handed from call to call and parked for the next single call.
    assert_eq!(
        batch.iter().map(served).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3)]
    );
    assert_eq!(served_alone(&roles).await, Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_fails_ends_the_batch_with_its_error() {
    let dir = tempfile::tempdir().expect("tmp");
    // The third input is larger than the plugin may grow its memory to: that call is stopped
    // as the input is handed over (as a single call of it is), the calls before it answered.
    let (registry, roles) = open_with(
        dir.path(),
        RuntimeSettings {
            memory_limit_mib: 16,
            ..settings()
        },
    )
    .await;
    activate(&registry, "test_transform", Role::Transform).await;
    let mut too_large = doc();
    too_large
        .fields
        .push(Field::new("Blob", Value::Text("x".repeat(24 << 20))));
    let inputs = [doc(), doc(), too_large, doc(), doc()];
    let stopped = CallFailure {
        kind: CallFailureKind::Trap,
        message: "stopped: the plugin tried to grow its memory past the 16 MiB cap".into(),
    };

    let (batch, batch_calls) =
        journaled(roles.transform.map_documents("calls", &inputs, &ctx())).await;
    match batch {
        Err(RoleFailure::Call(f)) => assert_eq!(f, stopped),
        other => panic!("the batch: {other:?}"),
    }
    // The failed call dropped its instance and no call came after it: a fresh one answers
    // (had the batch gone on, its last two calls would have left theirs warm, at 2).
    assert_eq!(served_alone(&roles).await, Some(1));

    let (single, single_calls) = journaled(async {
        let mut out = Vec::new();
        for input in &inputs {
            out.push(roles.transform.map_document("calls", input, &ctx()).await);
        }
        out
    })
    .await;
    assert!(
        single[0].is_ok() && single[1].is_ok() && single[3].is_ok(),
        "{single:?}"
    );
    match &single[2] {
        Err(RoleFailure::Call(f)) => assert_eq!(*f, stopped),
        other => panic!("the large input alone: {other:?}"),
    }
    // The calls up to the failing one, journaled as the same single calls are.
    assert_eq!(
        batch_calls
            .iter()
            .map(|c| c.stopped.as_deref())
            .collect::<Vec<_>>(),
        [None, None, Some(stopped.message.as_str())]
    );
    assert_eq!(timeless(&batch_calls), timeless(&single_calls[..3]));
}
