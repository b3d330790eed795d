//! The mapping bench's VRL baseline (feature `bench-vrl`): the shipped quote-to-order mapping
//! written in VRL (common/quote_to_order.vrl), compiled once, run over the same quote.

use ferry_domain::{Context, Document, Field, Line, Value};
use vrl::compiler::{Context as VrlContext, Program, TargetValue, TimeZone, state::RuntimeState};
use vrl::value::{ObjectMap, Secrets, Value as VrlValue};

/// The VRL program's source, next to this file.
pub const SOURCE: &str = include_str!("quote_to_order.vrl");

pub struct Vrl {
    program: Program,
    timezone: TimeZone,
}

impl Vrl {
    /// Compiles the program with VRL's standard library; panics with VRL's diagnostics.
    pub fn compile() -> Self {
        let functions = vrl::stdlib::all();
        let compiled = vrl::compiler::compile(SOURCE, &functions).unwrap_or_else(|diagnostics| {
            panic!(
                "quote_to_order.vrl does not compile:\n{}",
                vrl::diagnostic::Formatter::new(SOURCE, diagnostics)
            )
        });
        Self {
            program: compiled.program,
            timezone: TimeZone::default(),
        }
    }

    /// Runs the program over one event (the input as `input` built it); the event is consumed,
    /// as in Vector, where each event is its own value.
    pub fn run(&self, event: VrlValue) -> VrlValue {
        let mut target = TargetValue {
            value: event,
            metadata: VrlValue::Object(ObjectMap::new()),
            secrets: Secrets::default(),
        };
        let mut state = RuntimeState::default();
        let mut ctx = VrlContext::new(&mut target, &mut state, &self.timezone);
        self.program
            .resolve(&mut ctx)
            .unwrap_or_else(|e| panic!("quote_to_order.vrl failed: {e}"));
        target.value
    }
}

/// The quote and the context as one VRL event: `.fields`, `.lines`, `.setting`, `.ids`. Decimals
/// go in as their text (VRL has no decimal type; the program parses them, as the engine does).
pub fn input(quote: &Document, ctx: &Context) -> VrlValue {
    let record = |fields: &[Field]| -> VrlValue {
        VrlValue::Object(
            fields
                .iter()
                .map(|f| (f.name.as_str().into(), to_vrl(&f.value)))
                .collect(),
        )
    };
    let pairs = |pairs: &[(String, String)]| -> VrlValue {
        VrlValue::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.as_str().into(), VrlValue::from(v.as_str())))
                .collect(),
        )
    };
    let mut event = ObjectMap::new();
    event.insert("fields".into(), record(&quote.fields));
    event.insert(
        "lines".into(),
        VrlValue::Array(quote.lines.iter().map(|l| record(&l.fields)).collect()),
    );
    event.insert("setting".into(), pairs(&ctx.settings));
    event.insert("ids".into(), pairs(&ctx.ids));
    VrlValue::Object(event)
}

fn to_vrl(value: &Value) -> VrlValue {
    match value {
        Value::Text(s) | Value::Decimal(s) | Value::Date(s) => VrlValue::from(s.as_str()),
        Value::Integer(i) => VrlValue::Integer(*i),
        Value::Boolean(b) => VrlValue::Boolean(*b),
        Value::Null => VrlValue::Null,
    }
}

/// The program's output as the engine's document: strings are text, numbers with a fraction
/// part decimals (as the engine writes them), integers integers; fields sorted by name.
pub fn output(event: &VrlValue) -> Document {
    let object = |v: &VrlValue| -> Vec<Field> {
        let VrlValue::Object(map) = v else {
            panic!("not an object: {v}")
        };
        map.iter()
            .map(|(k, v)| Field {
                name: k.to_string(),
                value: from_vrl(v),
            })
            .collect()
    };
    let VrlValue::Object(map) = event else {
        panic!("the program's output is no object: {event}")
    };
    let lines = match map.get("lines") {
        Some(VrlValue::Array(lines)) => lines.iter().map(|l| Line { fields: object(l) }).collect(),
        _ => Vec::new(),
    };
    Document {
        kind: "order".into(),
        id: map.get("id").map(|v| match from_vrl(v) {
            Value::Text(s) => s,
            other => panic!("id is no text: {other:?}"),
        }),
        fields: object(map.get("fields").expect("fields")),
        lines,
    }
}

fn from_vrl(value: &VrlValue) -> Value {
    match value {
        VrlValue::Bytes(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
        VrlValue::String(s) => Value::Text(s.to_string()),
        VrlValue::Integer(i) => Value::Integer(*i),
        VrlValue::Float(f) => Value::Decimal(format!("{}", f.into_inner())),
        VrlValue::Boolean(b) => Value::Boolean(*b),
        VrlValue::Null => Value::Null,
        other => Value::Text(other.to_string()),
    }
}

/// A document with its header's and lines' fields sorted by name and its decimals without
/// trailing zeros (the engine writes an amount at its scale, "3.70"; VRL's float says "3.7"),
/// to compare the engine's output with `output`.
pub fn sorted(mut doc: Document) -> Document {
    let tidy = |fields: &mut Vec<Field>| {
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        for field in fields {
            if let Value::Decimal(s) = &field.value
                && let Ok(d) = s.parse::<rust_decimal::Decimal>()
            {
                field.value = Value::Decimal(d.normalize().to_string());
            }
        }
    };
    tidy(&mut doc.fields);
    for line in &mut doc.lines {
        tidy(&mut line.fields);
    }
    doc
}
