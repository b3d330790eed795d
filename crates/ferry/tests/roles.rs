//! The role adapters over real components: each call is served by the plugin active when it
//! is made (a swap needs no new `Roles`), a role without a plugin fails as `NoPlugin`, and a
//! plugin's own errors and stopped calls arrive classified, in domain types.

mod common;

use std::sync::Arc;

use common::*;
use ferry::runtime::{Grants, Plugin, PluginSource, Registry, Role, Runtime, RuntimeSettings};
use ferry_domain::{
    CallFailureKind, Context, Document, ErrorClass, FieldError, RoleFailure, Roles, Value,
};
use ferry_store::SqliteStore;

const TENANT: &str = "acme";

/// The registry's active plugins for one tenant, as the server's tenant environment serves
/// them.
struct Active {
    registry: Arc<Registry>,
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
        Arc::new(grants(TENANT))
    }
}

async fn open(dir: &std::path::Path, deadline_ms: u64) -> (Arc<Registry>, Roles) {
    let rt = Runtime::new(RuntimeSettings {
        cache_dir: Some(dir.join("cache")),
        call_deadline_ms: deadline_ms,
        ..settings()
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
