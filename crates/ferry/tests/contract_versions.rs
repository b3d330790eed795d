//! Versions side by side: a component built against the frozen 1.0.0 contract
//! (`plugins/testing/contract-1-0`, from `wit/frozen/transform@1.0.0`) keeps loading and running
//! on this host, which serves `ferry:host@1.1` (`log.enabled` added `@since(1.1.0)`) and the role
//! packages at 1.1.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry::runtime::bindings::transform::Context;
use ferry::runtime::bindings::types::{Document, Field, Value};
use ferry::runtime::contract::{HOST, Version};
use ferry::runtime::{Grants, Role};

fn text<'a>(doc: &'a Document, name: &str) -> Option<&'a str> {
    doc.fields
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| match &f.value {
            Value::Text(t) => Some(t.as_str()),
            _ => None,
        })
}

#[tokio::test]
async fn a_component_built_against_frozen_1_0_loads_and_runs_on_the_1_1_host() {
    // The premise: this host serves a newer minor than the fixture was built for.
    let v1_0 = Version::parse("1.0.0").expect("version");
    assert!(HOST.version > v1_0, "host serves {HOST}");
    assert!(Role::Transform.package().version > v1_0);

    let rt = common::runtime();
    let plugin = rt
        .load(&common::component("contract_1_0"), Some(Role::Transform))
        .expect("a 1.0 component passes the contract check of a 1.1 host");
    let report = &plugin.report;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.version.as_deref(), Some("1.0.0"));
    assert!(
        report
            .exports
            .iter()
            .any(|e| e.name == "ferry:transform/transform@1.0.0"),
        "{:?}",
        report.exports
    );
    for import in ["ferry:host/log@1.0.0", "ferry:host/config@1.0.0"] {
        assert!(
            report.imports.iter().any(|i| i == import),
            "{import} in {:?}",
            report.imports
        );
    }

    // Runs: its 1.0 `config.get` and `log.log` imports resolve to the host's 1.1 ones.
    let settings = BTreeMap::from([("greeting".to_string(), "hello from 1.1".to_string())]);
    let grants = Arc::new(Grants::for_tenant("acme").with_plugin("contract-1-0", settings));
    let input = Document {
        kind: "quote".into(),
        id: Some("17".into()),
        fields: vec![Field {
            name: "DocNo".into(),
            value: Value::Text("AAAQ1001".into()),
        }],
        lines: Vec::new(),
    };
    let context = Context {
        tenant: "acme".into(),
        settings: Vec::new(),
        ids: Vec::new(),
    };
    let mapped = rt
        .transform(&plugin, grants)
        .await
        .expect("instantiate")
        .map_document("echo", &input, &context)
        .await
        .expect("the call completes")
        .expect("maps");
    let doc = mapped.document;
    assert_eq!(doc.kind, "echo");
    assert_eq!(text(&doc, "DocNo"), Some("AAAQ1001"));
    assert_eq!(text(&doc, "BuiltAgainst"), Some("ferry:transform@1.0.0"));
    assert_eq!(text(&doc, "Tenant"), Some("acme"));
    assert_eq!(text(&doc, "Greeting"), Some("hello from 1.1"));
}

#[tokio::test]
async fn a_live_1_1_component_and_the_frozen_1_0_one_serve_side_by_side() {
    let rt = common::runtime();
    let old = common::load(&rt, "contract_1_0", Role::Transform);
    let new = common::load(&rt, "test_transform", Role::Transform);
    assert_eq!(old.report.version.as_deref(), Some("1.0.0"));
    assert_eq!(
        new.report.version.as_deref(),
        Some(Role::Transform.package().version.to_string().as_str())
    );
    assert!(
        new.report
            .imports
            .iter()
            .any(|i| i == "ferry:host/log@1.1.0"),
        "{:?}",
        new.report.imports
    );
}

#[tokio::test]
async fn a_frozen_1_0_transform_is_prepared_like_a_1_1_one() {
    // Preparing runs the transform's `describe` and snapshots it; the export a 1.0 component
    // has is `…/transform@1.0.0`, which the snapshot must find by the component's version.
    let rt = common::runtime();
    let settings = BTreeMap::from([("greeting".to_string(), "prepared".to_string())]);
    let grants = Arc::new(Grants::for_tenant("acme").with_plugin("contract-1-0", settings));
    let prepared = rt
        .prepare_transform(&common::component("contract_1_0"), grants.clone())
        .await
        .expect("a 1.0 transform is prepared");
    assert_eq!(prepared.report.version.as_deref(), Some("1.0.0"));
    let input = Document {
        kind: "quote".into(),
        id: None,
        fields: Vec::new(),
        lines: Vec::new(),
    };
    let context = Context {
        tenant: "acme".into(),
        settings: Vec::new(),
        ids: Vec::new(),
    };
    let mapped = rt
        .transform(&prepared, grants)
        .await
        .expect("instantiate")
        .map_document("echo", &input, &context)
        .await
        .expect("the call completes")
        .expect("maps");
    assert_eq!(
        text(&mapped.document, "BuiltAgainst"),
        Some("ferry:transform@1.0.0")
    );
    assert_eq!(text(&mapped.document, "Greeting"), Some("prepared"));
}

/// Captures the level and message of each log event.
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<(tracing::Level, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Logs {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut v = V(String::new());
        event.record(&mut v);
        let level = *event.metadata().level();
        self.0.lock().expect("lock").push((level, v.0));
    }
}

#[tokio::test]
async fn a_plugin_logging_through_wasi_logging_loads_and_its_lines_reach_the_host_log() {
    use tracing_subscriber::layer::SubscriberExt;
    let logs = Logs::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));

    let rt = common::runtime();
    let plugin = rt
        .load(
            &common::component("wasi_logging_transform"),
            Some(Role::Transform),
        )
        .expect("wasi:logging is accepted for a transform");
    assert!(
        plugin
            .report
            .imports
            .iter()
            .any(|i| i == "wasi:logging/logging@0.1.0-draft"),
        "{:?}",
        plugin.report.imports
    );
    let grants = Arc::new(Grants::for_tenant("acme").with_plugin("wasi-logging", BTreeMap::new()));
    let input = Document {
        kind: "quote".into(),
        id: None,
        fields: Vec::new(),
        lines: Vec::new(),
    };
    let context = Context {
        tenant: "acme".into(),
        settings: Vec::new(),
        ids: Vec::new(),
    };
    for kind in ["info", "critical"] {
        rt.transform(&plugin, grants.clone())
            .await
            .expect("instantiate")
            .map_document(kind, &input, &context)
            .await
            .expect("the call completes")
            .expect("maps");
    }
    let logs = logs.0.lock().expect("lock").clone();
    assert!(
        logs.contains(&(
            tracing::Level::INFO,
            "wasi-fixture: mapped quote as info".into()
        )),
        "{logs:?}"
    );
    // `critical` has no tracing level of its own: it is an error.
    assert!(
        logs.contains(&(
            tracing::Level::ERROR,
            "wasi-fixture: mapped quote as critical".into()
        )),
        "{logs:?}"
    );
}
