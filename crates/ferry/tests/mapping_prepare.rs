//! A prepared transform (snapshot after `describe`, per tenant configuration) maps exactly as
//! the plain component does, and a configuration change is never served from a stale snapshot.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry::runtime::Role;
use ferry_domain::{Context, Document, Field, Line, Value};

fn quote() -> Document {
    let t = |n: &str, v: &str| Field {
        name: n.into(),
        value: Value::Text(v.into()),
    };
    let d = |n: &str, v: &str| Field {
        name: n.into(),
        value: Value::Decimal(v.into()),
    };
    Document {
        kind: "quote".into(),
        id: Some("7".into()),
        fields: vec![
            t("DocNo", "Q7"),
            t("SoldToCMAccountNo", "C1"),
            t("ShipVia", "Ground"),
            Field {
                name: "DocDate".into(),
                value: Value::Date("2026-11-27".into()),
            },
        ],
        lines: vec![Line {
            fields: vec![
                Field {
                    name: "LineType".into(),
                    value: Value::Integer(1),
                },
                t("ManufacturerPartNumber", "A-1"),
                d("QtyTotal", "2"),
                d("UnitPrice", "9.5"),
                d("UnitList", "10"),
                t("Description", "Thing"),
            ],
        }],
    }
}

async fn map(
    rt: &ferry::runtime::Runtime,
    plugin: &ferry::runtime::Plugin,
    grants: Arc<ferry::runtime::Grants>,
) -> Document {
    let ctx = Context {
        tenant: "t".into(),
        settings: vec![],
        ids: vec![("customer".into(), "C1".into())],
    };
    rt.transform(plugin, grants)
        .await
        .expect("instantiate")
        .map("quote-to-order", &quote(), &ctx)
        .await
        .expect("call")
        .expect("mapped")
        .document
}

#[tokio::test]
async fn a_prepared_mapping_maps_the_same_and_follows_its_configuration() {
    let rt = common::runtime();
    let bytes = common::component("ferry_mapping");
    let plain = rt.load(&bytes, Some(Role::Transform)).expect("load");
    let grants = Arc::new(common::grants("t"));
    let prepared = rt
        .prepare_transform(&bytes, grants.clone())
        .await
        .expect("prepare");
    assert_ne!(
        prepared.digest, plain.digest,
        "the snapshot is a component of its own"
    );
    assert_eq!(
        map(&rt, &prepared, grants.clone()).await,
        map(&rt, &plain, grants.clone()).await
    );

    // The snapshot caches by mapping text: a different mapping in the settings is parsed and
    // used, never the cached default.
    let custom = r#"
[mapping]
kind = "quote-to-order"
output = "order"
id = "DocNo"
[header]
CUOR = "DocNo"
ORTP = "'ZZZ'"
"#;
    let other = Arc::new(ferry::runtime::Grants::for_tenant("t").with_plugin(
        "t",
        BTreeMap::from([("mapping.quote-to-order".to_string(), custom.to_string())]),
    ));
    let out = map(&rt, &prepared, other).await;
    assert!(
        out.fields
            .iter()
            .any(|f| f.name == "ORTP" && f.value == Value::Text("ZZZ".into())),
        "{out:?}"
    );
}
