//! Mapping expressions and whole mapping files: any text parses or is refused with an error,
//! and a mapping that parses maps a sample quote without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mapping_engine::{Context, Document, Field, Line, Mapping, Value};

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quote() -> Document {
    let f = Field::new;
    Document {
        kind: "quote".into(),
        id: Some("7".into()),
        fields: vec![
            f("DocNo", Value::Text("Q0007".into())),
            f("ShipVia", Value::Text("Ground".into())),
            f("DocDate", Value::Date("2025-03-07".into())),
            f("GrandTotal", Value::Decimal("1234.5650".into())),
            f("Qty", Value::Integer(-3)),
            f("Taxable", Value::Boolean(true)),
            f("Notes", Value::Null),
        ],
        lines: vec![Line {
            fields: vec![
                f("ManufacturerPartNumber", Value::Text("A-1".into())),
                f("QtyTotal", Value::Decimal("2".into())),
                f(
                    "UnitPrice",
                    Value::Decimal("0.333333333333333333333".into()),
                ),
            ],
        }],
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let file = if mode & 1 == 0 {
        // One expression, in a header rule and a line rule.
        let e = toml_string(text);
        format!(
            "[mapping]\nkind = \"quote-to-order\"\n[tables.ship_via]\nGround = \"01\"\n\"*\" = \"99\"\n\
             [header]\nOUT = {e}\n[lines.fields]\nLOUT = {e}\n"
        )
    } else {
        text.to_string()
    };
    if let Ok(mapping) = Mapping::parse(&file) {
        let _ = mapping.describe();
        let ctx = Context {
            tenant: "acme".into(),
            settings: vec![("warehouse".into(), "001".into())],
            ids: vec![("customer".into(), "C1".into())],
        };
        let _ = mapping.map(&quote(), &ctx);
    }
});
