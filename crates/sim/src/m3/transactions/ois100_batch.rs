//! Reading and cleaning batch orders: LstBatchHead, LstBatchLine, DelBatchLine, DelBatchHead.
//! They let a client that lost an answer find the batch order it made (by CUOR within the
//! customer) and its lines, instead of making another.
//!
//! UNVERIFIED (reference/m3-order-depth.md §4): batch status codes are simplified to 10 (open)
//! and 90 (customer order created); DelBatchHead here also deletes the order's lines and
//! messages (real M3 may want DelBatchLine first, which clients should do anyway); a confirmed
//! batch order cannot be deleted.

use rusqlite::{OptionalExtension, params};

use super::{Ctx, Input, MiError, Record, rec};

pub(super) fn batch_status(state: &str) -> &'static str {
    match state {
        "confirmed" => "90",
        // Stopped for credit at Confirm (transactions/credit.rs).
        "credit-stop" => "30",
        _ => "10",
    }
}

pub fn lst_batch_head(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    let (from, to) = (input.opt("ORSL"), input.opt("ORST"));
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT orno, ortp, rldt, state, faci, cuor, smcd, yref, ordt, final_orno
         FROM batch_heads WHERE cuno = ?1 ORDER BY orno",
    )?;
    let rows: Vec<Record> = st
        .query_map([cuno], |r| {
            let stat = batch_status(&r.get::<_, String>(3)?);
            Ok(rec([
                ("ORNO", r.get(0)?),
                ("ORTP", r.get(1)?),
                ("RLDT", r.get(2)?),
                ("STAT", stat.into()),
                ("FACI", r.get(4)?),
                ("CUOR", r.get(5)?),
                ("SMCD", r.get(6)?),
                ("YREF", r.get(7)?),
                ("ORDT", r.get(8)?),
                ("ORSL", stat.into()),
                ("ORST", stat.into()),
                ("ORNR", r.get::<_, Option<String>>(9)?.unwrap_or_default()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    let in_range = |s: &str| from.is_none_or(|f| s >= f) && to.is_none_or(|t| s <= t);
    let mut rows: Vec<Record> = rows
        .into_iter()
        .filter(|r| in_range(r.get("STAT").map(String::as_str).unwrap_or("")))
        .collect();
    if limit >= 0 {
        rows.truncate(limit as usize);
    }
    Ok(rows)
}

/// The batch order's state, or NOK when it does not exist.
fn batch_state(ctx: &Ctx<'_, '_>, orno: &str) -> Result<String, MiError> {
    ctx.tx
        .query_row(
            "SELECT state FROM batch_heads WHERE orno = ?1",
            [orno],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| MiError::not_found("ORNO", "Batch order", orno))
}

fn refuse_confirmed(orno: &str, state: &str) -> Result<(), MiError> {
    if state == "confirmed" {
        return Err(MiError::nok(
            "XCF0002",
            "ORNO",
            format!("Batch order {orno} is already transferred to a customer order"),
        ));
    }
    Ok(())
}

pub fn lst_batch_line(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    batch_state(ctx, orno)?;
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT itno, itds, orqt, whlo, cupo, dwdt, sapr, ponr FROM batch_lines
         WHERE orno = ?1 ORDER BY ponr LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![orno, limit], |r| {
            Ok(rec([
                ("ITNO", r.get(0)?),
                ("ITDS", r.get(1)?),
                ("ORQT", r.get(2)?),
                ("WHLO", r.get(3)?),
                ("CUPO", r.get(4)?),
                ("DWDT", r.get(5)?),
                ("SAPR", r.get::<_, Option<String>>(6)?.unwrap_or_default()),
                ("PONR", r.get::<_, i64>(7)?.to_string()),
                ("POSX", "0".into()),
                ("ATNR", "0".into()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn del_batch_line(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    let ponr = input.required("PONR", "Line number")?;
    refuse_confirmed(orno, &batch_state(ctx, orno)?)?;
    let ponr: i64 = ponr.trim().parse().map_err(|_| {
        MiError::nok(
            "XNU0001",
            "PONR",
            format!("Field PONR must be numeric, not '{ponr}'"),
        )
    })?;
    let deleted = ctx.tx.execute(
        "DELETE FROM batch_lines WHERE orno = ?1 AND ponr = ?2",
        params![orno, ponr],
    )?;
    if deleted == 0 {
        return Err(MiError::not_found("PONR", "Line number", &ponr.to_string()));
    }
    Ok(Vec::new())
}

pub fn del_batch_head(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Order number")?;
    refuse_confirmed(orno, &batch_state(ctx, orno)?)?;
    ctx.tx
        .execute("DELETE FROM batch_lines WHERE orno = ?1", [orno])?;
    ctx.tx
        .execute("DELETE FROM batch_errors WHERE orno = ?1", [orno])?;
    super::ois100_depth::delete_batch_depth(ctx, orno)?;
    ctx.tx
        .execute("DELETE FROM batch_heads WHERE orno = ?1", [orno])?;
    Ok(Vec::new())
}
