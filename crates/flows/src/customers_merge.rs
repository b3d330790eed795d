//! The customer sync's record model: a customer in Ferry's own field names (NAME, EMAIL, ...)
//! read from either side through the tenant's field map, its content hash, and the per-field
//! three-way merge of the two sides against what Ferry last synced (the base).

use std::collections::BTreeMap;

use ferry_domain::{Document, Field, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{CustomerPolicy, Resolution};

/// A customer in Ferry's field names; absent and empty are the same (empty string).
pub type Record = BTreeMap<String, String>;

/// Which system a value or write belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    M3,
    Quotewerks,
}

/// The text of a field as the sync compares it: trimmed, dates and numbers as written.
pub fn text(doc: &Document, name: &str) -> String {
    match doc.get(name) {
        Some(Value::Text(s) | Value::Decimal(s) | Value::Date(s)) => s.trim().to_string(),
        Some(Value::Integer(n)) => n.to_string(),
        Some(Value::Boolean(b)) => b.to_string(),
        Some(Value::Null) | None => String::new(),
    }
}

/// The customer's record as `side` holds it, through the policy's field map.
pub fn record(policy: &CustomerPolicy, side: Side, doc: &Document) -> Record {
    policy
        .fields
        .iter()
        .map(|f| {
            let native = match side {
                Side::M3 => &f.m3,
                Side::Quotewerks => &f.quotewerks,
            };
            (f.name.clone(), text(doc, native))
        })
        .collect()
}

/// The given record fields as a document of `side` (its native field names), with `id`.
pub fn document(
    policy: &CustomerPolicy,
    side: Side,
    id: Option<&str>,
    values: &Record,
) -> Document {
    let fields = policy
        .fields
        .iter()
        .filter_map(|f| {
            let value = values.get(&f.name)?;
            let native = match side {
                Side::M3 => &f.m3,
                Side::Quotewerks => &f.quotewerks,
            };
            Some(Field::new(native, Value::Text(value.clone())))
        })
        .collect();
    Document {
        kind: "customer".into(),
        id: id.map(str::to_string),
        fields,
        lines: Vec::new(),
    }
}

/// The record's content hash: what Ferry last saw or wrote on one side, so an unchanged
/// customer (or one whose only change is Ferry's own write) is not synced again.
pub fn hash(record: &Record) -> String {
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// A field both sides changed to different values since the last sync (or, for a pair never
/// synced, a field on which they differ), and what the tenant's policy decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The QuoteWerks customer id and the M3 customer number.
    pub quotewerks_id: String,
    pub m3_id: String,
    pub field: String,
    pub quotewerks: String,
    pub m3: String,
    /// What Ferry last synced for the field, if the pair was synced before.
    pub base: Option<String>,
    /// The rule applied: m3-wins, quotewerks-wins, newest-wins or review.
    pub policy: Resolution,
    /// The side whose value was kept; none: left for review (neither side written).
    pub winner: Option<Side>,
}

/// The merge of one linked pair: what to write to each side and what the sync now holds.
#[derive(Debug, Default)]
pub struct Merge {
    /// Fields (Ferry's names) to write to M3, and to QuoteWerks.
    pub to_m3: Record,
    pub to_quotewerks: Record,
    /// The new base: the agreed value per field (a field left for review keeps its old base).
    pub base: Record,
    pub conflicts: Vec<Conflict>,
    /// Some field waits for a person (policy `review`, or `newest-wins` with no way to tell).
    pub review: bool,
}

/// When each side last changed the customer, as comparable digits (yyyyMMddHHmmss...).
#[derive(Debug, Clone, Default)]
pub struct Stamps {
    pub m3: Option<String>,
    pub quotewerks: Option<String>,
}

/// Digits of a date or timestamp, padded so a date compares as the start of its day.
pub fn stamp(s: &str) -> Option<String> {
    let mut d: String = s.chars().filter(char::is_ascii_digit).take(14).collect();
    if d.len() < 8 {
        return None;
    }
    while d.len() < 14 {
        d.push('0');
    }
    Some(d)
}

/// Merges field by field: a field only one side changed since `base` takes that side's value;
/// a field both changed differently (or that differs with no base) is a conflict, settled by
/// the field's policy.
pub fn merge(
    policy: &CustomerPolicy,
    ids: (&str, &str),
    quotewerks: &Record,
    m3: &Record,
    base: Option<&Record>,
    stamps: &Stamps,
) -> Merge {
    let mut out = Merge::default();
    for f in &policy.fields {
        let name = &f.name;
        let q = quotewerks.get(name).cloned().unwrap_or_default();
        let m = m3.get(name).cloned().unwrap_or_default();
        let b = base.and_then(|b| b.get(name)).cloned();
        if q == m {
            out.base.insert(name.clone(), q);
            continue;
        }
        let only = match &b {
            Some(b) if *b == q => Some(Side::M3),
            Some(b) if *b == m => Some(Side::Quotewerks),
            _ => None,
        };
        let rule = policy.resolution(name);
        let winner = only.or(match rule {
            Resolution::M3Wins => Some(Side::M3),
            Resolution::QuotewerksWins => Some(Side::Quotewerks),
            Resolution::NewestWins => match (&stamps.m3, &stamps.quotewerks) {
                (Some(sm), Some(sq)) if sm > sq => Some(Side::M3),
                (Some(sm), Some(sq)) if sq > sm => Some(Side::Quotewerks),
                _ => None,
            },
            Resolution::Review => None,
        });
        if only.is_none() {
            out.conflicts.push(Conflict {
                quotewerks_id: ids.0.to_string(),
                m3_id: ids.1.to_string(),
                field: name.clone(),
                quotewerks: q.clone(),
                m3: m.clone(),
                base: b.clone(),
                policy: rule,
                winner,
            });
        }
        match winner {
            Some(Side::M3) => {
                out.to_quotewerks.insert(name.clone(), m.clone());
                out.base.insert(name.clone(), m);
            }
            Some(Side::Quotewerks) => {
                out.to_m3.insert(name.clone(), q.clone());
                out.base.insert(name.clone(), q);
            }
            None => {
                out.review = true;
                if let Some(b) = b {
                    out.base.insert(name.clone(), b);
                }
            }
        }
    }
    out
}
