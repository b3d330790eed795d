//! Vendor details on errors (`ferry:host/diagnostics`, host 1.1): what a plugin adds during a
//! call reaches the `RoleError` when the call fails, and from there the stored job error an
//! operator reads (`ferry dlq`); a call that succeeds drops them; a plugin can't add more
//! than the host's bound.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use ferry::config::FerryConfig;
use ferry::runtime::{Grants, Plugin, PluginSource, Role, Runtime};
use ferry_domain::{ErrorClass, RoleFailure};
use ferry_flows::RetryPolicy;
use ferry_flows::status::{self, StatusPush};
use ferry_sim::{M3Sim, M3SimConfig};
use ferry_store::{Jobs, Links, SqliteStore};

const TENANT: &str = "acme";

/// One ERP plugin with its grants; no other role.
struct ErpOnly {
    runtime: Arc<Runtime>,
    plugin: Arc<Plugin>,
    grants: Arc<Grants>,
}

impl PluginSource for ErpOnly {
    fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, String> {
        match role {
            Role::Erp => Ok(self.plugin.clone()),
            other => Err(format!("no {other} plugin in this test")),
        }
    }

    fn grants(&self, _: Role) -> Arc<Grants> {
        self.grants.clone()
    }
}

fn roles(name: &str, grants: Arc<Grants>) -> ferry_domain::Roles {
    let runtime = runtime();
    let plugin = Arc::new(load(&runtime, name, Role::Erp));
    ferry::runtime::roles::roles(Arc::new(ErpOnly {
        runtime,
        plugin,
        grants,
    }))
}

#[tokio::test]
async fn m3s_message_id_field_and_transaction_reach_the_dead_letter() {
    let sim = M3Sim::start(M3SimConfig::default()).await.expect("m3 sim");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("m3.ionapi"), sim.ionapi_json()).expect("ionapi");
    std::fs::write(
        dir.path().join("ferry.toml"),
        "[tenants.acme.connections.m3]\nkind = \"http\"\nionapi = { file = \"m3.ionapi\" }\n\n\
         [tenants.acme.plugins.erp]\nconnections = [\"m3\"]\n",
    )
    .expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let roles = roles(
        "m3_connector",
        config.plugin_grants(TENANT, Role::Erp).expect("grants"),
    );

    // Ferry made order 9999999 from quote 17, and M3 no longer knows it: the status push-back
    // fails `not-found`, which dead-letters the job.
    let store = SqliteStore::open(&dir.path().join("ferry.db"))
        .await
        .expect("store");
    store
        .put_link(TENANT, status::ORDER_LINK, "17", "9999999", Some("22"))
        .await
        .expect("link");
    status::queue(&store, TENANT, "9999999", None)
        .await
        .expect("queue");
    let claim = store
        .claim("w-0", 1, 30_000, ferry_flows::now_ms())
        .await
        .expect("claim")
        .pop()
        .expect("the job is due");
    let push = StatusPush {
        tenant: TENANT,
        erp: roles.erp.as_ref(),
        quoting: roles.quoting.as_ref(),
        status_names: &BTreeMap::new(),
        invoiced_status: None,
        retry: &RetryPolicy::default(),
    };
    let outcome = status::run(&push, &store, &claim).await;
    store
        .finish(&claim, outcome, ferry_flows::now_ms())
        .await
        .expect("finish");

    let dead = store.dead_letters(Some(TENANT)).await.expect("dlq");
    assert_eq!(dead.len(), 1, "{dead:?}");
    let error = &dead[0].error;
    assert!(error.starts_with("not found: "), "{error}");
    for detail in [
        "m3.program=OIS100MI",
        "m3.transaction=GetHead",
        "m3.message-id=XRE0103",
        "m3.field=ORNO",
    ] {
        assert!(error.contains(detail), "{detail} in {error}");
    }
}

#[tokio::test]
async fn details_ride_only_on_an_error_and_are_bounded() {
    let roles = roles("test_erp", Arc::new(grants(TENANT)));

    // Added, then the call succeeded: nothing to attach them to, and nothing leaks into the
    // next call's error.
    let ok = roles.erp.get_order_status("details-ok:3").await;
    assert_eq!(ok.expect("succeeds").status, "22");
    let failed = roles.erp.get_order_status("details-err:2").await;
    let Err(RoleFailure::Error(e)) = failed else {
        panic!("expected the plugin's error, got {failed:?}");
    };
    assert_eq!(e.class, ErrorClass::NotFound);
    assert_eq!(
        e.details,
        vec![
            ("vendor.n".to_string(), "0".to_string()),
            ("vendor.n".to_string(), "1".to_string()),
        ]
    );
    assert!(e.to_string().ends_with("[vendor.n=0; vendor.n=1]"), "{e}");

    // A plugin adding a thousand keeps 16 and the count of the rest.
    let flood = roles.erp.get_order_status("details-err:1000").await;
    let Err(RoleFailure::Error(e)) = flood else {
        panic!("expected the plugin's error, got {flood:?}");
    };
    assert_eq!(e.details.len(), 17, "{:?}", e.details);
    assert_eq!(
        e.details.last(),
        Some(&("ferry.details-dropped".to_string(), "984".to_string()))
    );
}
