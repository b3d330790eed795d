//! M3's field habits: fixed lengths (checked before a call, never cut), yyyyMMdd dates, a
//! decimal point, blank padding on output. Lengths come from the MI metadata in
//! reference/m3-transaction-fields.txt (an input takes the length of the output field of the
//! same name, M3's convention).

use std::str::FromStr;

use ferry_pdk::{Decimal, FieldError, Value, field_error};

/// Alphanumeric field lengths.
const LENGTHS: &[(&str, usize)] = &[
    // customers (CRS610MI)
    ("CUNO", 10),
    ("CUTM", 10),
    ("CUNM", 36),
    ("CUA1", 36),
    ("CUA2", 36),
    ("CUA3", 36),
    ("CUA4", 36),
    ("PONO", 10),
    ("PHNO", 16),
    ("PHN2", 16),
    ("TFNO", 16),
    ("ALCU", 10),
    ("YREF", 30),
    ("YRE2", 30),
    ("MAIL", 50),
    ("CSCD", 3),
    ("ECAR", 2),
    ("TOWN", 20),
    ("STAT", 2),
    ("CFC1", 10),
    ("CFC3", 3),
    ("CFC4", 5),
    ("CFC5", 1),
    ("CFC6", 10),
    ("CFC8", 3),
    ("CFC9", 5),
    ("CFC0", 1),
    ("CESA", 32),
    ("IVGP", 3),
    ("FRCO", 7),
    ("CUSU", 10),
    ("EDES", 3),
    ("DIVI", 3),
    ("LNCD", 2),
    ("RASN", 10),
    ("SPLE", 10),
    // order head (OIS100MI/AddBatchHead)
    ("CUOR", 20),
    ("ORTP", 3),
    ("FACI", 3),
    ("WHLO", 3),
    ("MODL", 3),
    ("TEDL", 3),
    ("OREF", 30),
    ("CUCD", 3),
    ("TEPY", 3),
    ("PYNO", 10),
    ("ADID", 6),
    ("AGNT", 10),
    ("SMCD", 10),
    ("PLTB", 10),
    ("DISY", 10),
    ("RESP", 10),
    ("OFNO", 10),
    ("TEL2", 36),
    ("PROJ", 7),
    ("ELNO", 8),
    ("DLSP", 12),
    ("DSTX", 36),
    ("TEPA", 3),
    ("TECD", 3),
    ("AGNO", 7),
    ("INRC", 10),
    ("DECU", 10),
    ("PYRE", 25),
    ("BKID", 5),
    ("PYCD", 3),
    ("TIZO", 5),
    ("ORNO", 10),
    // order lines (OIS100MI/AddBatchLine)
    ("ITNO", 15),
    ("ITDS", 30),
    ("ALUN", 3),
    ("SPUN", 3),
    ("CUPO", 7),
    ("TEDS", 60),
    ("PIDE", 4),
    ("BANO", 20),
    ("SERN", 20),
    ("CAMU", 20),
    ("CUPA", 20),
    ("POPN", 30),
    ("RSCD", 3),
    ("CMNO", 4),
    ("DLSX", 36),
    ("PACT", 6),
    ("WHSL", 10),
];

/// Numeric inputs: must be a decimal with a point (M3 refuses a comma).
const NUMERIC: &[&str] = &[
    "ORQT", "ORQA", "SAPR", "DIA1", "DIA2", "DIA3", "DIA4", "DIA5", "DIA6", "DIP1", "DIP2", "DIP3",
    "DIP4", "DIP5", "DIP6", "OTBA", "OTDP", "CONO", "CUTP", "SACD", "D1QT", "RLHM", "DWHM", "PONR",
    "POSX", "NTAM", "STQT", "ALQT", "AV01", "AV02", "AVAL", "QUQT", "RJQT", "REQT", "PLQT", "NETP",
    "LNAM", "SAPB", "PUPR", "NEPR", "NLAM", "BRAM", "TOPY", "VTAM", "ONET", "ORVA", "TOAM", "ODAM",
    "CRLM", "CRL2", "CRL3", "DIPC", "NEWE", "GRWE", "VOL3", "UCOS", "LNA2", "ORQS", "DCCD", "PDCC",
    "SAP1", "SAP2", "DPR1", "TBPR", "TBAM", "APPR", "CFC2", "CFC7", "DLQT", "IVQT", "ATNR",
];

/// Date fields (yyyyMMdd on the wire, ISO in documents).
const DATES: &[&str] = &[
    "RLDT", "ORDT", "CUDT", "DWDT", "CODT", "FDED", "LDED", "RLDZ", "DWDZ", "CODZ", "LMDT", "RGDT",
    "FDDT", "SPDT", "FVDT", "LVDT", "FLMD", "TLMD", "CSDS", "BAGD", "PPDT",
];

pub fn max_len(name: &str) -> Option<usize> {
    LENGTHS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

pub fn is_numeric(name: &str) -> bool {
    NUMERIC.contains(&name)
}

pub fn is_date(name: &str) -> bool {
    DATES.contains(&name)
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
