//! A transform built against the frozen 1.0.0 contract (`wit/frozen/transform@1.0.0`, which
//! imports `ferry:host@1.0.0`), as a plugin released before 1.1 was. It does not use ferry-pdk
//! (which follows the live contract), so its imports and export carry 1.0.0. The host, serving
//! 1.1, must pass its contract check and run it (crates/ferry/tests/contract_versions.rs).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/frozen/transform@1.0.0",
    generate_all,
});

use exports::ferry::transform::transform::{Context, FieldUsage, Guest, Issue, Mapped};
use ferry::host::{config, log};
use ferry::types::types::{Document, Field, Value};

struct Contract10;

impl Guest for Contract10 {
    /// Echoes the input with a field saying which contract built it, plus the `greeting`
    /// setting: proof that the 1.0 imports (`config.get`, `log.log`) reach the 1.1 host.
    fn map_document(kind: String, input: Document, context: Context) -> Result<Mapped, Vec<Issue>> {
        let mut document = input;
        document.kind = kind;
        document.fields.push(Field {
            name: "BuiltAgainst".into(),
            value: Value::Text("ferry:transform@1.0.0".into()),
        });
        document.fields.push(Field {
            name: "Tenant".into(),
            value: Value::Text(context.tenant),
        });
        if let Some(greeting) = config::get("greeting") {
            document.fields.push(Field {
                name: "Greeting".into(),
                value: Value::Text(greeting),
            });
        }
        log::log(log::Level::Info, "mapped by a 1.0 plugin");
        Ok(Mapped {
            document,
            warnings: Vec::new(),
        })
    }

    fn describe() -> Vec<FieldUsage> {
        vec![FieldUsage {
            kind: "echo".into(),
            reads: Vec::new(),
            writes: vec!["BuiltAgainst".into(), "Tenant".into(), "Greeting".into()],
        }]
    }
}

export!(Contract10);
