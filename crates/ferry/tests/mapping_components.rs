//! The mapping components in the real runtime: the declarative `mapping` component (built-in
//! defaults and mappings given as settings), the Rust example (bundles) and the Python example
//! (contract pricing, componentize-py).

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ferry::mapping::{Mapping, default_mapping, engine};
use ferry::runtime::bindings::transform::{Context, Issue, Mapped, Severity};
use ferry::runtime::bindings::types::{Document, Field, Line, Value};
use ferry::runtime::{Grants, Plugin, Role, Runtime, RuntimeSettings};
use rust_decimal::Decimal;

/// Runs a mapping natively over the contract's types: what the `mapping` component does,
/// without the sandbox, converted where the runtime converts (`roles::convert`).
fn map_native(
    mapping: &Mapping,
    input: &Document,
    context: &Context,
) -> Result<Mapped, Vec<Issue>> {
    let document = engine::Document::from(input.clone());
    let context = engine::Context::from(context.clone());
    ferry::runtime::roles::mapping_result_to_wit(mapping.map(&document, &context))
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

fn d(s: &str) -> Value {
    Value::Decimal(s.into())
}

fn field(name: &str, value: Value) -> Field {
    Field {
        name: name.into(),
        value,
    }
}

fn product(part: &str, qty: &str, price: &str) -> Line {
    Line {
        fields: vec![
            field("LineType", Value::Integer(1)),
            field("LineAttributes", Value::Integer(0)),
            field("ManufacturerPartNumber", t(part)),
            field("Description", t("Part")),
            field("QtyTotal", t(qty)),
            field("UnitOfMeasure", t("Each")),
            field("UnitPrice", t(price)),
        ],
    }
}

fn quote(lines: Vec<Line>) -> Document {
    Document {
        kind: "quote".into(),
        id: Some("17".into()),
        fields: vec![
            field("DocNo", t("AAAQ1001")),
            field("DocDate", Value::Date("2025-03-07".into())),
            field("ShipVia", t("Ground")),
        ],
        lines,
    }
}

fn ctx() -> Context {
    Context {
        tenant: "acme".into(),
        settings: vec![("warehouse".into(), "200".into())],
        ids: vec![("customer".into(), "C100234".into())],
    }
}

fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

fn grants(settings: &[(&str, &str)]) -> Arc<Grants> {
    let map: BTreeMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(Grants::for_tenant("acme").with_plugin("mapping-test", map))
}

async fn call(
    rt: &Runtime,
    plugin: &Plugin,
    settings: &[(&str, &str)],
    kind: &str,
    doc: &Document,
) -> Result<Mapped, Vec<Issue>> {
    rt.transform(plugin, grants(settings))
        .await
        .expect("instantiate")
        .map_document(kind, doc, &ctx())
        .await
        .expect("the call completes")
}

#[tokio::test]
async fn declarative_component_runs_the_default_mapping_like_the_native_engine() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "ferry_mapping", Role::Transform);
    let doc = quote(vec![
        product("ABC-100", "4", "90.00"),
        product("DEF-200", "1", "5"),
    ]);
    let wasm = call(&rt, &plugin, &[], "quote-to-order", &doc)
        .await
        .expect("maps");
    let native = map_native(&default_mapping("quote-to-order").unwrap(), &doc, &ctx()).unwrap();
    assert_eq!(wasm, native);
    assert_eq!(get(&wasm.document.fields, "CUNO"), Some(&t("C100234")));
    assert_eq!(get(&wasm.document.fields, "WHLO"), Some(&t("200")));
    assert_eq!(get(&wasm.document.lines[0].fields, "ORQT"), Some(&d("4")));
}

#[tokio::test]
async fn changing_the_mapping_setting_changes_the_output_without_a_rebuild() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "ferry_mapping", Role::Transform);
    let doc = quote(vec![product("ABC-100", "2", "10")]);
    let v1 = r#"
        [mapping]
        kind = "quote-to-order"
        [header]
        CUOR = "DocNo"
        [lines.fields]
        ITNO = "ManufacturerPartNumber"
    "#;
    let v2 = r#"
        [mapping]
        kind = "quote-to-order"
        [header]
        CUOR = "concat('QW-', DocNo)"
        WHLO = "setting.warehouse"
        [lines.fields]
        ITNO = "lower(ManufacturerPartNumber)"
        LNAM = "round(QtyTotal * UnitPrice, 2)"
    "#;
    let a = call(&rt, &plugin, &[("mapping", v1)], "quote-to-order", &doc)
        .await
        .expect("v1 maps");
    assert_eq!(a.document.fields, vec![field("CUOR", t("AAAQ1001"))]);
    // Plugin settings that are not mappings reach the mapping as setting.X (the host's
    // context settings win: warehouse 200 here).
    let b = call(
        &rt,
        &plugin,
        &[("mapping.quote-to-order", v2), ("warehouse", "900")],
        "quote-to-order",
        &doc,
    )
    .await
    .expect("v2 maps");
    assert_eq!(get(&b.document.fields, "CUOR"), Some(&t("QW-AAAQ1001")));
    assert_eq!(get(&b.document.fields, "WHLO"), Some(&t("200")));
    assert_eq!(
        get(&b.document.lines[0].fields, "ITNO"),
        Some(&t("abc-100"))
    );
    assert_eq!(get(&b.document.lines[0].fields, "LNAM"), Some(&d("20")));
}

#[tokio::test]
async fn declarative_component_reports_bad_data_bad_mappings_and_wrong_kinds() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "ferry_mapping", Role::Transform);
    let doc = quote(vec![
        product("A", "1", "1"),
        product("B", "1", "1"),
        product("C", "1", "1"),
        product("D", "abc", "1"),
    ]);
    let issues = call(&rt, &plugin, &[], "quote-to-order", &doc)
        .await
        .unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].severity, Severity::Error);
    assert_eq!(issues[0].field, "ORQT");
    assert_eq!(issues[0].line, Some(3));
    assert_eq!(issues[0].rule.as_deref(), Some("lines.ORQT"));
    assert_eq!(issues[0].message, "'abc' is not a decimal");

    let broken = "[mapping]\nkind = \"quote-to-order\"\n[header]\nCUOR = \"round(DocNo\"";
    let issues = call(&rt, &plugin, &[("mapping", broken)], "quote-to-order", &doc)
        .await
        .unwrap_err();
    assert_eq!(issues[0].field, "mapping");
    assert!(
        issues[0]
            .message
            .starts_with("setting mapping: [header] CUOR:"),
        "{}",
        issues[0].message
    );

    let other = "[mapping]\nkind = \"item-to-product\"\n[header]\nX = \"ITNO\"";
    let issues = call(&rt, &plugin, &[("mapping", other)], "quote-to-order", &doc)
        .await
        .unwrap_err();
    assert_eq!(
        issues[0].message,
        "setting mapping maps 'item-to-product', not 'quote-to-order'"
    );

    let issues = call(&rt, &plugin, &[], "invoice-to-ledger", &doc)
        .await
        .unwrap_err();
    assert!(
        issues[0]
            .message
            .starts_with("no mapping for 'invoice-to-ledger'")
    );
}

#[tokio::test]
async fn declarative_component_describes_what_each_default_reads_and_writes() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "ferry_mapping", Role::Transform);
    let mut call = rt
        .transform(&plugin, grants(&[]))
        .await
        .expect("instantiate");
    let (bindings, store) = call.parts();
    let result = bindings
        .ferry_transform_transform()
        .call_describe(store)
        .await;
    let usage = call.finish(result).expect("describe");
    let kinds: Vec<String> = usage.iter().map(|u| u.kind.clone()).collect();
    // Every file in mappings/ is built in, with no list to keep by hand.
    assert_eq!(kinds, shipped_kinds());
    let order = usage
        .iter()
        .find(|u| u.kind == "quote-to-order")
        .expect("quote-to-order");
    assert!(order.writes.contains(&"lines.ORQT".to_string()));
    let item = usage
        .iter()
        .find(|u| u.kind == "item-to-product")
        .expect("item-to-product");
    assert!(item.reads.contains(&"STAT".to_string()));
    let customer = usage
        .iter()
        .find(|u| u.kind == "quote-to-customer")
        .expect("quote-to-customer");
    assert!(customer.writes.contains(&"match:email".to_string()));
}

// ---- the Rust example ----

/// M3's net amount of an order line: price x quantity to cents, minus the discount amount.
fn m3_net(line: &Line) -> Decimal {
    let dec = |name: &str| match get(&line.fields, name) {
        Some(Value::Decimal(s)) => s.parse::<Decimal>().expect("decimal"),
        None => Decimal::ZERO,
        other => panic!("{name}: {other:?}"),
    };
    (dec("SAPR") * dec("ORQT")).round_dp(2) - dec("DIA1")
}

#[tokio::test]
async fn rust_example_explodes_bundles_and_keeps_the_total_to_the_cent() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "example_bundles", Role::Transform);
    let bundles =
        "KIT-100: ABC-100 x2 60%, DEF-200 x1 40%\nKIT-7: P1 x7 33.33%, P2 x3 33.33%, P3 x1 33.34%";
    for (kit, qty, price) in [
        ("KIT-100", "5", "145.00"),
        ("KIT-7", "3", "10.01"),
        ("KIT-7", "13", "99.99"),
    ] {
        let doc = quote(vec![
            product("PLAIN-1", "2", "3.50"),
            product(kit, qty, price),
        ]);
        let mapped = call(
            &rt,
            &plugin,
            &[("bundles", bundles)],
            "quote-to-order",
            &doc,
        )
        .await
        .expect("maps");
        let lines = &mapped.document.lines;
        let kit_total =
            (qty.parse::<Decimal>().unwrap() * price.parse::<Decimal>().unwrap()).round_dp(2);
        assert_eq!(get(&lines[0].fields, "ITNO"), Some(&t("PLAIN-1")));
        let components = &lines[1..];
        assert!(components.len() >= 2, "{kit} was exploded");
        assert!(
            components
                .iter()
                .all(|l| get(&l.fields, "ITNO") != Some(&t(kit)))
        );
        let sum: Decimal = components.iter().map(m3_net).sum();
        assert_eq!(
            sum, kit_total,
            "{kit} x{qty} at {price}: components add up exactly"
        );
    }
    let doc = quote(vec![product("KIT-100", "5", "145.00")]);
    let mapped = call(
        &rt,
        &plugin,
        &[("bundles", bundles)],
        "quote-to-order",
        &doc,
    )
    .await
    .unwrap();
    let first = &mapped.document.lines[0].fields;
    assert_eq!(get(first, "ITNO"), Some(&t("ABC-100")));
    assert_eq!(get(first, "ORQT"), Some(&d("10")), "5 kits x 2");
    assert_eq!(get(&mapped.document.fields, "CUNO"), Some(&t("C100234")));
}

#[tokio::test]
async fn rust_example_refuses_bad_settings_and_bad_quantities() {
    let rt = common::runtime();
    let plugin = common::load(&rt, "example_bundles", Role::Transform);
    let doc = quote(vec![product("A", "1", "1")]);
    let issues = call(
        &rt,
        &plugin,
        &[("bundles", "KIT: A x1 50%")],
        "quote-to-order",
        &doc,
    )
    .await
    .unwrap_err();
    assert_eq!(issues[0].field, "bundles");
    assert!(
        issues[0].message.contains("add up to 50%"),
        "{}",
        issues[0].message
    );

    let doc = quote(vec![product("A", "1", "1"), product("B", "abc", "1")]);
    let issues = call(&rt, &plugin, &[], "quote-to-order", &doc)
        .await
        .unwrap_err();
    assert_eq!(
        (issues[0].field.as_str(), issues[0].line),
        ("ORQT", Some(1))
    );
    assert!(issues[0].message.contains("'abc' is not a decimal"));
}

// ---- the Python example ----

/// componentize-py components are ~18 MB: compiled once into a cache kept between test runs,
/// and given a memory cap a CPython interpreter fits in.
fn python_runtime() -> Arc<Runtime> {
    Runtime::new(RuntimeSettings {
        cache_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compile-cache")),
        memory_limit_mib: 256,
        call_deadline_ms: 30_000,
        max_instances: 8,
        ..RuntimeSettings::default()
    })
    .expect("runtime")
}

#[tokio::test]
async fn python_example_applies_contract_prices_and_volume_tiers() {
    let rt = python_runtime();
    let plugin = rt
        .load(&common::component("example_pricing"), Some(Role::Transform))
        .expect("load the Python component");
    let settings = [
        ("contract_prices", "ABC-100=85.005, XYZ-9=1"),
        ("tiers", "10:2, 50:5, 100:8"),
    ];
    let doc = quote(vec![
        product("ABC-100", "200", "90.00"),
        product("DEF-200", "60", "12.345"),
        product("GHI-300", "3", "7"),
    ]);
    let mapped = call(&rt, &plugin, &settings, "quote-to-order", &doc)
        .await
        .expect("maps");
    let lines = &mapped.document.lines;
    assert_eq!(get(&mapped.document.fields, "CUOR"), Some(&t("AAAQ1001")));
    // Contract price, half-up to cents, and no volume discount on a contract line.
    assert_eq!(get(&lines[0].fields, "SAPR"), Some(&d("85.01")));
    assert_eq!(get(&lines[0].fields, "DIP1"), None);
    // 60 units: the 50+ tier, 5 %.
    assert_eq!(get(&lines[1].fields, "SAPR"), Some(&d("12.35")));
    assert_eq!(get(&lines[1].fields, "DIP1"), Some(&d("5")));
    // 3 units: no tier.
    assert_eq!(get(&lines[2].fields, "DIP1"), None);

    let bad = quote(vec![product("ABC-100", "lots", "1")]);
    let issues = call(&rt, &plugin, &settings, "quote-to-order", &bad)
        .await
        .unwrap_err();
    assert_eq!(issues[0].field, "ORQT");
    assert_eq!(issues[0].line, Some(0));
    assert_eq!(issues[0].message, "'lots' is not a decimal");
}

/// The kinds of the files in `mappings/` (file names without `.toml`), sorted.
fn shipped_kinds() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let mut kinds: Vec<String> = std::fs::read_dir(&dir)
        .expect("read mappings/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    kinds.sort();
    kinds
}

#[test]
fn shipped_mappings_and_the_host_defaults_are_the_same_files() {
    // One list, generated from mappings/*.toml by the engine's build script, for the host and
    // the component (whose `describe` lists the same kinds, see above).
    let kinds: Vec<String> = ferry::mapping::DEFAULTS
        .iter()
        .map(|(k, _)| k.to_string())
        .collect();
    assert_eq!(kinds, shipped_kinds());
    for (kind, text) in ferry::mapping::DEFAULTS {
        let path = format!("{}/../../mappings/{kind}.toml", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), *text);
        Mapping::parse(text).expect("parses");
        assert!(default_mapping(kind).is_some(), "{kind}");
    }
}
