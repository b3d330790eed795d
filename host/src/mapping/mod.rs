//! Declarative mappings on the host side: the engine (crate `ferry-mapping-engine`, the same code
//! the `mapping` component runs) natively, for `ferry mapping test`, `ferry mapping suggest` and
//! the benchmark's native baseline; conversions between the contract's documents and the
//! engine's; and documents as JSON.

pub mod json;
pub mod suggest;

pub use ferry_mapping_engine as engine;
pub use ferry_mapping_engine::{Mapping, MappingError};

use crate::runtime::bindings::mapping as wit_mapping;
use crate::runtime::bindings::types;

/// The shipped default mappings (the files in `mappings/`), by kind. The `mapping` component
/// builds in the same files.
pub const DEFAULTS: &[(&str, &str)] = &[
    (
        "quote-to-order",
        include_str!("../../../mappings/quote-to-order.toml"),
    ),
    (
        "item-to-product",
        include_str!("../../../mappings/item-to-product.toml"),
    ),
    (
        "customer-to-erp",
        include_str!("../../../mappings/customer-to-erp.toml"),
    ),
    (
        "customer-to-quoting",
        include_str!("../../../mappings/customer-to-quoting.toml"),
    ),
];

/// The shipped default mapping for `kind`, parsed.
pub fn default_mapping(kind: &str) -> Option<Mapping> {
    DEFAULTS
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, text)| Mapping::parse(text).ok())
}

fn value_to_engine(v: &types::Value) -> engine::Value {
    match v {
        types::Value::Text(s) => engine::Value::Text(s.clone()),
        types::Value::Decimal(s) => engine::Value::Decimal(s.clone()),
        types::Value::Integer(i) => engine::Value::Integer(*i),
        types::Value::Boolean(b) => engine::Value::Boolean(*b),
        types::Value::Date(s) => engine::Value::Date(s.clone()),
        types::Value::Null => engine::Value::Null,
    }
}

fn value_from_engine(v: engine::Value) -> types::Value {
    match v {
        engine::Value::Text(s) => types::Value::Text(s),
        engine::Value::Decimal(s) => types::Value::Decimal(s),
        engine::Value::Integer(i) => types::Value::Integer(i),
        engine::Value::Boolean(b) => types::Value::Boolean(b),
        engine::Value::Date(s) => types::Value::Date(s),
        engine::Value::Null => types::Value::Null,
    }
}

fn fields_to_engine(fields: &[types::Field]) -> Vec<engine::Field> {
    fields
        .iter()
        .map(|f| engine::Field::new(f.name.clone(), value_to_engine(&f.value)))
        .collect()
}

fn fields_from_engine(fields: Vec<engine::Field>) -> Vec<types::Field> {
    fields
        .into_iter()
        .map(|f| types::Field {
            name: f.name,
            value: value_from_engine(f.value),
        })
        .collect()
}

/// A contract document as the engine's.
pub fn document_to_engine(doc: &types::Document) -> engine::Document {
    engine::Document {
        kind: doc.kind.clone(),
        id: doc.id.clone(),
        fields: fields_to_engine(&doc.fields),
        lines: doc
            .lines
            .iter()
            .map(|l| engine::Line {
                fields: fields_to_engine(&l.fields),
            })
            .collect(),
    }
}

/// The engine's document as the contract's.
pub fn document_from_engine(doc: engine::Document) -> types::Document {
    types::Document {
        kind: doc.kind,
        id: doc.id,
        fields: fields_from_engine(doc.fields),
        lines: doc
            .lines
            .into_iter()
            .map(|l| types::Line {
                fields: fields_from_engine(l.fields),
            })
            .collect(),
    }
}

pub fn context_to_engine(ctx: &wit_mapping::Context) -> engine::Context {
    engine::Context {
        tenant: ctx.tenant.clone(),
        settings: ctx.settings.clone(),
        ids: ctx.ids.clone(),
    }
}

pub fn issue_from_engine(i: engine::Issue) -> wit_mapping::Issue {
    wit_mapping::Issue {
        severity: match i.severity {
            engine::Severity::Error => wit_mapping::Severity::Error,
            engine::Severity::Warning => wit_mapping::Severity::Warning,
        },
        rule: i.rule,
        field: i.field,
        line: i.line,
        message: i.message,
    }
}

/// Runs a mapping natively over contract types: what the `mapping` component does, without
/// the sandbox (used by `ferry mapping test` and as the benchmark's baseline).
pub fn map_native(
    mapping: &Mapping,
    input: &types::Document,
    context: &wit_mapping::Context,
) -> Result<wit_mapping::Mapped, Vec<wit_mapping::Issue>> {
    let doc = document_to_engine(input);
    let ctx = context_to_engine(context);
    match mapping.map(&doc, &ctx) {
        Ok(m) => Ok(wit_mapping::Mapped {
            document: document_from_engine(m.document),
            warnings: m.warnings.into_iter().map(issue_from_engine).collect(),
        }),
        Err(issues) => Err(issues.into_iter().map(issue_from_engine).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_mapping_parses() {
        for (kind, text) in DEFAULTS {
            let m = Mapping::parse(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(m.kind(), *kind);
        }
    }
}
