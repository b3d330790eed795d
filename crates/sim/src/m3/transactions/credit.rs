//! Customer credit: CRS610MI/GetFinancial (limit 3 = outstanding invoices + orders, the
//! outstanding invoice amount, the order value not invoiced) and the credit stop Confirm
//! applies: a batch order that would take the customer past limit 3 stays a batch order with
//! status 30 (credit stop) and is confirmed once the limit allows it.
//!
//! UNVERIFIED (reference/m3-order-depth.md §5): exposure = TOIN + TBLG compared with CRL3, the
//! order's own value counted in; a limit of 0 means no limit; the message id and text; batch
//! status 30 for a credit stop.

use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;

use super::{Ctx, Input, MiError, Record, num, rec};
use crate::m3::data::dec;
use crate::seed::DIVI;

/// (limit 3, outstanding invoices) set for the customer; none = no credit limit.
fn limits(ctx: &Ctx<'_, '_>, cuno: &str) -> Result<Option<(Decimal, Decimal)>, MiError> {
    Ok(ctx
        .tx
        .query_row(
            "SELECT crl3, toin FROM credit WHERE cuno = ?1",
            [cuno],
            |r| Ok((dec(&r.get::<_, String>(0)?), dec(&r.get::<_, String>(1)?))),
        )
        .optional()?)
}

/// Order value not invoiced: the customer's orders below status 77.
fn not_invoiced(ctx: &Ctx<'_, '_>, cuno: &str) -> Result<Decimal, MiError> {
    let mut st = ctx
        .tx
        .prepare("SELECT ntam FROM orders WHERE cuno = ?1 AND stat < '77'")?;
    let v: Vec<String> = st
        .query_map([cuno], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(v.iter().map(|s| dec(s)).sum())
}

pub fn get_financial(ctx: &mut Ctx<'_, '_>, input: &Input) -> Result<Vec<Record>, MiError> {
    let cuno = input.required("CUNO", "Customer number")?;
    let row: Option<(String, String)> = ctx
        .tx
        .query_row(
            "SELECT cunm, cucd FROM customers WHERE cuno = ?1 AND is_template = 0",
            [cuno],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (cunm, cucd) = row.ok_or_else(|| MiError::not_found("CUNO", "Customer number", cuno))?;
    let (crl3, toin) = limits(ctx, cuno)?.unwrap_or_default();
    Ok(vec![rec([
        ("CONO", "100".into()),
        ("DIVI", DIVI.into()),
        ("CUNO", cuno.to_string()),
        ("CUNM", cunm),
        ("CUCD", cucd),
        ("CRLM", "0".into()),
        ("CRL2", "0".into()),
        ("CRL3", num(crl3)),
        ("TOIN", num(toin)),
        ("TBLG", num(not_invoiced(ctx, cuno)?)),
        ("BLCD", "0".into()),
    ])])
}

/// Confirm's credit check: Err (a NOK recorded on the batch order, which the server then
/// sets to status 30, the transaction itself being rolled back) when the order would take the
/// customer past limit 3.
pub fn check_at_confirm(
    ctx: &Ctx<'_, '_>,
    orno: &str,
    cuno: &str,
    order_value: Decimal,
) -> Result<(), MiError> {
    let Some((crl3, toin)) = limits(ctx, cuno)? else {
        return Ok(());
    };
    if crl3 <= Decimal::ZERO {
        return Ok(());
    }
    let exposure = toin + not_invoiced(ctx, cuno)?;
    if exposure + order_value <= crl3 {
        return Ok(());
    }
    Err(MiError::nok(
        super::CREDIT_STOP,
        "CUNO",
        format!(
            "Credit limit exceeded for customer {cuno}: limit {}, exposure {}, order value {}",
            num(crl3),
            num(exposure),
            num(order_value)
        ),
    )
    .on_batch(orno))
}

/// The control API's credit change (as CRS610MI ChgFinancial would set it).
pub fn set_credit(
    ctx: &Ctx<'_, '_>,
    cuno: &str,
    crl3: Decimal,
    toin: Decimal,
) -> Result<(), MiError> {
    ctx.tx.execute(
        "INSERT INTO credit (cuno, crl3, toin) VALUES (?1, ?2, ?3)
         ON CONFLICT(cuno) DO UPDATE SET crl3 = ?2, toin = ?3",
        params![cuno, num(crl3), num(toin)],
    )?;
    Ok(())
}
