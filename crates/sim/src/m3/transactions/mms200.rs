//! MMS200MI items: basic data, price, warehouse balance, and the two list transactions
//! (by item number as a start-from key, and by change date for delta syncs).

use rusqlite::{OptionalExtension, params};

use super::{Ctx, Input, MiError, Record, num, rec};
use crate::m3::data::dec;
use crate::seed::CONO;

const COLS: &str =
    "itno, itds, fuds, stat, unms, itgr, itcl, itty, resp, lmdt, rgdt, sapr, pupr, cucd, chno";

fn basic_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let unms: String = r.get(4)?;
    Ok(rec([
        ("ITNO", r.get(0)?),
        ("ITDS", r.get(1)?),
        ("FUDS", r.get(2)?),
        ("STAT", r.get(3)?),
        ("UNMS", unms.clone()),
        ("SPUN", unms.clone()),
        ("PPUN", unms.clone()),
        ("PUUN", unms.clone()),
        ("CPUN", unms),
        ("ITGR", r.get(5)?),
        ("ITCL", r.get(6)?),
        ("ITTY", r.get(7)?),
        ("RESP", r.get(8)?),
        ("LMDT", r.get(9)?),
        ("RGDT", r.get(10)?),
        ("MABU", "2".into()),
        ("STCD", "1".into()),
        ("SALE", "1".into()),
        ("DCCD", "0".into()),
        ("PDCC", "2".into()),
        ("TPCD", "0".into()),
        ("ALUC", "0".into()),
        ("ITNE", r.get(0)?),
    ]))
}

fn item_exists(ctx: &Ctx<'_, '_>, itno: &str) -> Result<(), MiError> {
    let n: i64 = ctx
        .tx
        .query_row("SELECT COUNT(*) FROM items WHERE itno = ?1", [itno], |r| {
            r.get(0)
        })?;
    if n == 0 {
        Err(MiError::not_found("ITNO", "Item number", itno))
    } else {
        Ok(())
    }
}

pub fn get_itm_basic(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let itno = input.required("ITNO", "Item number")?;
    let row = ctx
        .tx
        .query_row(
            &format!("SELECT {COLS} FROM items WHERE itno = ?1"),
            [itno],
            basic_record,
        )
        .optional()?;
    row.map(|r| vec![r])
        .ok_or_else(|| MiError::not_found("ITNO", "Item number", itno))
}

/// ITNO is the start-from key: a blank (but present) ITNO lists from the first item.
pub fn lst_itm_by_itm(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let from = input.get("ITNO");
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(&format!(
        "SELECT {COLS} FROM items WHERE itno >= ?1 ORDER BY itno LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![from, limit], basic_record)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Items changed between FLMD and TLMD (yyyyMMdd, inclusive), oldest change first.
pub fn lst_itm_by_chg_date(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let from = input
        .date("FLMD")?
        .or(input.date("CSDS")?)
        .unwrap_or_else(|| "00000000".into());
    let to = input.date("TLMD")?.unwrap_or_else(|| "99999999".into());
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(&format!(
        "SELECT {COLS} FROM items WHERE lmdt >= ?1 AND lmdt <= ?2 ORDER BY lmdt, itno LIMIT ?3"
    ))?;
    let rows = st
        .query_map(params![from, to, limit], basic_record)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get_itm_price(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let itno = input.required("ITNO", "Item number")?;
    let row = ctx
        .tx
        .query_row(
            "SELECT sapr, pupr, cucd, unms, lmdt FROM items WHERE itno = ?1",
            [itno],
            |r| {
                let sapr: String = r.get(0)?;
                let cucd: String = r.get(2)?;
                let unms: String = r.get(3)?;
                let lmdt: String = r.get(4)?;
                Ok(rec([
                    ("SAPR", sapr.clone()),
                    ("SAPB", sapr),
                    ("SACD", "1".into()),
                    ("PUPR", r.get(1)?),
                    ("PUCD", "1".into()),
                    ("CUCD", cucd.clone()),
                    ("CUCS", cucd),
                    ("SPUN", unms.clone()),
                    ("PPUN", unms),
                    ("LMDT", lmdt.clone()),
                    ("SPDT", lmdt.clone()),
                    ("PPDT", lmdt),
                    ("PDCC", "2".into()),
                    ("VTCS", "1".into()),
                ]))
            },
        )
        .optional()?;
    row.map(|r| vec![r])
        .ok_or_else(|| MiError::not_found("ITNO", "Item number", itno))
}

pub fn get_itm_whs_bal(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let whlo = input.required("WHLO", "Warehouse")?;
    let itno = input.required("ITNO", "Item number")?;
    item_exists(ctx, itno)?;
    let row = ctx
        .tx
        .query_row(
            "SELECT b.stqt, b.alqt, w.faci FROM balances b JOIN warehouses w ON w.whlo = b.whlo
             WHERE b.itno = ?1 AND b.whlo = ?2",
            params![itno, whlo],
            |r| {
                Ok((
                    dec(&r.get::<_, String>(0)?),
                    dec(&r.get::<_, String>(1)?),
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let (stqt, alqt, faci) =
        row.ok_or_else(|| MiError::not_found("WHLO", "Item/warehouse", &format!("{itno}/{whlo}")))?;
    Ok(vec![rec([
        ("CONO", CONO.to_string()),
        ("WHLO", whlo.to_string()),
        ("ITNO", itno.to_string()),
        ("STQT", num(stqt)),
        ("ALQT", num(alqt)),
        ("AVAL", num(stqt)),
        ("AV01", num(stqt - alqt)),
        ("AV02", num(stqt - alqt)),
        ("QUQT", "0".into()),
        ("RJQT", "0".into()),
        ("REQT", "0".into()),
        ("ORQT", "0".into()),
        ("PLQT", "0".into()),
        ("FACI", faci),
    ])])
}
