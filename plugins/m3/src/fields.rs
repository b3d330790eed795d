//! M3's field habits: fixed lengths (checked before a call, never cut), yyyyMMdd dates, a
//! decimal point, blank padding on output. Types and lengths come from the one M3 field catalog
//! (`crates/m3-fields`, the MI metadata dump; an input takes the length of the output field of
//! the same name, M3's convention).

use std::str::FromStr;

use ferry_m3_fields::{FieldSpec, FieldType};
use ferry_pdk::{Decimal, FieldError, Value, field_error};

/// The type and length of an M3 field, from the one catalog (`crates/m3-fields`).
fn spec(name: &str) -> Option<FieldSpec> {
    ferry_m3_fields::field(name)
}

/// An alphanumeric field's length (numbers and dates are checked by form, not length).
pub fn max_len(name: &str) -> Option<usize> {
    spec(name)
        .filter(|s| s.ty == FieldType::Alpha)
        .map(|s| s.length)
}

/// Numeric inputs: must be a decimal with a point (M3 refuses a comma).
pub fn is_numeric(name: &str) -> bool {
    spec(name).is_some_and(|s| s.ty == FieldType::Numeric)
}

/// Date fields (yyyyMMdd on the wire, ISO in documents).
pub fn is_date(name: &str) -> bool {
    spec(name).is_some_and(|s| s.ty == FieldType::Date)
}

/// `2026-05-01` (or `20260501`, or an ISO date-time) → `20260501`.
pub fn to_m3_date(s: &str) -> Option<String> {
    let s = s.trim();
    let date = s
        .get(..10)
        .filter(|d| d.as_bytes().get(4) == Some(&b'-'))
        .unwrap_or(s);
    let digits: String = date.chars().filter(|c| *c != '-').collect();
    let ok = digits.len() == 8
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (1..=12).contains(&digits[4..6].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&digits[6..8].parse::<u32>().unwrap_or(0));
    ok.then_some(digits)
}

/// `20260501` → `2026-05-01`; blank or all-zero dates are none.
pub fn from_m3_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) && s != "00000000" {
        Some(format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8]))
    } else {
        None
    }
}

/// A document value as an MI input string, checked against the field's M3 type and length.
/// `Ok(None)` for null (the field is not sent). `line` is the 0-based line for errors.
pub fn input(name: &str, value: &Value, line: Option<u32>) -> Result<Option<String>, FieldError> {
    let raw = match value {
        Value::Null => return Ok(None),
        Value::Text(s) => s.trim_end().to_string(),
        Value::Decimal(s) => s.trim().to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        Value::Date(d) => d.trim().to_string(),
    };
    let err = |m: String| field_error(name, line, &m);
    if is_date(name) || matches!(value, Value::Date(_)) {
        if raw.is_empty() {
            return Ok(None);
        }
        return to_m3_date(&raw)
            .map(Some)
            .ok_or_else(|| err(format!("'{raw}' is not a date (yyyy-mm-dd)")));
    }
    if is_numeric(name) {
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.contains(',') {
            return Err(err(format!(
                "'{raw}' uses a decimal comma; M3 takes a point"
            )));
        }
        let d = Decimal::from_str(&raw).map_err(|_| err(format!("'{raw}' is not a number")))?;
        return Ok(Some(d.normalize().to_string()));
    }
    if let Some(max) = max_len(name) {
        let n = raw.chars().count();
        if n > max {
            return Err(err(format!(
                "'{raw}' is {n} characters; M3 field {name} holds {max} (nothing is cut)"
            )));
        }
    }
    Ok(Some(raw))
}

/// An MI output value as a document value: dates ISO, numbers decimal, the rest trimmed text.
pub fn output(name: &str, raw: &str) -> Value {
    let t = raw.trim();
    if is_date(name) {
        return from_m3_date(t).map(Value::Date).unwrap_or(Value::Null);
    }
    if is_numeric(name) {
        if t.is_empty() {
            return Value::Null;
        }
        if let Ok(d) = Decimal::from_str(t) {
            return Value::Decimal(d.normalize().to_string());
        }
    }
    Value::Text(raw.trim_end().to_string())
}

/// A decimal from an MI output (blank = zero).
pub fn dec(raw: Option<&String>) -> Decimal {
    raw.and_then(|s| Decimal::from_str(s.trim()).ok())
        .unwrap_or_default()
}

/// A decimal as the WIT's decimal string.
pub fn dec_str(raw: Option<&String>) -> String {
    dec(raw).normalize().to_string()
}

pub use ferry_pdk::normalize_company_name as normalize_name;

/// Digits only, for phone comparison.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_both_ways() {
        assert_eq!(to_m3_date("2026-05-01").as_deref(), Some("20260501"));
        assert_eq!(
            to_m3_date("2026-05-01T10:00:00Z").as_deref(),
            Some("20260501")
        );
        assert_eq!(to_m3_date("20260501").as_deref(), Some("20260501"));
        assert_eq!(to_m3_date("2026-13-01"), None);
        assert_eq!(to_m3_date("01/05/2026"), None);
        assert_eq!(from_m3_date("20260501").as_deref(), Some("2026-05-01"));
        assert_eq!(from_m3_date("0"), None);
    }

    #[test]
    fn over_long_values_are_refused_not_cut() {
        let e = input("CUOR", &Value::Text("Q".repeat(21)), None).expect_err("too long");
        assert_eq!(e.field, "CUOR");
        assert!(e.message.contains("holds 20"), "{}", e.message);
        assert_eq!(
            input("CUNM", &Value::Text("Ä".repeat(36)), None).expect("36 chars fit"),
            Some("Ä".repeat(36))
        );
        let e = input("ITNO", &Value::Text("X".repeat(16)), Some(3)).expect_err("too long");
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn numbers_take_a_point_and_dates_become_yyyymmdd() {
        assert_eq!(
            input("ORQT", &Value::Decimal("2.500".into()), None)
                .expect("ok")
                .as_deref(),
            Some("2.5")
        );
        assert!(input("SAPR", &Value::Text("12,50".into()), None).is_err());
        assert!(input("ORQT", &Value::Text("two".into()), None).is_err());
        assert_eq!(
            input("RLDT", &Value::Date("2026-07-04".into()), None)
                .expect("ok")
                .as_deref(),
            Some("20260704")
        );
        assert_eq!(
            input("RLDT", &Value::Text("2026-07-04".into()), None)
                .expect("ok")
                .as_deref(),
            Some("20260704")
        );
        assert_eq!(input("YREF", &Value::Null, None).expect("ok"), None);
    }

    #[test]
    fn outputs_are_typed_and_trimmed() {
        let show = |v: Value| format!("{v:?}");
        assert_eq!(
            show(output("LMDT", "20260102")),
            show(Value::Date("2026-01-02".into()))
        );
        assert_eq!(
            show(output("SAPR", "  12.500000")),
            show(Value::Decimal("12.5".into()))
        );
        assert_eq!(
            show(output("CUNM", "Acme      ")),
            show(Value::Text("Acme".into()))
        );
        assert_eq!(
            show(output("CUNO", "00042")),
            show(Value::Text("00042".into()))
        );
    }

    /// The connector checks every field the way the one catalog types it (no private table
    /// that could disagree with the simulator or `ferry mapping suggest`).
    #[test]
    fn every_catalog_field_is_checked_as_the_catalog_types_it() {
        for (name, spec) in ferry_m3_fields::catalog().fields() {
            let long = Value::Text("X".repeat(spec.length + 1));
            match spec.ty {
                FieldType::Alpha => {
                    assert_eq!(max_len(name), Some(spec.length), "{name}");
                    assert!(input(name, &long, None).is_err(), "{name} too long");
                    let fits = Value::Text("X".repeat(spec.length));
                    assert!(input(name, &fits, None).is_ok(), "{name} fits");
                }
                FieldType::Numeric => {
                    assert!(
                        input(name, &Value::Text("two".into()), None).is_err(),
                        "{name}"
                    );
                    assert!(
                        matches!(output(name, " 2.50"), Value::Decimal(d) if d == "2.5"),
                        "{name}"
                    );
                }
                FieldType::Date => {
                    assert!(input(name, &Value::Text("31/12/2026".into()), None).is_err());
                    assert!(matches!(output(name, "20261231"), Value::Date(_)), "{name}");
                }
            }
        }
    }

    #[test]
    fn names_normalize_across_punctuation_case_and_legal_form() {
        assert_eq!(
            normalize_name("Acme Industries, Inc."),
            normalize_name("ACME industries Incorporated")
        );
        assert_eq!(normalize_name("The Smith & Sons Co"), "smith and sons");
        assert_ne!(normalize_name("Acme West"), normalize_name("Acme East"));
    }
}
