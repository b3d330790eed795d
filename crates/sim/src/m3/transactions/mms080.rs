//! Balance listings for the stock syncs. MMS080MI/LstItemWarehous: item/warehouse rows with
//! on-hand and allocatable quantities for a warehouse range (FWHL..TWHL); LMDT is the balance
//! record's own change date (it moves with its quantities). OIS100MI/LstNewBalances: the
//! balances written at or after a change stamp (LMTS), oldest first (CONSTRUCTED from its
//! one-line description in the reference: inputs, outputs and order are UNVERIFIED).

use rusqlite::params;

use super::{Ctx, Input, MiError, Record, num, rec};
use crate::m3::data::dec;
use crate::seed::CONO;

pub fn lst_item_warehous(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let from = input.get("FWHL");
    let to = input.opt("TWHL").unwrap_or("ZZZ");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT b.whlo, b.itno, i.itds, b.stqt, b.alqt, i.pupr, b.lmdt, i.itgr, i.itcl, i.itty, w.faci, i.stat
         FROM balances b JOIN items i ON i.itno = b.itno JOIN warehouses w ON w.whlo = b.whlo
         WHERE b.whlo >= ?1 AND b.whlo <= ?2 ORDER BY b.whlo, b.itno LIMIT ?3",
    )?;
    let rows = st
        .query_map(params![from, to, limit], |r| {
            let stqt = dec(&r.get::<_, String>(3)?);
            let alqt = dec(&r.get::<_, String>(4)?);
            let stat: String = r.get(11)?;
            Ok(rec([
                ("CONO", CONO.to_string()),
                ("WHLO", r.get(0)?),
                ("ITNO", r.get(1)?),
                ("ITDS", r.get(2)?),
                ("STQT", num(stqt)),
                ("AVAL", num(stqt)),
                ("ALQT", num(alqt)),
                ("AV01", num(stqt - alqt)),
                ("UCOS", r.get(5)?),
                ("LMDT", r.get(6)?),
                ("ITGR", r.get(7)?),
                ("ITCL", r.get(8)?),
                ("ITTY", r.get(9)?),
                ("FACI", r.get(10)?),
                ("SALE", if stat == "90" { "0".into() } else { "1".into() }),
                ("PUIT", "2".into()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn lst_new_balances(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let raw = input.required("LMTS", "Timestamp")?;
    let Ok(lmts) = raw.trim().parse::<i64>() else {
        return Err(MiError::nok(
            "WLM0102",
            "LMTS",
            format!("Timestamp {raw} is invalid"),
        ));
    };
    let whlo = input.opt("WHLO").unwrap_or("");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT whlo, itno, stqt, alqt, lmts FROM balances
         WHERE lmts >= ?1 AND (?2 = '' OR whlo = ?2) ORDER BY lmts, whlo, itno LIMIT ?3",
    )?;
    let rows = st
        .query_map(params![lmts, whlo, limit], |r| {
            let stqt = dec(&r.get::<_, String>(2)?);
            let alqt = dec(&r.get::<_, String>(3)?);
            let net = num(stqt - alqt);
            Ok(rec([
                ("WHLO", r.get(0)?),
                ("ITNO", r.get(1)?),
                ("STQT", num(stqt)),
                ("ALQT", num(alqt)),
                ("AV01", net.clone()),
                ("AV02", net),
                ("LMTS", r.get::<_, i64>(4)?.to_string()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
