//! Versions side by side: a component built against the frozen 1.0.0 contract
//! (`plugins/testing/contract-1-0`, from `wit/frozen/transform@1.0.0`) keeps loading and running
//! on this host, which serves `ferry:host@1.1` (`log.enabled` added `@since(1.1.0)`), transform
//! at 1.1, quoting at 1.2 and erp at 1.4. An erp and a quoting plugin built against the frozen
//! 1.1 (`plugins/testing/contract-1-1-erp`, `-quoting`), which lack 1.2's new exports, load,
//! answer their functions, and get `unsupported` for the new ones without the guest running.
//! An erp plugin built against the frozen 1.3 (`plugins/testing/contract-1-3-erp`) answers its
//! batched prices and stock in one guest call per batch and lists invoices through the 1.3
//! bindings; 1.4's `list-stocks-changed` is "cannot tell" (`None`) without the guest running.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry::runtime::bindings::transform::Context;
use ferry::runtime::bindings::types::{Document, Field, Value};
use std::sync::atomic::{AtomicU32, Ordering};

use ferry::runtime::contract::{HOST, Version};
use ferry::runtime::{Grants, Plugin, PluginSource, Role, Runtime};
use ferry_domain::{ErrorClass, RoleFailure, Roles};

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

/// One tenant's roles over exactly these plugins. Every call that reaches a guest instantiates
/// it with the tenant's grants, so `instantiations` counts the guest runs.
struct Fixed {
    runtime: Arc<Runtime>,
    erp: Arc<Plugin>,
    quoting: Arc<Plugin>,
    instantiations: AtomicU32,
}

impl PluginSource for Fixed {
    fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    fn plugin(&self, role: Role) -> Result<Arc<Plugin>, String> {
        match role {
            Role::Erp => Ok(self.erp.clone()),
            Role::Quoting => Ok(self.quoting.clone()),
            Role::Transform => Err("no transform here".into()),
        }
    }

    fn grants(&self, _: Role) -> Arc<Grants> {
        self.instantiations.fetch_add(1, Ordering::SeqCst);
        Arc::new(common::grants("acme"))
    }
}

fn roles_over(erp: &str, quoting: &str) -> (Arc<Fixed>, Roles) {
    let runtime = common::runtime();
    let source = Arc::new(Fixed {
        erp: Arc::new(common::load(&runtime, erp, Role::Erp)),
        quoting: Arc::new(common::load(&runtime, quoting, Role::Quoting)),
        runtime,
        instantiations: AtomicU32::new(0),
    });
    let roles = ferry::runtime::roles::roles(source.clone());
    (source, roles)
}

fn unsupported_naming(e: RoleFailure, words: &[&str]) {
    let RoleFailure::Error(e) = e else {
        panic!("a role error, not {e:?}");
    };
    assert_eq!(e.class, ErrorClass::Unsupported, "{e}");
    for w in words {
        assert!(e.message.contains(w), "{w} in {}", e.message);
    }
}

#[tokio::test]
async fn erp_and_quoting_plugins_built_against_frozen_1_1_load_on_the_1_2_host() {
    let v1_1 = Version::parse("1.1.0").expect("version");
    assert!(Role::Erp.package().version > v1_1);
    assert!(Role::Quoting.package().version > v1_1);
    let (source, _) = roles_over("contract_1_1_erp", "contract_1_1_quoting");
    for (plugin, export) in [
        (&source.erp, "ferry:erp/erp@1.1.0"),
        (&source.quoting, "ferry:quoting/quoting@1.1.0"),
    ] {
        let report = &plugin.report;
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.version.as_deref(), Some("1.1.0"));
        assert!(
            report.exports.iter().any(|e| e.name == export),
            "{:?}",
            report.exports
        );
        assert!(plugin.predates_exports(), "served by the 1.1 bindings");
    }
}

#[tokio::test]
async fn a_1_1_erp_plugin_answers_its_functions_and_invoices_are_unsupported_without_running_it() {
    let (source, roles) = roles_over("contract_1_1_erp", "contract_1_1_quoting");
    let receipt = roles
        .erp
        .get_order_status("1000017")
        .await
        .expect("answers");
    assert_eq!(receipt.order_number, "1000017");
    assert_eq!(receipt.status, "77");
    assert_eq!(receipt.reference, "built against ferry:erp@1.1.0");
    let found = roles
        .erp
        .find_order("Q17", Some("C1"))
        .await
        .expect("answers");
    assert_eq!(found.map(|r| r.line_numbers), Some(vec!["1".to_string()]));
    assert_eq!(source.instantiations.load(Ordering::SeqCst), 2);

    let e = roles
        .erp
        .list_order_invoices("1000017")
        .await
        .expect_err("a 1.1 plugin has no invoices");
    unsupported_naming(e, &["ferry:erp@1.1.0", "list-order-invoices", "1.2.0"]);
    assert_eq!(
        source.instantiations.load(Ordering::SeqCst),
        2,
        "the guest never ran for it"
    );
}

#[tokio::test]
async fn a_1_1_quoting_plugin_answers_its_functions_and_set_invoice_is_unsupported_without_running_it()
 {
    let (source, roles) = roles_over("contract_1_1_erp", "contract_1_1_quoting");
    let quote = roles.quoting.get_quote("17").await.expect("answers");
    assert_eq!(quote.id.as_deref(), Some("17"));
    assert!(
        quote.fields.iter().any(|f| f.name == "BuiltAgainst"
            && f.value == ferry_domain::Value::Text("ferry:quoting@1.1.0".into())),
        "{quote:?}"
    );
    let page = roles
        .quoting
        .list_ready_quotes(&ferry_domain::PageRequest::default())
        .await
        .expect("answers");
    assert_eq!(page.quotes[0].number, "AAAQ1017");
    let event = roles
        .quoting
        .parse_webhook(&ferry_domain::InboundWebhook {
            headers: Vec::new(),
            body: b"17".to_vec(),
        })
        .await
        .expect("answers");
    assert_eq!(event.quote_id, "17");
    roles
        .quoting
        .set_status("17", "Ordered")
        .await
        .expect("answers");
    assert_eq!(source.instantiations.load(Ordering::SeqCst), 4);

    let e = roles
        .quoting
        .set_invoice("17", "200001", "2026-12-03")
        .await
        .expect_err("a 1.1 plugin can't write invoices");
    unsupported_naming(e, &["ferry:quoting@1.1.0", "set-invoice", "1.2.0"]);
    assert_eq!(
        source.instantiations.load(Ordering::SeqCst),
        4,
        "the guest never ran for it"
    );
}

#[tokio::test]
async fn a_1_2_erp_plugin_beside_a_1_1_one_lists_invoices() {
    let (source, roles) = roles_over("test_erp", "contract_1_1_quoting");
    assert!(!source.erp.predates_exports());
    assert_eq!(
        source.erp.report.version.as_deref(),
        Some(Role::Erp.package().version.to_string().as_str())
    );
    let invoices = roles
        .erp
        .list_order_invoices("1000017")
        .await
        .expect("a 1.2 plugin lists invoices");
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].number, "INV-1000017");
    assert_eq!(invoices[0].date, "2026-12-03");
    assert_eq!(source.instantiations.load(Ordering::SeqCst), 1);
}

/// Issue 12, acceptance 5: a catalog sync's calls reach plugins built against 1.1 through the
/// 1.1 bindings (they were made through the 1.2 ones, which refuse such a plugin).
#[tokio::test]
async fn the_catalog_calls_reach_1_1_erp_and_quoting_plugins() {
    let (source, roles) = roles_over("contract_1_1_erp", "contract_1_1_quoting");
    let page = ferry_domain::PageRequest {
        cursor: None,
        limit: 100,
    };
    let items = roles.erp_catalog.list_items(&page).await.expect("items");
    let ids: Vec<_> = items
        .documents
        .iter()
        .filter_map(|d| d.id.clone())
        .collect();
    assert_eq!(ids, ["A100", "A200"]);
    let changed = roles
        .erp_catalog
        .list_items_changed("2026-12-01", &page)
        .await
        .expect("changed");
    assert_eq!(changed.documents.len(), 1);
    let price = roles
        .erp_catalog
        .get_item_price("A100")
        .await
        .expect("price");
    assert_eq!(
        (price.item.as_str(), price.amount.as_str()),
        ("A100", "12.50")
    );
    let stock = roles.erp_catalog.get_stock("A100").await.expect("stock");
    assert_eq!(stock.len(), 1);
    assert_eq!(stock[0].allocatable, "5");

    let report = roles
        .quoting_catalog
        .upsert_products(&items.documents)
        .await
        .expect("upsert");
    assert_eq!(report.inserted, 2);
    let availability = vec![ferry_domain::Availability {
        product: "A100".into(),
        quantity: "5".into(),
        warehouse: Some("100".into()),
    }];
    assert_eq!(
        roles
            .quoting_catalog
            .set_availability(&availability)
            .await
            .expect("availability"),
        1
    );
    assert_eq!(source.instantiations.load(Ordering::SeqCst), 6);
}

/// Batched prices as (item, list price, customer price).
fn prices(found: &[ferry_domain::catalog::ItemPrices]) -> Vec<(&str, Option<&str>, Option<&str>)> {
    found
        .iter()
        .map(|p| {
            (
                p.item.as_str(),
                p.list.as_ref().map(|l| l.amount.as_str()),
                p.customer.as_ref().map(|c| c.amount.as_str()),
            )
        })
        .collect()
}

/// An item's balances as (warehouse, on hand, allocatable).
type Balances<'a> = Vec<(&'a str, &'a str, &'a str)>;

/// Batched stock as (item, balances).
fn stocks(found: &[ferry_domain::catalog::ItemStock]) -> Vec<(&str, Balances<'_>)> {
    found
        .iter()
        .map(|s| {
            let balances = s
                .balances
                .iter()
                .map(|b| {
                    (
                        b.warehouse.as_str(),
                        b.on_hand.as_str(),
                        b.allocatable.as_str(),
                    )
                })
                .collect();
            (s.item.as_str(), balances)
        })
        .collect()
}

/// `ferry:erp` 1.3 → 1.4 (`list-stocks-changed`): a plugin built against the frozen 1.3 loads,
/// is served by the 1.3 bindings, and its batched calls answer a batch in one guest call each
/// (a host asking item by item would get the fixture's per-item answers, and run it per item).
#[tokio::test]
async fn a_1_3_erp_plugin_answers_its_batched_calls_in_one_call_each_and_lists_invoices() {
    let v1_3 = Version::parse("1.3.0").expect("version");
    assert!(
        Role::Erp.package().version > v1_3,
        "host serves a newer erp"
    );
    let (source, roles) = roles_over("contract_1_3_erp", "contract_1_1_quoting");
    let report = &source.erp.report;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.version.as_deref(), Some("1.3.0"));
    assert!(
        report
            .exports
            .iter()
            .any(|e| e.name == "ferry:erp/erp@1.3.0"),
        "{:?}",
        report.exports
    );
    assert!(source.erp.predates_exports(), "served by older bindings");
    let ran = || source.instantiations.load(Ordering::SeqCst);

    // What a per-item fallback would see: another price, another warehouse.
    let catalog = &roles.erp_catalog;
    let one = catalog.get_item_price("A100").await.expect("price");
    assert_eq!(one.amount, "0.01");
    let one = catalog.get_stock("A100").await.expect("stock");
    assert_eq!(one[0].warehouse, "999");
    assert_eq!(ran(), 2);

    let items: Vec<String> = ["A100", "A200", "Z999"].map(String::from).into();
    let found = catalog.get_item_prices(&items, None).await.expect("prices");
    assert_eq!(
        prices(&found),
        [
            ("A100", Some("10.00"), None),
            ("A200", Some("20.00"), None),
            ("Z999", None, None),
        ]
    );
    assert_eq!(
        found[0].list.as_ref().and_then(|p| p.unit.as_deref()),
        Some("EA")
    );
    assert_eq!(ran(), 3, "one guest call for the batch");
    let found = catalog
        .get_item_prices(&items, Some("C1"))
        .await
        .expect("prices with the reference customer's");
    assert_eq!(
        prices(&found),
        [
            ("A100", Some("10.00"), Some("9.00")),
            ("A200", Some("20.00"), Some("18.00")),
            ("Z999", None, None),
        ]
    );
    assert_eq!(ran(), 4, "one guest call for the batch");

    let found = catalog.get_stocks(&items, &[]).await.expect("stocks");
    assert_eq!(
        stocks(&found),
        [
            ("A100", vec![("100", "7", "5"), ("200", "3", "3")]),
            ("A200", vec![("100", "40", "38")]),
            ("Z999", vec![]),
        ]
    );
    assert_eq!(ran(), 5, "one guest call for the batch");
    let found = catalog
        .get_stocks(&items, &["200".to_string()])
        .await
        .expect("stocks in one warehouse");
    assert_eq!(
        stocks(&found),
        [
            ("A100", vec![("200", "3", "3")]),
            ("A200", vec![]),
            ("Z999", vec![]),
        ]
    );
    assert_eq!(ran(), 6, "one guest call for the batch");

    let page = ferry_domain::PageRequest {
        cursor: None,
        limit: 100,
    };
    let listed = catalog.list_items(&page).await.expect("items");
    let ids: Vec<_> = listed
        .documents
        .iter()
        .filter_map(|d| d.id.clone())
        .collect();
    assert_eq!(ids, ["A100", "A200"]);

    let invoices = roles
        .erp
        .list_order_invoices("1000017")
        .await
        .expect("a 1.3 plugin lists invoices");
    assert_eq!(
        invoices,
        [ferry_domain::Invoice {
            number: "INV13-1000017".into(),
            date: "2026-12-04".into(),
            amount: Some("250.00".into()),
            currency: Some("SEK".into()),
        }]
    );
    assert_eq!(ran(), 8);
}

/// 1.4's `list-stocks-changed` for a 1.3 plugin: "cannot tell" (`None`, the stock sync reads
/// every item) without running the guest. A 1.4 plugin that answers `None` itself is run.
#[tokio::test]
async fn a_1_3_erp_plugin_cannot_tell_which_stocks_changed_and_never_runs_for_it() {
    let (source, roles) = roles_over("contract_1_3_erp", "contract_1_1_quoting");
    let items = ["A100".to_string()];
    let found = roles
        .erp_catalog
        .get_stocks(&items, &[])
        .await
        .expect("the plugin runs");
    assert_eq!(found[0].balances.len(), 2);
    assert_eq!(source.instantiations.load(Ordering::SeqCst), 1);

    let changed = roles
        .erp_catalog
        .list_stocks_changed("2026-12-01T00:00:00Z", &[])
        .await
        .expect("answers");
    assert_eq!(changed, None, "cannot tell");
    assert_eq!(
        source.instantiations.load(Ordering::SeqCst),
        1,
        "the guest never ran for it"
    );

    // The count would show a run: a 1.4 plugin is asked (test-erp answers `None` too).
    let (source, roles) = roles_over("test_erp", "contract_1_1_quoting");
    assert!(!source.erp.predates_exports());
    let changed = roles
        .erp_catalog
        .list_stocks_changed("2026-12-01T00:00:00Z", &[])
        .await
        .expect("answers");
    assert_eq!(changed, None);
    assert_eq!(source.instantiations.load(Ordering::SeqCst), 1);
}
