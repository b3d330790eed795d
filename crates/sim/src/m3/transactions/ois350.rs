//! Invoices of customer orders: an order reaching status 77 (invoiced) gets one invoice for its
//! lines and charges, listed by OIS350MI/LstAllInvByCO.
//!
//! UNVERIFIED (reference/m3-order-depth.md §6): one invoice per order (real M3 invoices per
//! delivery); the number series, EXIN = the invoice number, the due date (invoice date + 30).

use rusqlite::params;

use super::{Ctx, Input, MiError, Record, num, rec};
use crate::m3::data::{dec, next_number, today};

/// Invoices the order (called when it moves to 77).
pub fn invoice_order(ctx: &Ctx<'_, '_>, orno: &str) -> Result<(), MiError> {
    let (batch, cuno, cucd, ntam): (String, String, String, String) = ctx.tx.query_row(
        "SELECT batch_orno, cuno, cucd, ntam FROM orders WHERE orno = ?1",
        [orno],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let charges = super::ois100_depth::batch_charge_total(ctx, &batch)?;
    let ivno = next_number(ctx.tx, "invoice", 200_001)?;
    let idat = today();
    let due = chrono::NaiveDate::parse_from_str(&idat, "%Y%m%d")
        .map(|d| {
            (d + chrono::Duration::days(30))
                .format("%Y%m%d")
                .to_string()
        })
        .unwrap_or_else(|_| idat.clone());
    ctx.tx.execute(
        "INSERT INTO invoices (ivno, yea4, orno, cuno, idat, dudt, ivav, cucd)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            ivno as i64,
            &idat[..4],
            orno,
            cuno,
            idat,
            due,
            num(dec(&ntam) + charges),
            cucd
        ],
    )?;
    Ok(())
}

pub fn lst_all_inv_by_co(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let orno = input.required("ORNO", "Customer order number")?;
    let limit = ctx.limit();
    let mut st = ctx.tx.prepare(
        "SELECT ivno, yea4, idat, dudt, cuno, ivav, cucd FROM invoices WHERE orno = ?1 ORDER BY ivno LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![orno, limit], |r| {
            let ivno: i64 = r.get(0)?;
            let ivav: String = r.get(5)?;
            Ok(rec([
                ("IVNO", ivno.to_string()),
                ("IVTP", "10".into()),
                ("YEA4", r.get(1)?),
                ("IDAT", r.get(2)?),
                ("DUDT", r.get(3)?),
                ("CUNO", r.get::<_, String>(4)?),
                ("PYNO", r.get::<_, String>(4)?),
                ("IVAV", ivav.clone()),
                ("RAFC", ivav),
                ("CUCD", r.get(6)?),
                ("EXIN", ivno.to_string()),
                ("TEPY", "N30".into()),
                ("CASH", "0".into()),
            ]))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
