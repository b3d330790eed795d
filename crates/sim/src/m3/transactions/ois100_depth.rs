//! Order depth on batch orders: texts (AddBatchText, DelBatchText), head charges
//! (AddBatchHeadChg) and a one-time delivery address (AddBatchAddress), all before Confirm; and
//! reading them back from the confirmed order (LstHeadText, LstLineText, LstOrderCharge,
//! GetAddress). Confirm commits what the batch order holds, so the customer order keeps the
//! batch order's rows (found through `orders.batch_orno`).
//!
//! UNVERIFIED (reference/m3-order-depth.md §1-3): M3's wrapping of a 240-character PARM into
//! 60-character TX60 lines (done here: one PARM becomes ceil(len/60) lines); that a second
//! AddBatchHeadChg of the same charge, or AddBatchAddress of the same address type, is refused
//! as "already exists" (M3's keys OOCHRG ORNO+CRID and the address type suggest it); address
//! type 1 = delivery address; the message ids.

use rusqlite::{OptionalExtension, params};

use super::{Ctx, Input, MiError, Record, num, rec};

/// The batch order when it may still be changed (entered, not confirmed).
fn open_batch(ctx: &Ctx<'_, '_>, orno: &str) -> Result<(), MiError> {
    let state: Option<String> = ctx
        .tx
        .query_row(
            "SELECT state FROM batch_heads WHERE orno = ?1",
            [orno],
            |r| r.get(0),
        )
        .optional()?;
    match state.as_deref() {
        None => Err(MiError::not_found("ORNO", "Batch order", orno)),
        Some("confirmed") => Err(MiError::nok(
            "XCF0002",
            "ORNO",
            format!("Batch order {orno} is already transferred to a customer order"),
        )),
        Some(_) => Ok(()),
    }
}

fn code(input: &Input, field: &str, what: &str, allowed: &[i64]) -> Result<i64, MiError> {
    let v = input.required(field, what)?;
    match v.trim().parse::<i64>() {
        Ok(n) if allowed.contains(&n) => Ok(n),
        _ => Err(MiError::nok(
            "XIN0001",
            field,
            format!("{what} {v} is invalid"),
        )),
    }
}

/// TYPE 2 names a line (PONR) the batch order holds; TYPE 1 is the head (line 0).
fn text_target(ctx: &Ctx<'_, '_>, orno: &str, input: &Input) -> Result<(i64, i64), MiError> {
    let ty = code(input, "TYPE", "Order head or line", &[1, 2])?;
    if ty == 1 {
        return Ok((1, 0));
    }
    let ponr = input.required("PONR", "Line number")?;
    let ponr: i64 = ponr.trim().parse().map_err(|_| {
        MiError::nok(
            "XNU0001",
            "PONR",
            format!("Field PONR must be numeric, not '{ponr}'"),
        )
    })?;
    let held: i64 = ctx.tx.query_row(
        "SELECT COUNT(*) FROM batch_lines WHERE orno = ?1 AND ponr = ?2",
        params![orno, ponr],
        |r| r.get(0),
    )?;
    if held == 0 {
        return Err(MiError::not_found("PONR", "Line number", &ponr.to_string()));
    }
    Ok((2, ponr))
}

pub fn add_batch_text(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    open_batch(ctx, orno)?;
    let (ty, ponr) = text_target(ctx, orno, input)?;
    let tytr = code(input, "TYTR", "Type of text", &[1, 2, 3])?;
    let parm = input.required("PARM", "Text")?;
    ctx.tx.execute(
        "INSERT INTO batch_texts (orno, type, ponr, tytr, txhe, parm) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![orno, ty, ponr, tytr, input.get("TXHE"), parm],
    )?;
    Ok(Vec::new())
}

pub fn del_batch_text(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    open_batch(ctx, orno)?;
    let (ty, ponr) = text_target(ctx, orno, input)?;
    let tytr = code(input, "TYTR", "Type of text", &[1, 2, 3])?;
    ctx.tx.execute(
        "DELETE FROM batch_texts WHERE orno = ?1 AND type = ?2 AND ponr = ?3 AND tytr = ?4",
        params![orno, ty, ponr, tytr],
    )?;
    Ok(Vec::new())
}

pub fn add_batch_head_chg(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    open_batch(ctx, orno)?;
    let crid = input.required("CRID", "Charge")?;
    // A charge must be defined in 'CO Charge. Open' (OIS030) first.
    let master: Option<String> = ctx
        .tx
        .query_row(
            "SELECT crd0 FROM charge_types WHERE crid = ?1",
            [crid],
            |r| r.get(0),
        )
        .optional()?;
    let master = master.ok_or_else(|| MiError::not_found("CRID", "Charge", crid).on_batch(orno))?;
    let cram = input.decimal("CRAM")?.unwrap_or_default();
    let crd0 = input.opt("CRD0").map(str::to_string).unwrap_or(master);
    let added = ctx.tx.execute(
        "INSERT OR IGNORE INTO batch_charges (orno, crid, cram, crd0) VALUES (?1, ?2, ?3, ?4)",
        params![orno, crid, num(cram), crd0],
    )?;
    if added == 0 {
        return Err(MiError::nok(
            "XRE0104",
            "CRID",
            format!("Charge {crid} already exists on batch order {orno}"),
        ));
    }
    Ok(Vec::new())
}

const ADDRESS_FIELDS: [&str; 11] = [
    "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "TOWN", "ECAR", "CSCD", "PHNO", "YREF",
];

pub fn add_batch_address(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    open_batch(ctx, orno)?;
    let adrt = code(input, "ADRT", "Address type", &[1, 2, 3, 4])?;
    input.required("CUNM", "Name")?;
    let v: Vec<&str> = ADDRESS_FIELDS.iter().map(|f| input.get(f)).collect();
    let added = ctx.tx.execute(
        "INSERT OR IGNORE INTO batch_addresses (orno, adrt, cunm, cua1, cua2, cua3, cua4, pono, town, ecar, cscd, phno, yref)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![orno, adrt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]],
    )?;
    if added == 0 {
        return Err(MiError::nok(
            "XRE0104",
            "ADRT",
            format!("Address type {adrt} already exists on batch order {orno}"),
        ));
    }
    Ok(Vec::new())
}

/// The confirmed order's batch order number and customer.
fn order_of(ctx: &Ctx<'_, '_>, orno: &str) -> Result<(String, String), MiError> {
    ctx.tx
        .query_row(
            "SELECT batch_orno, cuno FROM orders WHERE orno = ?1",
            [orno],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| MiError::not_found("ORNO", "Order number", orno))
}

/// Text lines as M3 returns them: each PARM wrapped at 60 characters, numbered from 1.
fn text_lines(
    ctx: &Ctx<'_, '_>,
    batch: &str,
    ponr: i64,
    tytr: &str,
) -> Result<Vec<Record>, MiError> {
    let ty = if ponr == 0 { 1 } else { 2 };
    let mut st = ctx.tx.prepare(
        "SELECT parm, txhe FROM batch_texts WHERE orno = ?1 AND type = ?2 AND ponr = ?3 AND tytr = ?4 ORDER BY id",
    )?;
    let rows: Vec<(String, String)> = st
        .query_map(params![batch, ty, ponr, tytr], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (parm, txhe) in rows {
        let chars: Vec<char> = parm.chars().collect();
        for chunk in chars.chunks(60) {
            out.push(rec([
                ("LINO", (out.len() + 1).to_string()),
                ("TX60", chunk.iter().collect()),
                ("TXV9", txhe.clone()),
            ]));
        }
    }
    Ok(out)
}

pub fn lst_head_text(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let tytr = input.required("TYTR", "Type of text")?;
    let (batch, _) = order_of(ctx, orno)?;
    text_lines(ctx, &batch, 0, tytr)
}

pub fn lst_line_text(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let tytr = input.required("TYTR", "Type of text")?;
    let ponr = input.required("PONR", "Line number")?;
    let ponr: i64 = ponr.trim().parse().map_err(|_| {
        MiError::nok(
            "XNU0001",
            "PONR",
            format!("Field PONR must be numeric, not '{ponr}'"),
        )
    })?;
    let (batch, _) = order_of(ctx, orno)?;
    text_lines(ctx, &batch, ponr, tytr)
}

pub fn lst_order_charge(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let (batch, _) = order_of(ctx, orno)?;
    let cucd: String =
        ctx.tx
            .query_row("SELECT cucd FROM orders WHERE orno = ?1", [orno], |r| {
                r.get(0)
            })?;
    let mut st = ctx
        .tx
        .prepare("SELECT crid, crd0, cram FROM batch_charges WHERE orno = ?1 ORDER BY crid")?;
    let rows = st
        .query_map([&batch], |r| {
            Ok(rec([
                ("ORNO", orno.to_string()),
                ("DLIX", "0".into()),
                ("CRID", r.get(0)?),
                ("CRD0", r.get(1)?),
                ("PBAM", r.get(2)?),
                ("CUCD", cucd.clone()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The order's address of a type: the one-time address given on the batch order, else the
/// customer's own (what M3 copies from OCUSMA when no address is given).
pub fn get_address(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let adrt = code(input, "ADRT", "Address type", &[1, 2, 3, 4])?;
    let (batch, cuno) = order_of(ctx, orno)?;
    let one_time = ctx
        .tx
        .query_row(
            "SELECT cunm, cua1, cua2, cua3, cua4, pono, town, ecar, cscd, phno, yref
             FROM batch_addresses WHERE orno = ?1 AND adrt = ?2",
            params![batch, adrt],
            address_record,
        )
        .optional()?;
    let r = match one_time {
        Some(r) => r,
        None => ctx.tx.query_row(
            "SELECT cunm, cua1, cua2, cua3, cua4, pono, town, ecar, cscd, phno, yref
             FROM customers WHERE cuno = ?1",
            [&cuno],
            address_record,
        )?,
    };
    Ok(vec![r])
}

fn address_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let mut out = Record::new();
    for (i, f) in ADDRESS_FIELDS.iter().enumerate() {
        out.insert(*f, r.get(i)?);
    }
    Ok(out)
}

/// The batch order's charges, for the order's value at Confirm.
pub fn batch_charge_total(ctx: &Ctx<'_, '_>, orno: &str) -> Result<rust_decimal::Decimal, MiError> {
    let mut st = ctx
        .tx
        .prepare("SELECT cram FROM batch_charges WHERE orno = ?1")?;
    let amounts: Vec<String> = st
        .query_map([orno], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(amounts.iter().map(|a| crate::m3::data::dec(a)).sum())
}

/// DelBatchHead takes the batch order's texts, charges and addresses with it.
pub fn delete_batch_depth(ctx: &Ctx<'_, '_>, orno: &str) -> Result<(), MiError> {
    for table in ["batch_texts", "batch_charges", "batch_addresses"] {
        ctx.tx
            .execute(&format!("DELETE FROM {table} WHERE orno = ?1"), [orno])?;
    }
    Ok(())
}

/// OIS030MI/LstOrderCharges: the CO charge master, from CRID on.
pub fn lst_order_charges(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let from = input.get("CRID").to_string();
    let limit = ctx.limit();
    let mut st = ctx
        .tx
        .prepare("SELECT crid, crd0 FROM charge_types WHERE crid >= ?1 ORDER BY crid LIMIT ?2")?;
    let rows = st
        .query_map(params![from, limit], |r| {
            Ok(rec([
                ("CONO", "100".into()),
                ("CRID", r.get(0)?),
                ("CRTY", "0".into()),
                ("CRD0", r.get(1)?),
                ("CRME", "0".into()),
                ("CRAM", "0".into()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
