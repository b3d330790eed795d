//! What a batch order carries besides its head and lines, added before Confirm so that Confirm
//! commits it with the order (reference/m3-order-depth.md §1-3):
//! - texts: header and line fields `TEXT_PRE` / `TEXT_POST` → `OIS100MI/AddBatchText` (TYPE 1
//!   head or 2 line, TYTR 1 pre or 2 post), split into lines of at most 60 characters (safe
//!   under both the 240 of PARM and the 60 of the TX60 lines M3 reads back), one call a line;
//!   header field `TXHE` is the document class;
//! - head charges: header fields `CRID`, `CRAM`, `CRD0` (freight) and `CRID2`, `CRAM2`,
//!   `CRD02` (a second one, e.g. QuoteWerks' % charge lines) → `OIS100MI/AddBatchHeadChg`; an
//!   amount without a charge id, or an id OIS030 does not know, is refused before any write;
//! - a delivery address: header fields `CUNM`, `CUA1`-`CUA4`, `PONO`, `TOWN`, `ECAR`, `CSCD`,
//!   `PHNO` → `OIS100MI/AddBatchAddress` (ADRT 1), only when it differs from the customer's.
//!
//! A batch order reused after a lost answer may already hold some of this: its texts are
//! deleted (DelBatchText) and written again, and a charge or address M3 says already exists
//! is kept, so a repeat never doubles anything.

use crate::fields;
use crate::mi::{Mi, Record};
use crate::records::key;
use ferry_pdk::{Decimal, Document, Error, Field, FieldError, Value, field_error};

/// Header and line fields this module reads; the head and line inputs leave them out.
pub const LINE_FIELDS: &[&str] = &["TEXT_PRE", "TEXT_POST", "TXHE"];
pub const HEAD_FIELDS: &[&str] = &[
    "TEXT_PRE",
    "TEXT_POST",
    "TXHE",
    "CRID",
    "CRAM",
    "CRD0",
    "CRID2",
    "CRAM2",
    "CRD02",
    "CUNM",
    "CUA1",
    "CUA2",
    "CUA3",
    "CUA4",
    "PONO",
    "TOWN",
    "ECAR",
    "CSCD",
    "PHNO",
];
const ADDRESS: &[&str] = &[
    "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "TOWN", "ECAR", "CSCD", "PHNO",
];
/// The fields that say where the goods go (a different name or phone alone is not a
/// different address).
const PLACE: &[&str] = &["CUA1", "CUA2", "PONO", "TOWN", "ECAR", "CSCD"];
/// Width of one text line.
pub const TEXT_WIDTH: usize = 60;

/// Splits text into lines M3 accepts: paragraphs kept, each wrapped at word boundaries to at
/// most `width` characters (a longer word is cut), blank lines dropped.
pub fn split_text(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            while word.len() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                out.push(word.drain(..width).collect());
            }
            let word: String = word.into_iter().collect();
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        if !line.is_empty() {
            out.push(line);
        }
    }
    out
}

/// The document class a head's or line's `TXHE` names.
pub fn txhe_of(fields: &[Field]) -> Option<String> {
    fields
        .iter()
        .find(|f| f.name == "TXHE")
        .and_then(|f| match &f.value {
            Value::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
            _ => None,
        })
}

/// (TYTR, text line) for a head's or line's `TEXT_PRE` / `TEXT_POST`.
pub fn texts_of(fields: &[Field]) -> Vec<(u8, String)> {
    let get = |n: &str| {
        fields
            .iter()
            .find(|f| f.name == n)
            .and_then(|f| match &f.value {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (tytr, name) in [(1u8, "TEXT_PRE"), (2u8, "TEXT_POST")] {
        for l in split_text(&get(name), TEXT_WIDTH) {
            out.push((tytr, l));
        }
    }
    out
}

/// The fields of `fields` that are not this module's (for the head's or a line's own inputs).
pub fn without(fields: &[Field], names: &[&str]) -> Vec<Field> {
    fields
        .iter()
        .filter(|f| !names.contains(&f.name.as_str()))
        .cloned()
        .collect()
}

fn input_of(doc: &Document, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let f = doc.fields.iter().find(|f| f.name == name)?;
    match fields::input(name, &f.value, None) {
        Ok(Some(v)) if !v.trim().is_empty() => Some(v),
        Ok(_) => None,
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// Header field suffixes of the head charges.
const CHARGES: [&str; 2] = ["", "2"];

/// The AddBatchHeadChg inputs (CRID, CRAM, CRD0) of each head charge the order has.
pub fn charges(header: &Document, errors: &mut Vec<FieldError>) -> Vec<Vec<(String, String)>> {
    CHARGES
        .iter()
        .filter_map(|suffix| charge_inputs(header, suffix, errors))
        .collect()
}

/// One head charge's inputs (header fields `CRID<suffix>`, `CRAM<suffix>`, `CRD0<suffix>`),
/// or None when it has no amount.
pub fn charge_inputs(
    header: &Document,
    suffix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<(String, String)>> {
    let name = |f: &str| format!("{f}{suffix}");
    let crid = input_of(header, &name("CRID"), errors);
    let cram = input_of(header, &name("CRAM"), errors);
    let amount = cram
        .as_deref()
        .and_then(|c| c.parse::<Decimal>().ok())
        .unwrap_or_default();
    if amount.is_zero() {
        return None;
    }
    let Some(crid) = crid else {
        errors.push(field_error(
            &name("CRID"),
            None,
            &format!(
                "the order has a charge of {amount} but no charge id (set the tenant's charge id)"
            ),
        ));
        return None;
    };
    let mut inputs = vec![
        ("CRID".to_string(), crid),
        ("CRAM".to_string(), amount.to_string()),
    ];
    if let Some(d) = input_of(header, &name("CRD0"), errors) {
        inputs.push(("CRD0".into(), d));
    }
    Some(inputs)
}

/// Whether OIS030 knows the charge id: a freight amount is never dropped for an unknown one.
pub fn check_charge(mi: &Mi, crid: &str) -> Result<Option<FieldError>, Error> {
    let found = mi.call(
        "OIS030MI",
        "LstOrderCharges",
        &[("CRID".into(), crid.to_string())],
        Some(1),
    )?;
    let known = found
        .iter()
        .any(|r| r.get("CRID").map(|c| c.trim()) == Some(crid.trim()));
    Ok((!known).then(|| {
        field_error(
            "CRID",
            None,
            &format!("charge {crid} is not defined in M3 (OIS030): the freight would be lost; fix the tenant's charge id"),
        )
    }))
}

/// The delivery address inputs when the header names one that differs from the customer's
/// (read with CRS610MI/GetBasicData); None when it is the customer's own or absent.
pub fn address_inputs(
    mi: &Mi,
    header: &Document,
    cuno: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<Vec<(String, String)>>, Error> {
    // A value too long for M3 matters only when the address is sent.
    let mut problems = Vec::new();
    let wanted: Vec<(String, String)> = ADDRESS
        .iter()
        .filter_map(|f| input_of(header, f, &mut problems).map(|v| ((*f).to_string(), v)))
        .collect();
    let raw = |f: &str| match header.fields.iter().find(|x| x.name == f).map(|x| &x.value) {
        Some(Value::Text(t)) => t.trim().to_string(),
        _ => String::new(),
    };
    let place: Vec<(String, String)> = PLACE
        .iter()
        .map(|f| ((*f).to_string(), raw(f)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if place.is_empty() {
        return Ok(None);
    }
    let customer = mi.get_one("CRS610MI", "GetBasicData", &[key("CUNO", cuno)?])?;
    if same_place(&customer, &place) {
        return Ok(None);
    }
    errors.extend(problems);
    if !wanted.iter().any(|(k, _)| k == "CUNM") {
        errors.push(field_error("CUNM", None, "a delivery address needs a name"));
    }
    let mut inputs = vec![("ADRT".to_string(), "1".to_string())];
    inputs.extend(wanted);
    Ok(Some(inputs))
}

fn same_place(customer: &Record, wanted: &[(String, String)]) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    PLACE.iter().all(|f| {
        let w = wanted
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| norm(v))
            .unwrap_or_default();
        let c = customer.get(*f).map(|v| norm(v)).unwrap_or_default();
        w.is_empty() || w == c
    })
}

fn already_exists(code: &str) -> bool {
    code.trim() == "XRE0104"
}

/// Adds one place's texts (head when `ponr` is None), replacing any it holds when `replace`.
pub fn add_texts(
    mi: &Mi,
    orno: &str,
    ponr: Option<&str>,
    texts: &[(u8, String)],
    txhe: Option<&str>,
    replace: bool,
) -> Result<(), Error> {
    if texts.is_empty() {
        return Ok(());
    }
    let mut target = vec![("ORNO".to_string(), orno.to_string())];
    match ponr {
        None => target.push(("TYPE".into(), "1".into())),
        Some(p) => {
            target.push(("TYPE".into(), "2".into()));
            target.push(("PONR".into(), p.to_string()));
        }
    }
    if replace {
        for tytr in ["1", "2"] {
            let mut inputs = target.clone();
            inputs.push(("TYTR".into(), tytr.into()));
            mi.call("OIS100MI", "DelBatchText", &inputs, Some(0))?;
        }
    }
    for (tytr, text) in texts {
        let mut inputs = target.clone();
        inputs.push(("TYTR".into(), tytr.to_string()));
        inputs.push(("PARM".into(), text.clone()));
        if let Some(c) = txhe {
            inputs.push(("TXHE".into(), c.to_string()));
        }
        mi.call("OIS100MI", "AddBatchText", &inputs, Some(0))?;
    }
    Ok(())
}

/// What the head carries besides its AddBatchHead inputs, checked before any write.
pub struct HeadDepth {
    pub texts: Vec<(u8, String)>,
    pub txhe: Option<String>,
    pub charges: Vec<Vec<(String, String)>>,
    pub address: Option<Vec<(String, String)>>,
}

/// Reads and checks the header's depth fields (the address against the customer in M3).
pub fn head_depth(mi: &Mi, header: &Document, cuno: &str) -> Result<HeadDepth, Error> {
    let mut errors = Vec::new();
    let txhe = input_of(header, "TXHE", &mut errors);
    let charges = charges(header, &mut errors);
    for c in &charges {
        if let Some((_, crid)) = c.iter().find(|(k, _)| k == "CRID")
            && let Some(e) = check_charge(mi, crid)?
        {
            errors.push(e);
        }
    }
    let address = address_inputs(mi, header, cuno, &mut errors)?;
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(HeadDepth {
        texts: texts_of(&header.fields),
        txhe,
        charges,
        address,
    })
}

/// Adds the head's texts, charge and address to the batch order; `reused` when an earlier
/// attempt may have added some already.
pub fn apply_head(mi: &Mi, orno: &str, d: &HeadDepth, reused: bool) -> Result<(), Error> {
    add_texts(mi, orno, None, &d.texts, d.txhe.as_deref(), reused)?;
    let writes = d
        .charges
        .iter()
        .map(|c| ("AddBatchHeadChg", c))
        .chain(d.address.iter().map(|a| ("AddBatchAddress", a)));
    for (transaction, inputs) in writes {
        let mut all = vec![("ORNO".to_string(), orno.to_string())];
        all.extend(inputs.iter().cloned());
        match mi.try_call("OIS100MI", transaction, &all, Some(0))? {
            Ok(_) => {}
            Err(nok) if reused && already_exists(&nok.code) => {
                ferry_pdk::info!("batch order {orno}: {transaction} was already done");
            }
            Err(nok) => return Err(nok.classify()),
        }
    }
    Ok(())
}

/// The checks `validate` adds for the header's depth fields.
pub fn validate_head(
    mi: &Mi,
    header: &Document,
    cuno: Option<&str>,
) -> Result<Vec<FieldError>, Error> {
    let mut errors = Vec::new();
    let charges = charges(header, &mut errors);
    for c in &charges {
        if let Some((_, crid)) = c.iter().find(|(k, _)| k == "CRID")
            && let Some(e) = check_charge(mi, crid)?
        {
            errors.push(e);
        }
    }
    if let Some(cuno) = cuno {
        match address_inputs(mi, header, cuno, &mut errors) {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_split_at_words_into_lines_m3_takes() {
        let text = "Delivered to the loading dock at the back of the building, between 8 and 4\n\nCall ahead";
        let lines = split_text(text, 60);
        assert_eq!(
            lines,
            vec![
                "Delivered to the loading dock at the back of the building,",
                "between 8 and 4",
                "Call ahead"
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 60));
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut_not_lost() {
        let long = "x".repeat(130);
        let lines = split_text(&format!("see {long} end"), 60);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), format!("see{long}end"));
        assert!(lines.iter().all(|l| l.chars().count() <= 60));
    }

    #[test]
    fn multibyte_text_counts_characters() {
        let text = "Größe ".repeat(20);
        let lines = split_text(&text, 60);
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{lines:?}");
        assert_eq!(lines.join(" ").split(' ').count(), 20);
    }

    #[test]
    fn pre_and_post_texts_keep_their_types() {
        let f = |n: &str, v: &str| Field {
            name: n.into(),
            value: Value::Text(v.into()),
        };
        let t = texts_of(&[f("TEXT_POST", "after"), f("TEXT_PRE", "before")]);
        assert_eq!(t, vec![(1, "before".into()), (2, "after".into())]);
    }

    #[test]
    fn a_charge_without_an_id_is_an_error_and_none_without_an_amount() {
        let doc = |fields: Vec<(&str, Value)>| Document {
            kind: "order".into(),
            id: None,
            fields: fields
                .into_iter()
                .map(|(n, value)| Field {
                    name: n.into(),
                    value,
                })
                .collect(),
            lines: Vec::new(),
        };
        let mut errors = Vec::new();
        let c = charge_inputs(
            &doc(vec![("CRAM", Value::Decimal("25.50".into()))]),
            "",
            &mut errors,
        );
        assert!(c.is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "CRID");
        let mut errors = Vec::new();
        let c = charge_inputs(
            &doc(vec![
                ("CRAM", Value::Decimal("0".into())),
                ("CRID", Value::Text("FRT".into())),
            ]),
            "",
            &mut errors,
        );
        assert!(c.is_none() && errors.is_empty());
        let c = charge_inputs(
            &doc(vec![
                ("CRAM", Value::Decimal("25.50".into())),
                ("CRID", Value::Text("FRT".into())),
            ]),
            "",
            &mut errors,
        );
        assert_eq!(
            c,
            Some(vec![
                ("CRID".into(), "FRT".into()),
                ("CRAM".into(), "25.5".into())
            ])
        );
    }

    #[test]
    fn a_second_charge_is_read_from_its_own_fields() {
        let f = |n: &str, v: &str| Field {
            name: n.into(),
            value: Value::Text(v.into()),
        };
        let doc = Document {
            kind: "order".into(),
            id: None,
            fields: vec![f("CRAM", "45"), f("CRID", "FRT"), f("CRAM2", "12.40")],
            lines: Vec::new(),
        };
        let mut errors = Vec::new();
        let c = charges(&doc, &mut errors);
        assert_eq!(c.len(), 1, "only the charge with an id");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "CRID2");
    }
}
