//! Documents: an entity as header fields plus lines of fields, each value typed, in the native
//! field names of the system it came from (QuoteWerks `SoldToCompany`, M3 `CUNM`).
//!
//! The canonical JSON (checkpoints, audit data, API answers) is the serde derive here:
//! `{"kind": "quote", "id": "17", "fields": [{"name": "DocNo", "value": {"text": "AAAQ1001"}}],
//! "lines": [{"fields": [...]}]}`, a value being `{"text"|"decimal"|"integer"|"boolean"|"date": v}`
//! or `"null"`. Readers also take the variant names the first checkpoints were written with
//! (`{"Text": ..}`), so jobs stored before this crate existed stay readable.

use serde::{Deserialize, Serialize};

/// One typed value. Decimals are strings ("12.50"), never floats; dates are ISO `yyyy-mm-dd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Value {
    #[serde(alias = "Text")]
    Text(String),
    #[serde(alias = "Decimal")]
    Decimal(String),
    #[serde(alias = "Integer")]
    Integer(i64),
    #[serde(alias = "Boolean")]
    Boolean(bool),
    #[serde(alias = "Date")]
    Date(String),
    #[serde(alias = "Null")]
    Null,
}

impl Value {
    /// The value as trimmed non-empty text, for text values only.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) if !t.trim().is_empty() => Some(t.trim()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub value: Value,
}

impl Field {
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Line {
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Document {
    /// What this is: "quote", "order", "customer", "item", "product", ...
    pub kind: String,
    /// The document's key in its own system, when it has one.
    pub id: Option<String>,
    pub fields: Vec<Field>,
    pub lines: Vec<Line>,
}

impl Document {
    /// The header field's value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        get(&self.fields, name)
    }
}

impl Line {
    pub fn get(&self, name: &str) -> Option<&Value> {
        get(&self.fields, name)
    }
}

/// The first field called `name` in a field list.
pub fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_round_trips_and_reads_the_first_checkpoints() {
        let doc = Document {
            kind: "quote".into(),
            id: Some("17".into()),
            fields: vec![
                Field::new("DocNo", Value::Text("AAAQ1001".into())),
                Field::new("Total", Value::Decimal("12.50".into())),
                Field::new("Gone", Value::Null),
            ],
            lines: vec![Line {
                fields: vec![Field::new("Qty", Value::Integer(3))],
            }],
        };
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json["fields"][0]["value"],
            serde_json::json!({"text": "AAAQ1001"})
        );
        assert_eq!(json["fields"][2]["value"], serde_json::json!("null"));
        assert_eq!(serde_json::from_value::<Document>(json).unwrap(), doc);
        // The form jobs were checkpointed in before this crate (the bindings' own derive).
        let old = serde_json::json!({"kind": "quote", "id": null, "lines": [],
            "fields": [{"name": "A", "value": {"Decimal": "1.5"}}, {"name": "B", "value": "Null"}]});
        let read: Document = serde_json::from_value(old).unwrap();
        assert_eq!(read.get("A"), Some(&Value::Decimal("1.5".into())));
        assert_eq!(read.get("B"), Some(&Value::Null));
    }
}
