//! OIS320MI/GetPriceLine: what a given customer would pay for an item (list price less the
//! customer's discount), the same price Confirm puts on an order line without a manual price.

use rusqlite::OptionalExtension;
use rust_decimal::Decimal;

use super::{Ctx, Input, MiError, Record, num, rec};
use crate::m3::data::{dec, today};

pub fn get_price_line(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    let itno = input.required("ITNO", "Item number")?;
    let cust: Option<(String, String, String, String)> = ctx
        .tx
        .query_row(
            "SELECT dipc, whlo, ortp, cucd FROM customers WHERE cuno = ?1",
            [cuno],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (dipc, cwhlo, ortp, cucd) =
        cust.ok_or_else(|| MiError::not_found("CUNO", "Customer number", cuno))?;
    let item: Option<(String, String, String)> = ctx
        .tx
        .query_row(
            "SELECT sapr, unms, pupr FROM items WHERE itno = ?1",
            [itno],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (sapr, unms, pupr) = item.ok_or_else(|| MiError::not_found("ITNO", "Item number", itno))?;
    let orqa = input.decimal("ORQA")?.unwrap_or(Decimal::ONE);
    let sapr = dec(&sapr);
    let dip = dec(&dipc);
    let netp = (sapr * (Decimal::ONE_HUNDRED - dip) / Decimal::ONE_HUNDRED).round_dp(2);
    let dpr1 = sapr - netp;
    let lnam = (netp * orqa).round_dp(2);
    let ucos = dec(&pupr);
    let tbam = (netp - ucos) * orqa;
    let tbpr = if netp.is_zero() {
        Decimal::ZERO
    } else {
        ((netp - ucos) / netp * Decimal::ONE_HUNDRED).round_dp(2)
    };
    Ok(vec![rec([
        ("WHLO", input.opt("WHLO").unwrap_or(&cwhlo).to_string()),
        ("SAPR", sapr.to_string()),
        ("NETP", netp.to_string()),
        ("LNAM", lnam.to_string()),
        ("ORDT", input.date("ORDT")?.unwrap_or_else(today)),
        ("ORQA", num(orqa)),
        ("ORQS", num(orqa)),
        ("PRRF", "STD".into()),
        ("ORTP", input.opt("ORTP").unwrap_or(&ortp).to_string()),
        ("CUCD", input.opt("CUCD").unwrap_or(&cucd).to_string()),
        ("ALUN", unms.clone()),
        ("SPUN", unms),
        ("SACD", "1".into()),
        // Price origin (PRMO) 2 = price list; the code list is UNVERIFIED.
        ("PRMO", "2".into()),
        ("DIP1", num(dip)),
        ("DIA1", (dpr1 * orqa).round_dp(2).to_string()),
        ("DPR1", dpr1.round_dp(2).to_string()),
        (
            "DIC1",
            if dip.is_zero() {
                "0".into()
            } else {
                "1".into()
            },
        ),
        ("TINC", "0".into()),
        ("NTCD", "0".into()),
        ("UCOS", ucos.to_string()),
        ("TBAM", tbam.round_dp(2).to_string()),
        ("TBPR", tbpr.to_string()),
        ("LOCD", "USD".into()),
    ])])
}
