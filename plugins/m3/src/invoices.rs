//! An order's invoices, for the quote: `OIS350MI/LstAllInvByCO` (reference/m3-order-depth.md
//! §6; there is no `OIS100MI` transaction for it).
//!
//! UNVERIFIED against a live M3: that `EXIN` (the extended invoice number, what the customer
//! sees) is filled on every invoice; when it is blank the number is `YEA4-IVNO` (the year
//! makes an invoice number unique), with `INPX` in front when set. `IVAV` is the amount
//! including VAT in the invoice's currency (`CUCD`).

use std::str::FromStr;

use crate::exports::ferry::erp::erp::Invoice;
use crate::fields::from_m3_date;
use crate::mi::{Mi, Record};
use crate::records::key;
use ferry_pdk::{Decimal, Error};

/// The order's invoices, oldest first (by year, then number). An order not invoiced yet has
/// none: M3 answers an empty list (or a NOK "not found", read as none).
pub fn list(mi: &Mi, order_number: &str) -> Result<Vec<Invoice>, Error> {
    let records = match mi.try_call(
        "OIS350MI",
        "LstAllInvByCO",
        &[key("ORNO", order_number)?],
        Some(0),
    )? {
        Ok(records) => records,
        Err(nok) if nok.is_not_found() => Vec::new(),
        Err(nok) => return Err(nok.classify()),
    };
    let mut invoices: Vec<(u32, u64, Invoice)> = records.iter().filter_map(invoice).collect();
    invoices.sort_by_key(|(year, number, _)| (*year, *number));
    Ok(invoices.into_iter().map(|(_, _, i)| i).collect())
}

/// One listed invoice; a record without an invoice number or date is skipped (a credit note
/// in progress has none yet).
fn invoice(r: &Record) -> Option<(u32, u64, Invoice)> {
    let get = |k: &str| r.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let ivno = get("IVNO")?;
    let date = from_m3_date(get("IDAT")?)?;
    let year = get("YEA4").and_then(|y| y.parse().ok()).unwrap_or(0);
    let number = match get("EXIN") {
        Some(exin) => exin.to_string(),
        None => format!("{}{year}-{ivno}", get("INPX").unwrap_or("")),
    };
    let amount = get("IVAV")
        .and_then(|a| Decimal::from_str(a).ok())
        .map(|a| a.normalize().to_string());
    Some((
        year,
        ivno.parse().unwrap_or(0),
        Invoice {
            number,
            date,
            amount,
            currency: get("CUCD").map(str::to_string),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> Record {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_invoice_reads_the_extended_number_and_an_iso_date() {
        let (_, _, i) = invoice(&rec(&[
            ("IVNO", "200001"),
            ("YEA4", "2026"),
            ("IDAT", "20261203"),
            ("IVAV", "1234.50"),
            ("CUCD", "EUR"),
            ("EXIN", "INV-200001"),
        ]))
        .expect("an invoice");
        assert_eq!(i.number, "INV-200001");
        assert_eq!(i.date, "2026-12-03");
        assert_eq!(i.amount.as_deref(), Some("1234.5"));
        assert_eq!(i.currency.as_deref(), Some("EUR"));
    }

    #[test]
    fn a_blank_extended_number_falls_back_to_year_and_number() {
        let (_, _, i) = invoice(&rec(&[
            ("IVNO", "17"),
            ("YEA4", "2026"),
            ("IDAT", "20261203"),
            ("EXIN", "  "),
        ]))
        .expect("an invoice");
        assert_eq!(i.number, "2026-17");
        assert_eq!(i.amount, None);
    }

    #[test]
    fn a_record_without_a_date_is_no_invoice() {
        assert!(invoice(&rec(&[("IVNO", "17"), ("IDAT", "00000000")])).is_none());
    }
}
