//! CRS610MI customers. Creation always goes through a template (Add) or an existing customer
//! (Copy); there is no plain "Upd" or "Get" in M3.

use rusqlite::{OptionalExtension, params};

use super::{Ctx, Event, Input, MiError, Record, rec};
use crate::m3::data::{next_number, today};
use crate::seed::{CONO, DIVI};

const COLS: &str = "cuno, cunm, cua1, cua2, cua3, cua4, pono, town, ecar, cscd, phno, mail, yref, stat, cutp, \
                    cucd, lncd, whlo, ortp, tepy, modl, tedl, smcd, cucl, dipc, lmdt, rgdt";

fn customer_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let mut m = rec([
        ("CONO", CONO.to_string()),
        ("DIVI", DIVI.to_string()),
        ("CUNO", r.get(0)?),
        ("CUNM", r.get(1)?),
        ("CUA1", r.get(2)?),
        ("CUA2", r.get(3)?),
        ("CUA3", r.get(4)?),
        ("CUA4", r.get(5)?),
        ("PONO", r.get(6)?),
        ("TOWN", r.get(7)?),
        ("ECAR", r.get(8)?),
        ("CSCD", r.get(9)?),
        ("PHNO", r.get(10)?),
        ("MAIL", r.get(11)?),
        ("YREF", r.get(12)?),
        ("STAT", r.get(13)?),
        ("CUTP", r.get(14)?),
        ("CUCD", r.get(15)?),
        ("LNCD", r.get(16)?),
        ("WHLO", r.get(17)?),
        ("ORTP", r.get(18)?),
        ("TEPY", r.get(19)?),
        ("MODL", r.get(20)?),
        ("TEDL", r.get(21)?),
        ("SMCD", r.get(22)?),
        ("CUCL", r.get(23)?),
        ("DIPC", r.get(24)?),
        ("LMDT", r.get(25)?),
        ("RGDT", r.get(26)?),
    ]);
    let cuno = m.get("CUNO").cloned().unwrap_or_default();
    m.insert("PYNO", cuno.clone());
    m.insert("CUST", cuno);
    let alcu: String = m
        .get("CUNM")
        .map(|n| n.chars().take(10).collect::<String>().to_uppercase())
        .unwrap_or_default();
    m.insert("ALCU", alcu);
    Ok(m)
}

/// Fields Add/Copy/ChgBasicData accept, with their column.
const EDITABLE: &[(&str, &str)] = &[
    ("CUNM", "cunm"),
    ("CUA1", "cua1"),
    ("CUA2", "cua2"),
    ("CUA3", "cua3"),
    ("CUA4", "cua4"),
    ("PONO", "pono"),
    ("TOWN", "town"),
    ("ECAR", "ecar"),
    ("CSCD", "cscd"),
    ("PHNO", "phno"),
    ("MAIL", "mail"),
    ("YREF", "yref"),
    ("STAT", "stat"),
    ("CUTP", "cutp"),
    ("LNCD", "lncd"),
];

fn check_stat(input: &Input) -> Result<(), MiError> {
    match input.opt("STAT") {
        None | Some("10") | Some("20") | Some("90") => Ok(()),
        Some(s) => Err(MiError::nok(
            "XIN0001",
            "STAT",
            format!("Customer status {s} is invalid"),
        )),
    }
}

/// Create a customer from `source` (a template for Add, any customer for Copy).
fn create(
    ctx: &mut Ctx<'_, '_>,
    input: &Input,
    template_only: bool,
) -> Result<Vec<Record>, MiError> {
    let cutm = input.required(
        "CUTM",
        if template_only {
            "Customer template"
        } else {
            "Customer number"
        },
    )?;
    let cunm = input.required("CUNM", "Customer name")?;
    input.required("CUA1", "Customer address 1")?;
    check_stat(input)?;
    let source_ok: Option<i64> = ctx
        .tx
        .query_row(
            "SELECT is_template FROM customers WHERE cuno = ?1",
            [cutm],
            |r| r.get(0),
        )
        .optional()?;
    match source_ok {
        Some(t) if !template_only || t != 0 => {}
        _ if template_only => {
            return Err(MiError::nok(
                "XRE0103",
                "CUTM",
                format!("Customer template {cutm} does not exist"),
            ));
        }
        _ => return Err(MiError::not_found("CUTM", "Customer number", cutm)),
    }
    let cuno = match input.opt("CUNO") {
        Some(c) => {
            let exists =
                ctx.tx
                    .query_row("SELECT COUNT(*) FROM customers WHERE cuno = ?1", [c], |r| {
                        r.get::<_, i64>(0)
                    })?
                    > 0;
            if exists {
                return Err(MiError::nok(
                    "XAL0001",
                    "CUNO",
                    format!("Customer number {c} already exists"),
                ));
            }
            c.to_string()
        }
        None => loop {
            let n = next_number(ctx.tx, "customer", 2_000_001)?.to_string();
            let taken = ctx.tx.query_row(
                "SELECT COUNT(*) FROM customers WHERE cuno = ?1",
                [&n],
                |r| r.get::<_, i64>(0),
            )? > 0;
            if !taken {
                break n;
            }
        },
    };
    let today = today();
    // Copy every attribute from the source, then override with the given fields.
    ctx.tx.execute(
        &format!(
            "INSERT INTO customers ({COLS}, is_template)
             SELECT ?1, ?2, '', '', '', '', '', '', '', cscd, '', '', '', '20', cutp, cucd, lncd, whlo, ortp, tepy,
                    modl, tedl, smcd, cucl, dipc, ?3, ?3, 0 FROM customers WHERE cuno = ?4"
        ),
        params![cuno, cunm, today, cutm],
    )?;
    apply_changes(ctx, &cuno, input)?;
    ctx.events.push(Event::Customer(cuno.clone()));
    Ok(vec![rec([("CUNO", cuno), ("ERRM", String::new())])])
}

/// Write every given (non-blank) editable field; blank means "leave as is", as in M3's Chg.
fn apply_changes(ctx: &Ctx<'_, '_>, cuno: &str, input: &Input) -> Result<usize, MiError> {
    let mut n = 0;
    for (field, col) in EDITABLE {
        if let Some(v) = input.opt(field) {
            ctx.tx.execute(
                &format!("UPDATE customers SET {col} = ?1 WHERE cuno = ?2"),
                params![v, cuno],
            )?;
            n += 1;
        }
    }
    Ok(n)
}

pub fn add(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    create(ctx, input, true)
}

pub fn copy(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    create(ctx, input, false)
}

pub fn chg_basic_data(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    check_stat(input)?;
    let exists = ctx.tx.query_row(
        "SELECT COUNT(*) FROM customers WHERE cuno = ?1",
        [cuno],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !exists {
        return Err(MiError::not_found("CUNO", "Customer number", cuno));
    }
    if apply_changes(ctx, cuno, input)? > 0 {
        ctx.tx.execute(
            "UPDATE customers SET lmdt = ?1 WHERE cuno = ?2",
            params![today(), cuno],
        )?;
        ctx.events.push(Event::Customer(cuno.to_string()));
    }
    Ok(vec![rec([("CUNO", cuno.to_string())])])
}

pub fn get_basic_data(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    let row = ctx
        .tx
        .query_row(
            &format!("SELECT {COLS} FROM customers WHERE cuno = ?1"),
            [cuno],
            customer_record,
        )
        .optional()?;
    row.map(|r| vec![r])
        .ok_or_else(|| MiError::not_found("CUNO", "Customer number", cuno))
}

/// Templates are not listed by LstByNumber/LstByName (they have their own LstTemplates);
/// whether real M3 hides them there is UNVERIFIED.
pub fn lst_by_number(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let from = input.get("CUNO");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(&format!(
        "SELECT {COLS} FROM customers WHERE is_template = 0 AND cuno >= ?1 ORDER BY cuno LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![from, limit], customer_record)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn lst_by_name(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let from = input.get("CUNM");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(&format!(
        "SELECT {COLS} FROM customers WHERE is_template = 0 AND cunm >= ?1 ORDER BY cunm, cuno LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![from, limit], customer_record)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn lst_templates(ctx: &mut Ctx<'_, '_>, _input: &Input) -> Result<Vec<Record>, MiError> {
    let limit = ctx.limit();
    let mut st = ctx
        .tx
        .prepare("SELECT cuno, cunm FROM customers WHERE is_template = 1 ORDER BY cuno LIMIT ?1")?;
    let rows = st
        .query_map([limit], |r| {
            Ok(rec([
                ("CONO", CONO.to_string()),
                ("CUNO", r.get(0)?),
                ("CUNM", r.get(1)?),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
