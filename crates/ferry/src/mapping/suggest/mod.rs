//! `ferry mapping suggest`: proposes mapping rules for each target field, with a score, from
//! field names, field descriptions (M3's MI field texts and types from the one M3 field catalog,
//! `crates/m3-fields`; QuoteWerks' in `crates/ferry/data/quotewerks-fields.txt`) and sample values.
//!
//! Scoring: the words of the target's description against the source's name and description
//! (split at camel case, a small thesaurus of integration words, each word weighted by how rare
//! it is across both schemas), times how well the types fit (an M3 date wants a date, a numeric
//! field a number, a short code a short value), with a bonus for identical names. A source that
//! a known rule already uses counts a little less.
//!
//! One job a file: `schema` (the fields of each side), `words` (what a name or description
//! says); this file scores and proposes.

mod schema;
mod words;

pub use schema::{FieldType, Schema, SchemaField, SuggestError, source_schema, target_schema};

use std::collections::{HashMap, HashSet};

use super::engine::{Document, Level, Mapping, Value};
use words::words;

// ---------------------------------------------------------------------------------------------
// Suggestions

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The source field, as a rule reads it (`DocDate`, `header.DocDate`, `setting.warehouse`).
    pub source: String,
    /// 0..1.
    pub score: f64,
    /// The proposed rule's value (TOML right-hand side).
    pub rule: String,
    /// Which words matched.
    pub why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub target: SchemaField,
    /// Best first.
    pub candidates: Vec<Candidate>,
}

/// What a sample document says about a source field's values.
fn sample_value<'a>(sample: Option<&'a Document>, field: &SchemaField) -> Option<&'a Value> {
    let doc = sample?;
    let found = |fields: &'a [super::engine::Field]| {
        fields
            .iter()
            .find(|f| f.name == field.name)
            .map(|f| &f.value)
            .filter(|v| !matches!(v, Value::Null) && !matches!(v, Value::Text(s) if s.is_empty()))
    };
    match field.level {
        Level::Header => found(&doc.fields),
        Level::Lines => doc.lines.iter().find_map(|l| found(&l.fields)),
    }
}

fn value_type(v: &Value) -> FieldType {
    match v {
        Value::Decimal(_) => FieldType::Decimal,
        Value::Integer(_) => FieldType::Integer,
        Value::Boolean(_) => FieldType::Boolean,
        Value::Date(_) => FieldType::Date,
        Value::Text(s) => {
            let s = s.trim();
            if super::engine::Date::parse_auto(s).is_some() && s.len() >= 8 {
                FieldType::Date
            } else if s.parse::<rust_decimal::Decimal>().is_ok() {
                FieldType::Decimal
            } else {
                FieldType::Text
            }
        }
        Value::Null => FieldType::Text,
    }
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::Text(s) | Value::Decimal(s) | Value::Date(s) => s.chars().count(),
        Value::Integer(i) => i.to_string().len(),
        Value::Boolean(_) => 5,
        Value::Null => 0,
    }
}

/// How well a source of this type can fill the target, 0..1.
fn type_fit(target: &SchemaField, source: FieldType) -> f64 {
    use FieldType::*;
    match (target.ty, source) {
        (a, b) if a == b => 1.0,
        (Decimal, Integer) | (Integer, Decimal) => 1.0,
        (Text, Integer) | (Text, Decimal) => 0.85,
        (Text, Date) => 0.6,
        (Text, Boolean) | (Boolean, Text) => 0.6,
        (Decimal, Text) | (Integer, Text) => 0.6,
        (Date, Text) => 0.5,
        (Boolean, _) => 0.5,
        _ => 0.2,
    }
}

struct Scorer {
    idf: HashMap<String, f64>,
}

impl Scorer {
    fn new(docs: &[Vec<String>]) -> Self {
        let mut df: HashMap<String, usize> = HashMap::new();
        for d in docs {
            for w in d {
                *df.entry(w.clone()).or_default() += 1;
            }
        }
        let n = docs.len().max(1) as f64;
        let idf = df
            .into_iter()
            .map(|(w, c)| (w, (1.0 + n / c as f64).ln()))
            .collect();
        Self { idf }
    }

    fn weight(&self, w: &str) -> f64 {
        self.idf.get(w).copied().unwrap_or(1.0)
    }

    /// Weighted Dice overlap of two word sets, and the shared words.
    fn similarity(&self, a: &[String], b: &[String]) -> (f64, Vec<String>) {
        let shared: Vec<String> = a.iter().filter(|w| b.contains(w)).cloned().collect();
        let wa: f64 = a.iter().map(|w| self.weight(w)).sum();
        let wb: f64 = b.iter().map(|w| self.weight(w)).sum();
        let ws: f64 = shared.iter().map(|w| self.weight(w)).sum();
        if wa + wb == 0.0 {
            return (0.0, shared);
        }
        (2.0 * ws / (wa + wb), shared)
    }
}

/// The rule a candidate becomes, with the conversions its types and sample call for.
fn propose_rule(
    target: &SchemaField,
    source: &str,
    source_ty: FieldType,
    sample_len: Option<usize>,
    m3_target: bool,
) -> String {
    let read = source.to_string();
    let mut value = match (target.ty, source_ty) {
        (FieldType::Date, _) | (FieldType::Text, FieldType::Date) if m3_target => {
            format!("format_date({read}, 'yyyyMMdd')")
        }
        (FieldType::Decimal, FieldType::Text) => format!("decimal({read})"),
        _ => read.clone(),
    };
    let mut opts = String::new();
    if let Some(max) = target.length.filter(|_| target.ty == FieldType::Text) {
        let too_long = sample_len.is_some_and(|l| l > max);
        if too_long && max <= 3 {
            // A long free-text value for a short code: that is a lookup table.
            let table = source
                .rsplit('.')
                .next()
                .unwrap_or(source)
                .to_ascii_lowercase();
            value = format!("lookup({table}, {read})");
            opts = format!(", max = {max}");
        } else if too_long {
            opts = format!(", max = {max}, overflow = \"truncate\"");
        } else {
            opts = format!(", max = {max}");
        }
    }
    if opts.is_empty() {
        format!("\"{value}\"")
    } else {
        format!("{{ value = \"{value}\"{opts} }}")
    }
}

/// Proposes up to `top` candidates for every target field that no `known` rule already fills.
/// `known` lists (level, target, sources) of rules already written.
pub fn suggest(
    source: &Schema,
    target: &Schema,
    sample: Option<&Document>,
    known: &[(Level, String, Vec<String>)],
    m3_target: bool,
    top: usize,
) -> Vec<Suggestion> {
    let source_words: Vec<Vec<String>> = source
        .fields
        .iter()
        .map(|f| words(&format!("{} {}", f.name, f.description)))
        .collect();
    let target_words: Vec<Vec<String>> = target
        .fields
        .iter()
        .map(|f| words(&f.description))
        .collect();
    let all: Vec<Vec<String>> = source_words
        .iter()
        .chain(target_words.iter())
        .cloned()
        .collect();
    let scorer = Scorer::new(&all);
    let used: HashSet<&str> = known
        .iter()
        .flat_map(|(_, _, s)| s.iter().map(String::as_str))
        .collect();

    let mut out = Vec::new();
    for (t, tw) in target.fields.iter().zip(&target_words) {
        if known.iter().any(|(l, n, _)| *l == t.level && *n == t.name) {
            continue;
        }
        let mut candidates = Vec::new();
        for (s, sw) in source.fields.iter().zip(&source_words) {
            // Header targets read header and context values; line targets read the line, the
            // header (as header.X, a little less likely) and context values.
            let (read, level_factor) = match (t.level, s.level) {
                (Level::Header, Level::Lines) => continue,
                (Level::Header, Level::Header) | (Level::Lines, Level::Lines) => {
                    (s.name.clone(), 1.0)
                }
                (Level::Lines, Level::Header) if s.name.contains('.') => (s.name.clone(), 0.95),
                (Level::Lines, Level::Header) => (format!("header.{}", s.name), 0.8),
            };
            let (sim, shared) = scorer.similarity(tw, sw);
            let name_bonus = if s.name.eq_ignore_ascii_case(&t.name) {
                0.3
            } else {
                0.0
            };
            if sim == 0.0 && name_bonus == 0.0 {
                continue;
            }
            let sample = sample_value(sample, s);
            let sty = sample.map(value_type).unwrap_or(s.ty);
            let sty = if s.ty == FieldType::Date || s.ty == sty {
                s.ty
            } else {
                sty
            };
            let mut fit = type_fit(t, sty);
            let sample_len = sample.map(value_len);
            if let (Some(len), Some(max)) = (sample_len, t.length)
                && t.ty == FieldType::Text
                && len > max
            {
                fit *= 0.85;
            }
            let reuse = if used.contains(read.as_str()) {
                0.85
            } else {
                1.0
            };
            let score = ((sim + name_bonus) * fit * level_factor * reuse).min(1.0);
            candidates.push(Candidate {
                rule: propose_rule(t, &read, sty, sample_len, m3_target),
                source: read,
                score,
                why: shared.join(" "),
            });
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        candidates.truncate(top);
        out.push(Suggestion {
            target: t.clone(),
            candidates,
        });
    }
    out
}

/// How many of a mapping's rules `suggest` recovers when they are hidden.
#[derive(Debug, Clone, PartialEq)]
pub struct HitRate {
    pub hidden: usize,
    /// Hidden rules whose top suggestion reads one of the rule's own sources.
    pub recovered: usize,
    /// (target, expected sources, top suggestion's source) for each hidden rule.
    pub detail: Vec<(String, Vec<String>, Option<String>)>,
}

/// Hides every other rule of `mapping` that writes a field of `target` (`offset` 0 hides the
/// 1st, 3rd...; 1 the 2nd, 4th...),
/// runs `suggest` with the rest known, and counts the hidden rules whose top suggestion is one
/// of the fields the rule reads.
pub fn hit_rate(
    mapping: &Mapping,
    source: &Schema,
    target: &Schema,
    sample: Option<&Document>,
    offset: usize,
) -> HitRate {
    let rules = mapping.rules();
    let reads_of = |r: &super::engine::RuleInfo| -> Vec<String> {
        r.reads
            .iter()
            .filter(|s| !s.starts_with("out."))
            .cloned()
            .collect()
    };
    // Only a rule writing a field of the target schema can be suggested; the others (an order's
    // texts, charges and delivery address are other transactions' fields) stay known.
    let in_schema = |r: &super::engine::RuleInfo| {
        target
            .fields
            .iter()
            .any(|f| f.level == r.level && f.name == r.target)
    };
    let (hidden, known): (Vec<_>, Vec<_>) = rules
        .iter()
        .enumerate()
        .partition(|(i, r)| in_schema(r) && i % 2 == offset % 2);
    let known: Vec<(Level, String, Vec<String>)> = known
        .into_iter()
        .map(|(_, r)| (r.level, r.target.clone(), reads_of(r)))
        .collect();
    let suggestions = suggest(source, target, sample, &known, true, 1);
    let mut detail = Vec::new();
    let mut recovered = 0;
    for (_, rule) in &hidden {
        let expected = reads_of(rule);
        let top = suggestions
            .iter()
            .find(|s| s.target.level == rule.level && s.target.name == rule.target)
            .and_then(|s| s.candidates.first())
            .map(|c| c.source.clone());
        if top.as_ref().is_some_and(|t| expected.contains(t)) {
            recovered += 1;
        }
        detail.push((rule.target.clone(), expected, top));
    }
    HitRate {
        hidden: hidden.len(),
        recovered,
        detail,
    }
}

#[cfg(test)]
mod tests;
