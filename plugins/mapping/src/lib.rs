//! The declarative mapping transform: runs any mapping file (see README, "Mappings").
//!
//! The mapping is the plugin's configuration, so changing it needs no rebuild:
//! - setting `mapping.<kind>` (e.g. `mapping.quote-to-order`): the mapping for that kind;
//! - setting `mapping`: one mapping, for the kind it declares;
//! - otherwise the defaults shipped in `mappings/` (built in: every `mappings/*.toml`, the kind
//!   being the file name).
//!
//! Every other setting is visible to the mapping as `setting.NAME`, after the host's context
//! settings (which win). The host runs each call in a fresh instance, so the mapping is parsed
//! on every call; the engine compiles a mapping in microseconds (see README for figures).

wit_bindgen::generate!({
    world: "plugin",
    path: "../../wit/transform",
    with: {
        "ferry:types/types@1.0.0": ferry_pdk::types,
        "ferry:host/log@1.1.0": ferry_pdk::log,
        "ferry:host/config@1.1.0": ferry_pdk::config,
    },
});

use exports::ferry::transform::transform::{Context, FieldUsage, Guest, Issue, Mapped, Severity};
use ferry_mapping_engine as engine;
use ferry_pdk::{Document, Field, Line, Value};

/// The shipped default mappings (every `mappings/*.toml`, listed by the engine's build script).
use engine::DEFAULTS;

struct MappingTransform;

fn issue(field: &str, message: String) -> Issue {
    Issue {
        severity: Severity::Error,
        rule: None,
        field: field.to_string(),
        line: None,
        message,
    }
}

/// The mapping text for `kind` and where it came from.
fn mapping_text(kind: &str) -> Option<(String, String)> {
    let key = format!("mapping.{kind}");
    if let Some(text) = ferry_pdk::config::get(&key) {
        return Some((text, format!("setting {key}")));
    }
    if let Some(text) = ferry_pdk::config::get("mapping") {
        return Some((text, "setting mapping".to_string()));
    }
    engine::default_text(kind).map(|text| (text.to_string(), format!("the default {kind} mapping")))
}

thread_local! {
    /// Parsed mappings by the hash of their text. Each call runs in a fresh instance, so this
    /// only saves work when the instance starts from a snapshot taken after `describe` filled
    /// it: the host's "prepare" step (Wizer), which makes parsing once per configuration.
    static PARSED: std::cell::RefCell<Vec<(u64, std::rc::Rc<engine::Mapping>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // std's SipHash with fixed keys: the same text hashes the same in every instance.
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Parses `text`, or returns it from the cache when this exact text was parsed before.
fn parse_cached(text: &str) -> Result<std::rc::Rc<engine::Mapping>, engine::MappingError> {
    let key = text_hash(text);
    if let Some(hit) =
        PARSED.with_borrow(|p| p.iter().find(|(k, _)| *k == key).map(|(_, m)| m.clone()))
    {
        return Ok(hit);
    }
    let parsed = std::rc::Rc::new(engine::Mapping::parse(text)?);
    PARSED.with_borrow_mut(|p| p.push((key, parsed.clone())));
    Ok(parsed)
}

fn load(kind: &str) -> Result<std::rc::Rc<engine::Mapping>, Vec<Issue>> {
    let (text, origin) = mapping_text(kind).ok_or_else(|| {
        vec![issue(
            "kind",
            format!(
                "no mapping for '{kind}': set `mapping` or `mapping.{kind}` (defaults: {})",
                DEFAULTS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )]
    })?;
    let mapping =
        parse_cached(&text).map_err(|e| vec![issue("mapping", format!("{origin}: {e}"))])?;
    if mapping.kind() != kind {
        return Err(vec![issue(
            "kind",
            format!("{origin} maps '{}', not '{kind}'", mapping.kind()),
        )]);
    }
    Ok(mapping)
}

fn to_engine_value(v: Value) -> engine::Value {
    match v {
        Value::Text(s) => engine::Value::Text(s),
        Value::Decimal(s) => engine::Value::Decimal(s),
        Value::Integer(i) => engine::Value::Integer(i),
        Value::Boolean(b) => engine::Value::Boolean(b),
        Value::Date(s) => engine::Value::Date(s),
        Value::Null => engine::Value::Null,
    }
}

fn from_engine_value(v: engine::Value) -> Value {
    match v {
        engine::Value::Text(s) => Value::Text(s),
        engine::Value::Decimal(s) => Value::Decimal(s),
        engine::Value::Integer(i) => Value::Integer(i),
        engine::Value::Boolean(b) => Value::Boolean(b),
        engine::Value::Date(s) => Value::Date(s),
        engine::Value::Null => Value::Null,
    }
}

fn to_engine_fields(fields: Vec<Field>) -> Vec<engine::Field> {
    fields
        .into_iter()
        .map(|f| engine::Field {
            name: f.name,
            value: to_engine_value(f.value),
        })
        .collect()
}

fn from_engine_fields(fields: Vec<engine::Field>) -> Vec<Field> {
    fields
        .into_iter()
        .map(|f| Field {
            name: f.name,
            value: from_engine_value(f.value),
        })
        .collect()
}

fn from_engine_issue(i: engine::Issue) -> Issue {
    Issue {
        severity: match i.severity {
            engine::Severity::Error => Severity::Error,
            engine::Severity::Warning => Severity::Warning,
        },
        rule: i.rule,
        field: i.field,
        line: i.line,
        message: i.message,
    }
}

impl Guest for MappingTransform {
    fn map_document(kind: String, input: Document, context: Context) -> Result<Mapped, Vec<Issue>> {
        let mapping = load(&kind)?;
        let mut settings = context.settings;
        for (k, v) in ferry_pdk::config::all() {
            if k != "mapping"
                && !k.starts_with("mapping.")
                && !settings.iter().any(|(s, _)| *s == k)
            {
                settings.push((k, v));
            }
        }
        let ctx = engine::Context {
            tenant: context.tenant,
            settings,
            ids: context.ids,
        };
        let doc = engine::Document {
            kind: input.kind,
            id: input.id,
            fields: to_engine_fields(input.fields),
            lines: input
                .lines
                .into_iter()
                .map(|l| engine::Line {
                    fields: to_engine_fields(l.fields),
                })
                .collect(),
        };
        match mapping.map(&doc, &ctx) {
            Ok(mapped) => {
                let d = mapped.document;
                Ok(Mapped {
                    document: Document {
                        kind: d.kind,
                        id: d.id,
                        fields: from_engine_fields(d.fields),
                        lines: d
                            .lines
                            .into_iter()
                            .map(|l| Line {
                                fields: from_engine_fields(l.fields),
                            })
                            .collect(),
                    },
                    warnings: mapped.warnings.into_iter().map(from_engine_issue).collect(),
                })
            }
            Err(issues) => Err(issues.into_iter().map(from_engine_issue).collect()),
        }
    }

    fn describe() -> Vec<FieldUsage> {
        let mut kinds: Vec<String> = DEFAULTS.iter().map(|(k, _)| k.to_string()).collect();
        for (key, text) in ferry_pdk::config::all() {
            let kind = if key == "mapping" {
                engine::Mapping::parse(&text)
                    .ok()
                    .map(|m| m.kind().to_string())
            } else {
                key.strip_prefix("mapping.").map(str::to_string)
            };
            if let Some(k) = kind.filter(|k| !kinds.contains(k)) {
                kinds.push(k);
            }
        }
        kinds
            .iter()
            .filter_map(|k| load(k).ok())
            .map(|m| {
                let u = m.describe();
                FieldUsage {
                    kind: u.kind,
                    reads: u.reads,
                    writes: u.writes,
                }
            })
            .collect()
    }
}

export!(MappingTransform);
