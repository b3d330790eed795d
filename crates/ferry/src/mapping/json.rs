//! Documents as JSON for `ferry mapping test` (and sample values for `suggest`).
//!
//! Two shapes are read:
//! - the short one people write: `{"kind": "quote", "id": "17", "fields": {"DocNo": "AAAQ1001",
//!   "DocDate": {"date": "2025-03-07"}, "UnitPrice": {"decimal": "12.50"}}, "lines": [{...}]}`:
//!   strings are text, whole numbers integers, other numbers decimals (written as their JSON
//!   text, never through a float), booleans and null as such, and `{"text"|"decimal"|"integer"|
//!   "boolean"|"date": v}` or `{"null": null}` for an explicit type. A line is an object of
//!   fields, or `{"fields": ...}`. Fields of a JSON object come in name order (rules find fields
//!   by name, so order does not change a mapping's result).
//! - the contract's (what `ferry plugin run` reads and prints): `fields` as a list of
//!   `{"name": .., "value": {"text": ..}}`. A `map-document` parameter file
//!   (`{"kind": .., "input": {..}, "context": {..}}`) is read too, context included.

use serde_json::{Map, Value as Json, json};

use super::engine::{Context, Document, Field, Issue, Line, Severity, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{place}: {message}")]
pub struct JsonError {
    pub place: String,
    pub message: String,
}

fn bad(place: &str, message: impl Into<String>) -> JsonError {
    JsonError {
        place: place.to_string(),
        message: message.into(),
    }
}

/// What a JSON input file gives: the document, and the kind and context when it is a
/// `map-document` parameter file.
#[derive(Debug, Default)]
pub struct Input {
    pub document: Document,
    pub kind: Option<String>,
    pub context: Context,
}

pub fn read_input(json: &Json) -> Result<Input, JsonError> {
    let obj = json
        .as_object()
        .ok_or_else(|| bad("input", "must be a JSON object (a document)"))?;
    if let Some(doc) = obj.get("input") {
        // A `map-document` parameter file, as `ferry plugin run` takes it.
        let document = read_document(doc)?;
        let kind = match obj.get("kind") {
            None | Some(Json::Null) => None,
            Some(Json::String(k)) => Some(k.clone()),
            Some(_) => return Err(bad("kind", "must be text")),
        };
        let context = match obj.get("context") {
            None | Some(Json::Null) => Context::default(),
            Some(c) => read_context(c)?,
        };
        return Ok(Input {
            document,
            kind,
            context,
        });
    }
    Ok(Input {
        document: read_document(json)?,
        kind: None,
        context: Context::default(),
    })
}

fn pairs(json: &Json, place: &str) -> Result<Vec<(String, String)>, JsonError> {
    match json {
        Json::Null => Ok(Vec::new()),
        Json::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => Ok((k.clone(), s.clone())),
                Json::Number(n) => Ok((k.clone(), n.to_string())),
                _ => Err(bad(&format!("{place}.{k}"), "must be text")),
            })
            .collect(),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item.as_array().map(Vec::as_slice) {
                Some([Json::String(k), Json::String(v)]) => Ok((k.clone(), v.clone())),
                _ => Err(bad(&format!("{place}[{i}]"), "must be a [key, value] pair")),
            })
            .collect(),
        _ => Err(bad(
            place,
            "must be an object or a list of [key, value] pairs",
        )),
    }
}

pub fn read_context(json: &Json) -> Result<Context, JsonError> {
    let obj = json
        .as_object()
        .ok_or_else(|| bad("context", "must be an object"))?;
    Ok(Context {
        tenant: obj
            .get("tenant")
            .and_then(Json::as_str)
            .unwrap_or("cli")
            .to_string(),
        settings: pairs(
            obj.get("settings").unwrap_or(&Json::Null),
            "context.settings",
        )?,
        ids: pairs(obj.get("ids").unwrap_or(&Json::Null), "context.ids")?,
    })
}

pub fn read_document(json: &Json) -> Result<Document, JsonError> {
    let obj = json
        .as_object()
        .ok_or_else(|| bad("document", "must be a JSON object"))?;
    let kind = match obj.get("kind") {
        None | Some(Json::Null) => "document".to_string(),
        Some(Json::String(k)) => k.clone(),
        Some(_) => return Err(bad("kind", "must be text")),
    };
    let id = match obj.get("id") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(bad("id", "must be text")),
    };
    let fields = match obj.get("fields") {
        None | Some(Json::Null) => Vec::new(),
        Some(f) => read_fields(f, "fields")?,
    };
    let lines = match obj.get("lines") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(lines)) => lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let place = format!("lines[{i}]");
                let inner = match l.as_object() {
                    Some(o) if o.len() == 1 && o.contains_key("fields") => &o["fields"],
                    _ => l,
                };
                read_fields(inner, &place).map(|fields| Line { fields })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("lines", "must be a list")),
    };
    Ok(Document {
        kind,
        id,
        fields,
        lines,
    })
}

fn read_fields(json: &Json, place: &str) -> Result<Vec<Field>, JsonError> {
    match json {
        Json::Object(m) => m
            .iter()
            .map(|(k, v)| read_value(v, &format!("{place}.{k}")).map(|v| Field::new(k.clone(), v)))
            .collect(),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("{place}[{i}]");
                let name = item
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad(&p, "needs a \"name\""))?;
                let value = read_value(item.get("value").unwrap_or(&Json::Null), &p)?;
                Ok(Field::new(name, value))
            })
            .collect(),
        _ => Err(bad(
            place,
            "must be an object of fields or a list of {name, value}",
        )),
    }
}

fn read_value(json: &Json, place: &str) -> Result<Value, JsonError> {
    Ok(match json {
        Json::Null => Value::Null,
        Json::String(s) => Value::Text(s.clone()),
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            // serde_json keeps the shortest text that reads back as the same number; money
            // should still be given as {"decimal": "..."} to be exact beyond 15 digits.
            None => Value::Decimal(n.to_string()),
        },
        Json::Object(m) if m.len() == 1 => {
            let (tag, v) = m.iter().next().expect("one entry");
            let text = |v: &Json| match v {
                Json::String(s) => Ok(s.clone()),
                Json::Number(n) => Ok(n.to_string()),
                _ => Err(bad(place, format!("{tag} must be given as text"))),
            };
            match tag.as_str() {
                "text" => Value::Text(text(v)?),
                "decimal" => {
                    let s = text(v)?;
                    if s.trim().parse::<rust_decimal::Decimal>().is_err() && !s.trim().is_empty() {
                        return Err(bad(place, format!("'{s}' is not a decimal")));
                    }
                    Value::Decimal(s)
                }
                "date" => Value::Date(text(v)?),
                "integer" => match v {
                    Json::Number(n) => Value::Integer(
                        n.as_i64()
                            .ok_or_else(|| bad(place, format!("{n} is not an integer")))?,
                    ),
                    Json::String(s) => Value::Integer(
                        s.trim()
                            .parse()
                            .map_err(|_| bad(place, format!("'{s}' is not an integer")))?,
                    ),
                    _ => return Err(bad(place, "integer must be a number")),
                },
                "boolean" => match v {
                    Json::Bool(b) => Value::Boolean(*b),
                    _ => return Err(bad(place, "boolean must be true or false")),
                },
                "null" => Value::Null,
                other => {
                    return Err(bad(
                        place,
                        format!(
                            "unknown type '{other}' (text, decimal, integer, boolean, date, null)"
                        ),
                    ));
                }
            }
        }
        Json::Object(_) => {
            return Err(bad(
                place,
                "a typed value is one of {\"text\"|\"decimal\"|\"integer\"|\"boolean\"|\"date\": value}",
            ));
        }
        Json::Array(_) => return Err(bad(place, "a field's value cannot be a list")),
    })
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Text(s) => Json::String(s.clone()),
        Value::Decimal(s) => json!({ "decimal": s }),
        Value::Integer(i) => json!(i),
        Value::Boolean(b) => json!(b),
        Value::Date(s) => json!({ "date": s }),
        Value::Null => Json::Null,
    }
}

fn fields_json(fields: &[Field]) -> Json {
    let mut m = Map::new();
    for f in fields {
        m.insert(f.name.clone(), value_json(&f.value));
    }
    Json::Object(m)
}

/// A document in the short shape (readable back by [`read_document`]).
pub fn document_json(doc: &Document) -> Json {
    json!({
        "kind": doc.kind,
        "id": doc.id,
        "fields": fields_json(&doc.fields),
        "lines": doc.lines.iter().map(|l| fields_json(&l.fields)).collect::<Vec<_>>(),
    })
}

pub fn issue_json(i: &Issue) -> Json {
    json!({
        "severity": match i.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "rule": i.rule,
        "field": i.field,
        "line": i.line,
        "message": i.message,
        "at": i.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_contract_shapes_read_the_same() {
        let short = json!({
            "kind": "quote",
            "fields": {"DocNo": "Q1", "Qty": 3, "Price": 12.5, "When": {"date": "2025-03-07"}},
            "lines": [{"A": "x"}, {"fields": {"B": {"decimal": "1.10"}}}]
        });
        let contract = json!({
            "kind": "quote",
            "fields": [
                {"name": "DocNo", "value": {"text": "Q1"}},
                {"name": "Price", "value": {"decimal": "12.5"}},
                {"name": "Qty", "value": {"integer": 3}},
                {"name": "When", "value": {"date": "2025-03-07"}}
            ],
            "lines": [
                {"fields": [{"name": "A", "value": {"text": "x"}}]},
                {"fields": [{"name": "B", "value": {"decimal": "1.10"}}]}
            ]
        });
        let a = read_document(&short).unwrap();
        assert_eq!(a, read_document(&contract).unwrap());
        assert_eq!(read_document(&document_json(&a)).unwrap(), a);
    }

    #[test]
    fn bad_json_documents_say_where() {
        let e = read_document(&json!({"fields": {"X": {"decimal": "abc"}}})).unwrap_err();
        assert_eq!(e.to_string(), "fields.X: 'abc' is not a decimal");
        let e = read_document(&json!({"lines": [{"Q": [1]}]})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "lines[0].Q: a field's value cannot be a list"
        );
        assert!(read_document(&json!([1])).is_err());
        let e = read_document(&json!({"fields": {"X": {"money": "1"}}})).unwrap_err();
        assert!(e.to_string().contains("unknown type 'money'"));
    }
}
