//! A v2 answer read straight into records: a listing of 100,000 balances is ~9 MB, and going
//! through a JSON tree first (then copying each value into a record) cost twice the time and
//! memory of reading it once.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use serde_json::Value as Json;

use super::{Nok, Record, nok_of};

/// The v2 envelope: each transaction's result, and (a failed single transaction, HTTP 400)
/// the error at the top level too.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct V2Answer {
    #[serde(deserialize_with = "results")]
    pub results: Option<Vec<V2Result>>,
    pub error_message: Json,
    pub error_code: Json,
    pub error_type: Json,
    pub error_field: Json,
}

/// One transaction's result: its records or its error fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct V2Result {
    #[serde(deserialize_with = "records")]
    pub records: Vec<Record>,
    pub error_message: Json,
    pub error_code: Json,
    pub error_type: Json,
    pub error_field: Json,
}

impl V2Answer {
    /// The top-level error of a failed single transaction.
    pub fn nok(&self, what: &str) -> Option<Nok> {
        nok(
            what,
            [
                &self.error_type,
                &self.error_code,
                &self.error_field,
                &self.error_message,
            ],
        )
    }
}

impl V2Result {
    pub fn into_records(self, what: &str) -> Result<Vec<Record>, Nok> {
        match nok(
            what,
            [
                &self.error_type,
                &self.error_code,
                &self.error_field,
                &self.error_message,
            ],
        ) {
            Some(nok) => Err(nok),
            None => Ok(self.records),
        }
    }
}

/// An error when its message or code is text (M3 sends the keys empty on success; a number or
/// null there is no error, as the tree-based reading had it): [`super::nok_of`] its fields.
fn nok(what: &str, [kind, code, field, message]: [&Json; 4]) -> Option<Nok> {
    (has_text(message) || has_text(code))
        .then(|| nok_of(what, [Some(kind), Some(code), Some(field), Some(message)]))
}

fn has_text(v: &Json) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// A value as text: M3 sends strings; a number, a boolean or null is taken as its JSON text
/// (null as empty), as the tree-based reading did.
#[derive(Debug, Default)]
pub(super) struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an MI value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(serde_json::Value::from(v).to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(v.to_string())
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<String, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(v.to_string())
    }
}

/// Results as sent; a `null` one reads as an empty result (the tree-based reading did so).
fn results<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<V2Result>>, D::Error> {
    let found: Option<Vec<Option<V2Result>>> = Option::deserialize(d)?;
    Ok(found.map(|r| r.into_iter().map(Option::unwrap_or_default).collect()))
}

/// A result's records with M3's blank padding trimmed off their values; `null` is none, and an
/// element that is no record is passed over (as the tree-based reading did).
fn records<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Record>, D::Error> {
    let found: Option<Vec<MaybeRecord>> = Option::deserialize(d)?;
    Ok(found
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.0)
        .collect())
}

/// A record (its values trimmed), or none for anything else.
struct MaybeRecord(Option<Record>);

impl<'de> Deserialize<'de> for MaybeRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RecordVisitor).map(MaybeRecord)
    }
}

struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = Option<Record>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an MI record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut record = Record::new();
        while let Some((name, Text(mut value))) = map.next_entry::<String, Text>()? {
            value.truncate(value.trim_end().len());
            record.insert(name, value);
        }
        Ok(Some(record))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
