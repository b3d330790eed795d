//! The schemas `suggest` works over: each side's fields with level, type, length and
//! description, from the one M3 field catalog (`crates/m3-fields`) and QuoteWerks' field list
//! (`crates/ferry/data/quotewerks-fields.txt`).

use std::collections::HashSet;

use super::super::engine::Level;

const QW_FIELDS: &str = include_str!("../../../data/quotewerks-fields.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Decimal,
    Integer,
    Date,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaField {
    /// As a rule reads it: `DocNo`, `id.customer`, `setting.warehouse`, `line.number`.
    pub name: String,
    pub level: Level,
    pub ty: FieldType,
    pub length: Option<usize>,
    pub description: String,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub fields: Vec<SchemaField>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SuggestError {
    #[error(
        "unknown {role} '{spec}' (sources: quotewerks:quote, quotewerks:customer, m3:item, m3:customer; \
         targets: m3:order, m3:customer, quotewerks:product, quotewerks:customer)"
    )]
    UnknownSchema { role: &'static str, spec: String },
}

/// One M3 transaction's inputs or outputs (`part` is `IN` or `OUT`) from the one M3 field
/// catalog: (name, description).
fn m3_transaction(path: &str, part: &str) -> Vec<(String, String)> {
    let Some(t) = ferry_m3_fields::catalog().get_path(path) else {
        return Vec::new();
    };
    if part == "IN" {
        t.inputs
            .iter()
            .map(|f| (f.name.clone(), f.description.clone()))
            .collect()
    } else {
        t.outputs
            .iter()
            .map(|f| (f.name.clone(), f.description.clone()))
            .collect()
    }
}

/// A field's schema type and length, as the catalog types it across M3.
fn m3_type(name: &str) -> (FieldType, Option<usize>) {
    use ferry_m3_fields::FieldType as M3;
    match ferry_m3_fields::catalog().field(name) {
        Some(s) if s.ty == M3::Date => (FieldType::Date, None),
        Some(s) if s.ty == M3::Numeric => (FieldType::Decimal, Some(s.length)),
        Some(s) => (FieldType::Text, Some(s.length)),
        None => (FieldType::Text, None),
    }
}

/// Fields an M3 transaction accepts (IN).
fn m3_target(input: &str, level: Level, skip: &[&str]) -> Vec<SchemaField> {
    m3_transaction(input, "IN")
        .into_iter()
        .filter(|(f, _)| !skip.contains(&f.as_str()))
        .map(|(name, description)| {
            let (ty, length) = m3_type(&name);
            SchemaField {
                name,
                level,
                ty,
                length,
                description,
            }
        })
        .collect()
}

/// Fields an M3 transaction returns (OUT), as a source.
fn m3_source(transactions: &[&str]) -> Vec<SchemaField> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in transactions {
        for (name, description) in m3_transaction(t, "OUT") {
            if seen.insert(name.clone()) {
                let (ty, length) = m3_type(&name);
                out.push(SchemaField {
                    name,
                    level: Level::Header,
                    ty,
                    length,
                    description,
                });
            }
        }
    }
    out
}

fn quotewerks(entity: &str, with_context: bool) -> Vec<SchemaField> {
    QW_FIELDS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(5, ' ');
            let (level, ent, name, ty, desc) = (
                parts.next()?,
                parts.next()?,
                parts.next()?,
                parts.next()?,
                parts.next()?,
            );
            if ent != entity || (level == "context" && !with_context) {
                return None;
            }
            let level = match (level, name) {
                ("lines", _) | ("context", "line.number") => Level::Lines,
                _ => Level::Header,
            };
            let ty = match ty {
                "decimal" => FieldType::Decimal,
                "integer" => FieldType::Integer,
                "date" => FieldType::Date,
                "boolean" => FieldType::Boolean,
                _ => FieldType::Text,
            };
            Some(SchemaField {
                name: name.to_string(),
                level,
                ty,
                length: None,
                description: desc.to_string(),
            })
        })
        .collect()
}

pub fn source_schema(spec: &str) -> Result<Schema, SuggestError> {
    let fields = match spec {
        "quotewerks:quote" => quotewerks("quote", true),
        "quotewerks:customer" => quotewerks("customer", true),
        "m3:item" => m3_source(&[
            "MMS200MI/GetItmBasic",
            "MMS200MI/GetItmPrice",
            "MMS200MI/GetItmWhsBal",
        ]),
        "m3:customer" => m3_source(&["CRS610MI/GetBasicData"]),
        other => {
            return Err(SuggestError::UnknownSchema {
                role: "source",
                spec: other.to_string(),
            });
        }
    };
    Ok(Schema { fields })
}

pub fn target_schema(spec: &str) -> Result<Schema, SuggestError> {
    let fields = match spec {
        "m3:order" => {
            let mut f = m3_target("OIS100MI/AddBatchHead", Level::Header, &["CONO"]);
            f.extend(m3_target(
                "OIS100MI/AddBatchLine",
                Level::Lines,
                &["CONO", "ORNO"],
            ));
            f
        }
        "m3:customer" => m3_target("CRS610MI/Add", Level::Header, &["CONO"]),
        "quotewerks:product" => quotewerks("product", false),
        "quotewerks:customer" => quotewerks("customer", false),
        other => {
            return Err(SuggestError::UnknownSchema {
                role: "target",
                spec: other.to_string(),
            });
        }
    };
    Ok(Schema { fields })
}
