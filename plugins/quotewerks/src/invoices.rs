//! The ERP's invoice on the quote: its number and date in the header columns the tenant chose
//! (settings `invoice_number_field`, default `CustomText23`, and `invoice_date_field`, default
//! `CustomDate05`: QuoteWerks' free custom header fields, reference/quotewerks.md §2).

use ferry_pdk::Error;
use ferry_pdk::sql::{Dialect, SqlValue};

use crate::db::{Db, parse_id};
use crate::settings::Settings;

/// Writes both columns; idempotent (the same invoice again writes the same values, a later one
/// replaces the earlier). An unknown quote is not-found.
pub(crate) fn set_invoice(id: String, number: String, date: String) -> Result<(), Error> {
    let s = Settings::load()?;
    let db = Db::open()?;
    let id = parse_id(&id)?;
    let number = number.trim();
    if number.is_empty() {
        return Err(Error::invalid("invoice-number", "is required"));
    }
    let Some(date) = iso_date(&date) else {
        return Err(Error::invalid(
            "invoice-date",
            format!("'{date}' is not an ISO date (2026-12-03)"),
        ));
    };
    // SQL Server reads `yyyymmdd` the same under every language setting; `yyyy-mm-dd` not
    // for `datetime` columns.
    let date = match db.dialect {
        Dialect::SqlServer => date.replace('-', ""),
        Dialect::Sqlite | Dialect::Postgres => date,
    };
    let n = db.execute(
        format!(
            "UPDATE {} SET {} = ?, {} = ? WHERE {} = ?",
            db.q("DocumentHeaders"),
            db.q(&s.invoice_number_field),
            db.q(&s.invoice_date_field),
            db.q("ID")
        ),
        vec![
            SqlValue::Text(number.to_string()),
            SqlValue::Text(date),
            SqlValue::Integer(id),
        ],
    )?;
    if n == 0 {
        return Err(Error::not_found(format!("QuoteWerks document {id}")));
    }
    Ok(())
}

/// `2026-12-03` (a date-time's date part is taken), checked for a plausible month and day.
fn iso_date(s: &str) -> Option<String> {
    let d = s.trim().get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let shaped = b[4] == b'-' && b[7] == b'-' && digits(0..4) && digits(5..7) && digits(8..10);
    let month: u32 = d.get(5..7)?.parse().ok()?;
    let day: u32 = d.get(8..10)?.parse().ok()?;
    (shaped && (1..=12).contains(&month) && (1..=31).contains(&day)).then(|| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn iso_dates_pass_and_others_do_not() {
        assert_eq!(iso_date("2026-12-03").as_deref(), Some("2026-12-03"));
        assert_eq!(
            iso_date("2026-12-03T10:00:00Z").as_deref(),
            Some("2026-12-03")
        );
        assert_eq!(iso_date("20261203"), None);
        assert_eq!(iso_date("2026-13-03"), None);
        assert_eq!(iso_date("03.12.2026"), None);
    }
}
