//! Sales orders through OIS100MI batch entry: AddBatchHead → AddBatchLine… → Confirm, with
//! LstErrMsgOrder read back on failure and each message reported against its line.

mod credit;
mod depth;
mod readback;
mod reads;

use readback::{delete_batch_order, delete_lines, head_keys, unconfirmed_batch_orders};
pub use readback::{find, status};

use std::collections::BTreeMap;

use crate::exports::ferry::erp::erp::OrderReceipt;
use crate::fields;
use crate::mi::{Mi, Nok, Record};
use crate::records::{inputs_from, key, setting};
use ferry_pdk::{Decimal, Document, Error, FieldError, FieldsExt, Line, Value, field_error};

pub const HEAD_INPUTS: &[&str] = &[
    "CUNO", "ORTP", "RLDT", "FACI", "CUOR", "AGNT", "SMCD", "MODL", "TEDL", "YREF", "PROJ", "OTBA",
    "TEPY", "PYNO", "ADID", "CUCD", "OREF", "OFNO", "TEL2", "CUDT", "INRC", "ORDT", "RLHM", "TEPA",
    "TIZO", "AGNO", "DLSP", "DSTX", "TECD", "PLTB", "DISY", "OTDP", "WHLO", "RESP", "DECU", "PYRE",
    "LNCD", "ELNO",
];
pub const LINE_INPUTS: &[&str] = &[
    "ITNO", "ORQT", "WHLO", "DWDT", "JDCD", "CUPO", "SAPR", "DIA1", "DIA2", "DIA3", "DIA4", "DIA5",
    "DIA6", "DLSP", "DLSX", "ALUN", "CODT", "ITDS", "DIP1", "DIP2", "DIP3", "DIP4", "DIP5", "DIP6",
    "AGNO", "PROJ", "ELNO", "CUOR", "DWHM", "SACD", "SPUN", "TEDS", "PIDE", "CMNO", "RSCD", "BANO",
    "SERN", "POPN", "PACT", "CUPA",
];
/// Header defaults a tenant may set: setting name → M3 field.
const HEAD_DEFAULTS: &[(&str, &str)] = &[
    ("order_type", "ORTP"),
    ("facility", "FACI"),
    ("warehouse", "WHLO"),
    ("delivery_method", "MODL"),
    ("delivery_terms", "TEDL"),
];

/// The head's MI inputs: the document's fields, the tenant's defaults, CUOR = reference.
fn head_inputs(
    header: &Document,
    reference: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<(String, String)> {
    let fields: Vec<_> = depth::without(&header.fields, depth::HEAD_FIELDS)
        .into_iter()
        .filter(|f| f.name != "CUOR")
        .collect();
    let mut inputs = inputs_from(&fields, HEAD_INPUTS, None, errors, "OIS100MI/AddBatchHead");
    for (s, field) in HEAD_DEFAULTS {
        if !inputs.iter().any(|(k, _)| k == field)
            && let Some(v) = setting(s)
        {
            match fields::input(field, &Value::Text(v), None) {
                Ok(Some(v)) => inputs.push(((*field).into(), v)),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
    }
    match fields::input("CUOR", &Value::Text(reference.to_string()), None) {
        Ok(Some(v)) if !v.is_empty() => inputs.push(("CUOR".into(), v)),
        Ok(_) => errors.push(field_error("CUOR", None, "the order reference is required")),
        Err(e) => errors.push(e),
    }
    #[cfg(feature = "yref-upper")]
    for (k, v) in inputs.iter_mut() {
        if k == "YREF" {
            *v = v.to_uppercase();
        }
    }
    if !inputs
        .iter()
        .any(|(k, v)| k == "CUNO" && !v.trim().is_empty())
    {
        errors.push(field_error("CUNO", None, "is required"));
    }
    inputs
}

/// The AddBatchHead inputs, the AddBatchLine inputs per line, and every problem found in them
/// (checked before any M3 call).
type OrderInputs = (
    Vec<(String, String)>,
    Vec<Vec<(String, String)>>,
    Vec<FieldError>,
);

fn order_inputs(order: &Document, reference: &str) -> OrderInputs {
    let mut errors = Vec::new();
    let head = head_inputs(order, reference, &mut errors);
    let lines = order
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| line_inputs(l, i as u32, &mut errors))
        .collect();
    if order.lines.is_empty() {
        errors.push(field_error(
            "lines",
            None,
            "an order needs at least one line",
        ));
    }
    (head, lines, errors)
}

fn line_inputs(line: &Line, index: u32, errors: &mut Vec<FieldError>) -> Vec<(String, String)> {
    let inputs = inputs_from(
        &depth::without(&line.fields, depth::LINE_FIELDS),
        LINE_INPUTS,
        Some(index),
        errors,
        "OIS100MI/AddBatchLine",
    );
    if !inputs
        .iter()
        .any(|(k, v)| k == "ITNO" && !v.trim().is_empty())
    {
        errors.push(field_error("ITNO", Some(index), "is required"));
    }
    match line.decimal("ORQT") {
        Ok(Some(q)) if q > Decimal::ZERO => {}
        Ok(_) => errors.push(field_error(
            "ORQT",
            Some(index),
            "must be greater than zero",
        )),
        Err(_) => {} // reported by inputs_from
    }
    inputs
}

/// Checks an order without writing: field lengths and types, then the customer (definite,
/// STAT 20) and every item (released: status 20-50) in M3.
pub fn validate(mi: &Mi, order: &Document) -> Result<Vec<FieldError>, Error> {
    let reference = order.text("CUOR").unwrap_or_else(|| "validate".into());
    let (head, lines, mut errors) = order_inputs(order, &reference);
    let cuno = head
        .iter()
        .find(|(k, _)| k == "CUNO")
        .map(|(_, c)| c.clone());
    errors.extend(depth::validate_head(mi, order, cuno.as_deref())?);
    // The customer (and its credit) in one round trip, the items in another (bulk entry).
    if let Some(cuno) = &cuno {
        let mut customer_reads = vec![("GetBasicData".to_string(), vec![key("CUNO", cuno)?])];
        if credit::enabled() {
            customer_reads.push(("GetFinancial".to_string(), vec![key("CUNO", cuno)?]));
        }
        let got = reads::get_many(mi, "CRS610MI", &customer_reads)?;
        if let Some(e) = credit::judge(order, cuno, got.get(1).and_then(Option::as_ref)) {
            errors.push(e);
        }
        match got.first().and_then(Option::as_ref) {
            Some(r) => {
                let stat = r.get("STAT").map(|s| s.trim()).unwrap_or("");
                if stat != "20" {
                    errors.push(field_error(
                        "CUNO",
                        None,
                        &format!("customer {cuno} has status {stat}; orders need 20 (definite)"),
                    ));
                }
            }
            None => errors.push(field_error(
                "CUNO",
                None,
                &format!("customer {cuno} does not exist in M3"),
            )),
        }
    }
    let wanted: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, inputs)| {
            inputs
                .iter()
                .find(|(k, _)| k == "ITNO")
                .map(|(_, itno)| (i, itno.clone()))
        })
        .collect();
    let mut distinct: Vec<String> = wanted.iter().map(|(_, itno)| itno.clone()).collect();
    distinct.sort();
    distinct.dedup();
    let item_reads: Vec<_> = distinct
        .iter()
        .map(|itno| {
            (
                "GetItmBasic".to_string(),
                vec![("ITNO".to_string(), itno.clone())],
            )
        })
        .collect();
    let items: BTreeMap<&String, Option<String>> = distinct
        .iter()
        .zip(reads::get_many(mi, "MMS200MI", &item_reads)?)
        .map(|(itno, r)| {
            let stat = r.map(|r| {
                r.get("STAT")
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default()
            });
            (itno, stat)
        })
        .collect();
    for (i, itno) in &wanted {
        let line = Some(*i as u32);
        match items.get(itno).cloned().flatten() {
            None => errors.push(field_error(
                "ITNO",
                line,
                &format!("item {itno} does not exist in M3"),
            )),
            Some(stat) => {
                let n: u32 = stat.parse().unwrap_or(0);
                if !(20..=50).contains(&n) {
                    let why = if n >= 80 {
                        "discontinued"
                    } else {
                        "not released for sale"
                    };
                    errors.push(field_error(
                        "ITNO",
                        line,
                        &format!("item {itno} has status {stat} ({why})"),
                    ));
                }
            }
        }
    }
    Ok(errors)
}

/// Per-line outcome of adding lines: PONR per line, or the failures.
struct Added {
    ponrs: Vec<String>,
    failures: Vec<(u32, Nok)>,
}

/// A line's texts (TYTR, text line) and document class.
type LineTexts = (Vec<(u8, String)>, Option<String>);

fn line_texts(lines: &[Line]) -> Vec<LineTexts> {
    lines
        .iter()
        .map(|l| (depth::texts_of(&l.fields), depth::txhe_of(&l.fields)))
        .collect()
}

/// Adds the lines, each line's texts right after it (one call a line), or, in bulk, the lines
/// in one POST and then their texts. Added one by one, a line's texts are complete before the
/// next line exists: after an interruption only the last line M3 holds can lack them.
fn add_batch_lines(
    mi: &Mi,
    orno: &str,
    line_inputs: Vec<Vec<(String, String)>>,
    texts: &[LineTexts],
    first_index: u32,
) -> Result<Added, Error> {
    let mut added = Added {
        ponrs: Vec::new(),
        failures: Vec::new(),
    };
    let with_orno = |mut inputs: Vec<(String, String)>| {
        inputs.insert(0, ("ORNO".into(), orno.to_string()));
        inputs
    };
    if mi.settings.bulk_orders {
        let transactions: Vec<(String, Vec<(String, String)>)> = line_inputs
            .into_iter()
            .map(|i| ("AddBatchLine".to_string(), with_orno(i)))
            .collect();
        for (i, result) in mi.bulk("OIS100MI", &transactions)?.into_iter().enumerate() {
            match result {
                Ok(recs) => added.ponrs.push(ponr(&recs)),
                Err(nok) => added.failures.push((first_index + i as u32, nok)),
            }
        }
        if added.failures.is_empty() {
            for (p, (t, txhe)) in added.ponrs.iter().zip(texts) {
                depth::add_texts(mi, orno, Some(p), t, txhe.as_deref(), false)?;
            }
        }
    } else {
        for (i, inputs) in line_inputs.into_iter().enumerate() {
            match mi.try_call("OIS100MI", "AddBatchLine", &with_orno(inputs), Some(1))? {
                Ok(recs) => {
                    let p = ponr(&recs);
                    if let Some((t, txhe)) = texts.get(i) {
                        depth::add_texts(mi, orno, Some(&p), t, txhe.as_deref(), false)?;
                    }
                    added.ponrs.push(p);
                }
                Err(nok) => added.failures.push((first_index + i as u32, nok)),
            }
        }
    }
    Ok(added)
}

fn ponr(recs: &[Record]) -> String {
    recs.first()
        .and_then(|r| r.get("PONR"))
        .map(|p| p.trim().to_string())
        .unwrap_or_default()
}

/// Turns failures into per-line `invalid` errors: each NOK against its line, then every
/// LstErrMsgOrder message not already reported, against the line whose item it names (or the
/// order when it names none).
fn order_errors(
    mi: &Mi,
    orno: &str,
    failures: &[(u32, Nok)],
    line_items: &[(u32, String)],
    extra: Option<&Nok>,
) -> Result<Error, Error> {
    // `extra` was classified (and so reported) by the caller; each line's NOK is reported here.
    failures.iter().for_each(|(_, nok)| nok.report());
    let mut errors: Vec<FieldError> = failures
        .iter()
        .map(|(line, nok)| field_error(&nok.field_or("ITNO"), Some(*line), &nok.describe()))
        .collect();
    let mut reported: Vec<String> = failures
        .iter()
        .map(|(_, n)| n.message.trim().to_string())
        .collect();
    if let Some(n) = extra {
        errors.push(field_error(&n.field_or("order"), None, &n.describe()));
        reported.push(n.message.trim().to_string());
    }
    // The batch order stays in M3's batch entry for a person to inspect; its number is in
    // every message.
    let messages = match mi.try_call(
        "OIS100MI",
        "LstErrMsgOrder",
        &[("ORNO".into(), orno.to_string())],
        Some(0),
    )? {
        Ok(m) => m,
        Err(nok) => {
            ferry_pdk::warn!("LstErrMsgOrder for batch order {orno}: {}", nok.describe());
            Vec::new()
        }
    };
    for m in messages {
        let text = m
            .get("MDTA")
            .filter(|s| !s.trim().is_empty())
            .or(m.get("TX60"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if text.is_empty() || reported.iter().any(|r| r == &text) {
            continue;
        }
        let msid = m
            .get("MSID")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let line = line_items
            .iter()
            .find(|(_, itno)| {
                text.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '_')
                    .any(|w| w == itno)
            })
            .map(|(i, _)| *i);
        let field = if line.is_some() { "ITNO" } else { "order" };
        ferry_pdk::detail("m3.message-id", &msid);
        errors.push(field_error(
            field,
            line,
            &format!("OIS100MI/LstErrMsgOrder {msid}: {text}"),
        ));
        reported.push(text);
    }
    for e in &mut errors {
        e.message = format!("{} [batch order {orno}]", e.message);
    }
    Ok(Error::Invalid(errors))
}

/// Whether M3 stopped the batch order for credit: batch status 30 (OIS275MI/GetTmpOrderStat),
/// head and lines fine, waiting for the credit department (OIS275 release) or a higher limit.
fn credit_stopped(mi: &Mi, orno: &str) -> bool {
    matches!(
        mi.try_call(
            "OIS275MI",
            "GetTmpOrderStat",
            &[("ORNO".into(), orno.to_string())],
            Some(1),
        ),
        Ok(Ok(recs)) if recs.first().and_then(|r| r.get("STAT")).map(|s| s.trim()) == Some("30")
    )
}

fn receipt_status(r: &Record) -> String {
    let get = |k: &str| {
        r.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    match (get("ORSL"), get("ORST"), get("STAT")) {
        (Some(lo), Some(hi), _) if lo != hi => format!("{lo}-{hi}"),
        (Some(lo), _, _) => lo,
        (None, Some(hi), _) => hi,
        (None, None, Some(s)) => s,
        _ => String::new(),
    }
}

fn items_of(lines: &[Vec<(String, String)>], first: u32) -> Vec<(u32, String)> {
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            l.iter()
                .find(|(k, _)| k == "ITNO")
                .map(|(_, v)| (first + i as u32, v.clone()))
        })
        .collect()
}

fn add_head(mi: &Mi, inputs: &[(String, String)]) -> Result<String, Error> {
    let recs = match mi.try_call("OIS100MI", "AddBatchHead", inputs, Some(1))? {
        Ok(recs) => recs,
        // What the head names and M3 does not have (a customer, a warehouse, a currency
        // without an exchange rate) is data a person fixes: a hold, not a dead letter.
        Err(nok) => {
            return Err(match nok.classify() {
                Error::NotFound(m) => {
                    Error::Invalid(vec![field_error(&nok.field_or("order"), None, &m)])
                }
                other => other,
            });
        }
    };
    let r = recs.into_iter().next().unwrap_or_default();
    r.get("ORNO")
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .ok_or_else(|| Error::fatal("OIS100MI/AddBatchHead returned no ORNO"))
}

/// Confirm; when M3 says the batch order is already confirmed (a retried confirm), its final
/// number is read with GetOrderNo, so a confirm is safe to repeat.
fn confirm(mi: &Mi, orno: &str, line_items: &[(u32, String)]) -> Result<(String, String), Error> {
    match mi.try_call(
        "OIS100MI",
        "Confirm",
        &[("ORNO".into(), orno.to_string())],
        Some(1),
    )? {
        Ok(recs) => {
            let r = recs.first().cloned().unwrap_or_default();
            let final_orno = r
                .get("ORNO")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::fatal("OIS100MI/Confirm returned no ORNO"))?;
            Ok((final_orno, receipt_status(&r)))
        }
        Err(nok) => {
            if let Ok(Ok(recs)) = mi.try_call(
                "OIS100MI",
                "GetOrderNo",
                &[("ORNO".into(), orno.to_string())],
                Some(1),
            ) && let Some(ornr) = recs
                .first()
                .and_then(|r| r.get("ORNR"))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
            {
                ferry_pdk::info!("batch order {orno} was already confirmed as {ornr}");
                let head = mi.get_one("OIS100MI", "GetHead", &[("ORNO".into(), ornr.clone())])?;
                return Ok((ornr, receipt_status(&head)));
            }
            match nok.classify() {
                Error::Invalid(_) | Error::NotFound(_) | Error::Conflict(_) => {
                    let mut errors = order_errors(mi, orno, &[], line_items, Some(&nok))?;
                    if credit_stopped(mi, orno)
                        && let Error::Invalid(fields) = &mut errors
                    {
                        // The contract's word for it: the host holds, or sends and flags.
                        for f in fields.iter_mut().filter(|f| f.line.is_none()) {
                            f.field = "credit".into();
                        }
                    }
                    Err(errors)
                }
                other => Err(other),
            }
        }
    }
}

pub fn create(mi: &Mi, order: &Document, reference: &str) -> Result<OrderReceipt, Error> {
    let (head, lines, errors) = order_inputs(order, reference);
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let line_items = items_of(&lines, 0);
    let (cuno, _) = head_keys(&head);
    let extra = depth::head_depth(mi, order, &cuno)?;
    let orno = add_head(mi, &head)?;
    depth::apply_head(mi, &orno, &extra, false)?;
    let added = add_batch_lines(mi, &orno, lines, &line_texts(&order.lines), 0)?;
    if !added.failures.is_empty() {
        return Err(order_errors(mi, &orno, &added.failures, &line_items, None)?);
    }
    let (final_orno, status) = confirm(mi, &orno, &line_items)?;
    let mode = if mi.settings.bulk_orders {
        "bulk"
    } else {
        "batch"
    };
    ferry_pdk::info!(
        "m3 order {reference}: {final_orno} in {} M3 round trips ({mode}, {} lines)",
        mi.round_trips(),
        order.lines.len()
    );
    Ok(OrderReceipt {
        order_number: final_orno,
        reference: reference.to_string(),
        status,
        line_numbers: added.ponrs,
    })
}

/// Opens the order's batch order: the one already made for this reference when an earlier
/// attempt lost its answer (extra ones are deleted, so none is left to be confirmed by hand),
/// else a new one.
pub fn begin(mi: &Mi, header: &Document, reference: &str) -> Result<String, Error> {
    let mut errors = Vec::new();
    let head = head_inputs(header, reference, &mut errors);
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let (cuno, cuor) = head_keys(&head);
    // Checked before any write: an unknown charge id or a bad address writes nothing.
    let extra = depth::head_depth(mi, header, &cuno)?;
    let mut open = unconfirmed_batch_orders(mi, &cuno, &cuor)?;
    let reused = !open.is_empty();
    let orno = if open.is_empty() {
        add_head(mi, &head)?
    } else {
        let keep = open.remove(0);
        for extra in &open {
            delete_batch_order(mi, extra)?;
        }
        ferry_pdk::info!("m3 order {cuor}: batch order {keep} already exists, reused");
        keep
    };
    depth::apply_head(mi, &orno, &extra, reused)?;
    ferry_pdk::info!(
        "m3 order {cuor}: batch order {orno} in {} M3 round trips",
        mi.round_trips()
    );
    Ok(orno)
}

/// Whether a batch line M3 holds is the line Ferry wants at that place (item and quantity).
fn same_line(held: &Record, wanted: &[(String, String)]) -> bool {
    let get = |k: &str| wanted.iter().find(|(f, _)| f == k).map(|(_, v)| v.trim());
    let itno_ok = held.get("ITNO").map(|s| s.trim()) == get("ITNO");
    let qty = |s: Option<&str>| s.and_then(|v| v.trim().parse::<Decimal>().ok());
    itno_ok && qty(held.get("ORQT").map(String::as_str)) == qty(get("ORQT"))
}

/// Makes the batch order hold exactly `lines`, in order: the lines M3 already holds (added by
/// an attempt whose answer was lost) are read back with LstBatchLine and kept when they are the
/// wanted lines' prefix; only the rest are added. Anything else there is deleted first.
/// `first_index` numbers the lines for errors.
pub fn add_lines(
    mi: &Mi,
    draft: &str,
    lines: &[Line],
    first_index: u32,
) -> Result<Vec<String>, Error> {
    let (_, orno) = key("ORNO", draft)?;
    let mut errors = Vec::new();
    let inputs: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| line_inputs(l, first_index + i as u32, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let mut held = mi.call("OIS100MI", "LstBatchLine", &[key("ORNO", &orno)?], Some(0))?;
    held.sort_by_key(|l| l.get("PONR").and_then(|p| p.trim().parse::<u32>().ok()));
    let prefix =
        held.len() <= inputs.len() && held.iter().zip(&inputs).all(|(h, w)| same_line(h, w));
    let mut ponrs: Vec<String> = Vec::new();
    let start = if prefix {
        ponrs = held.iter().map(|l| ponr(std::slice::from_ref(l))).collect();
        held.len()
    } else {
        delete_lines(mi, &orno, &held)?;
        ferry_pdk::warn!("batch order {orno} held other lines than wanted: deleted them");
        0
    };
    // Held lines whose texts an interrupted attempt may not have finished get them again
    // before any line is added, replacing what they hold: added one by one, only the last
    // held line can lack them; after a bulk POST, any can.
    let redo = if mi.settings.bulk_orders {
        0
    } else {
        start.saturating_sub(1)
    };
    let held_texts = line_texts(&lines[redo..start]);
    for (p, (t, txhe)) in ponrs[redo..start].iter().zip(&held_texts) {
        depth::add_texts(mi, &orno, Some(p), t, txhe.as_deref(), true)?;
    }
    let rest = inputs[start..].to_vec();
    let line_items = items_of(&rest, first_index + start as u32);
    let added = if rest.is_empty() {
        Added {
            ponrs: Vec::new(),
            failures: Vec::new(),
        }
    } else {
        let texts = line_texts(&lines[start..]);
        add_batch_lines(mi, &orno, rest, &texts, first_index + start as u32)?
    };
    if !added.failures.is_empty() {
        return Err(order_errors(mi, &orno, &added.failures, &line_items, None)?);
    }
    ferry_pdk::info!(
        "batch order {orno}: {} lines already there, {} added, in {} M3 round trips",
        start,
        added.ponrs.len(),
        mi.round_trips()
    );
    ponrs.extend(added.ponrs);
    Ok(ponrs)
}

/// The confirmed order's head and lines: in one bulk round trip (bulk entry), else two GETs.
fn confirmed_order(mi: &Mi, orno: &str) -> Result<(Record, Vec<Record>), Error> {
    let by_orno = vec![("ORNO".to_string(), orno.to_string())];
    if mi.settings.bulk_orders {
        let reads = [
            ("GetHead".to_string(), by_orno.clone()),
            ("LstLine".to_string(), by_orno),
        ];
        // Reads only: resent safely after a 429/503, unlike a bulk of writes.
        let mut got = mi.bulk_read("OIS100MI", &reads)?.into_iter();
        let mut next = || {
            got.next()
                .unwrap_or_else(|| Ok(Vec::new()))
                .map_err(|nok| nok.classify())
        };
        let head = next()?.into_iter().next().ok_or_else(|| {
            Error::not_found(format!("OIS100MI/GetHead: no record for order {orno}"))
        })?;
        return Ok((head, next()?));
    }
    let head = mi.get_one("OIS100MI", "GetHead", &by_orno)?;
    let lines = mi.call("OIS100MI", "LstLine", &by_orno, Some(0))?;
    Ok((head, lines))
}

pub fn confirm_staged(mi: &Mi, draft: &str) -> Result<OrderReceipt, Error> {
    let (_, orno) = key("ORNO", draft)?;
    let (final_orno, _) = confirm(mi, &orno, &[])?;
    ferry_pdk::info!(
        "batch order {orno}: confirmed as {final_orno} in {} M3 round trips",
        mi.round_trips()
    );
    let (head, lines) = confirmed_order(mi, &final_orno)?;
    Ok(OrderReceipt {
        order_number: final_orno,
        reference: head
            .get("CUOR")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        status: receipt_status(&head),
        line_numbers: lines
            .iter()
            .filter_map(|l| l.get("PONR"))
            .map(|p| p.trim().to_string())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_status_is_one_code_or_lowest_to_highest() {
        let r = |pairs: &[(&str, &str)]| -> Record {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(receipt_status(&r(&[("ORSL", "22"), ("ORST", "22")])), "22");
        assert_eq!(
            receipt_status(&r(&[("ORSL", "22"), ("ORST", "33")])),
            "22-33"
        );
        assert_eq!(receipt_status(&r(&[("STAT", "20")])), "20");
    }
}
