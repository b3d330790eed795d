//! MI records as documents, documents' fields as MI inputs (converted and checked against the
//! field catalog), keys, settings and start-from-key paging.

use chrono::{Datelike, NaiveDate};

use crate::fields;
use crate::mi::{Blanks, Mi, Record, Settings};
pub(crate) use crate::mi::{number_setting, setting, switch};
use ferry_pdk::{Document, Error, Field, FieldError, Page, PageRequest, Value};

pub(crate) fn client() -> Result<Mi, Error> {
    Ok(Mi::new(Settings::load()?))
}

/// A record as a document of `kind`, keyed by `key_field`.
pub(crate) fn document(kind: &str, key_field: &str, rec: &Record) -> Document {
    Document {
        kind: kind.to_string(),
        id: rec.get(key_field).map(|s| s.trim().to_string()),
        fields: rec
            .iter()
            .map(|(k, v)| Field {
                name: k.clone(),
                value: fields::output(k, v),
            })
            .collect(),
        lines: Vec::new(),
    }
}

/// A key checked against its M3 length before it is sent.
pub(crate) fn key(field: &str, value: &str) -> Result<(String, String), Error> {
    match fields::input(field, &Value::Text(value.to_string()), None) {
        Ok(Some(v)) if !v.trim().is_empty() => Ok((field.to_string(), v)),
        Ok(_) => Err(Error::invalid(field, "is required")),
        Err(e) => Err(Error::Invalid(vec![e])),
    }
}

/// The document's fields a transaction accepts, converted and length-checked. Fields the
/// transaction does not take are left out and logged (never silently).
pub(crate) fn inputs_from(
    fields_in: &[Field],
    accepted: &[&str],
    line: Option<u32>,
    errors: &mut Vec<FieldError>,
    what: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut ignored = Vec::new();
    for f in fields_in {
        if !accepted.contains(&f.name.as_str()) {
            ignored.push(f.name.clone());
            continue;
        }
        match fields::input(&f.name, &f.value, line) {
            Ok(Some(v)) => out.push((f.name.clone(), v)),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if !ignored.is_empty() {
        ferry_pdk::warn!("{what} does not take {}: not sent", ignored.join(", "));
    }
    out
}

/// Pages a start-from-key list: asks for one record more than the page to learn the next key.
/// Documents are keyed by `kind`'s id field (CUNO for customers, ITNO for items).
pub(crate) fn key_page(
    mi: &Mi,
    (program, transaction): (&str, &str),
    key_field: &str,
    kind: &str,
    page: &PageRequest,
    extra: &[(String, String)],
    blanks: Blanks,
) -> Result<Page, Error> {
    let limit = page.limit.clamp(1, 10_000);
    let mut inputs = vec![(
        key_field.to_string(),
        page.cursor.clone().unwrap_or_default(),
    )];
    inputs.extend_from_slice(extra);
    let mut recs = match blanks {
        Blanks::Omit => mi.list(program, transaction, &inputs, Some(limit + 1))?,
        Blanks::Keep => mi.call(program, transaction, &inputs, Some(limit + 1))?,
    };
    let next = if recs.len() > limit as usize {
        let n = recs.split_off(limit as usize);
        n.first().and_then(|r| r.get(key_field)).cloned()
    } else {
        None
    };
    Ok(Page {
        documents: recs
            .iter()
            .map(|r| document(kind, if kind == "customer" { "CUNO" } else { "ITNO" }, r))
            .collect(),
        next,
    })
}

pub(crate) fn compact_date(since: &str) -> Result<String, Error> {
    fields::to_m3_date(since)
        .ok_or_else(|| Error::invalid("since", format!("'{since}' is not an ISO date")))
}

/// The M3 change date a "changed since" listing starts from: the day before `since`'s date
/// (as written: the host writes UTC). M3 stamps LMDT with its server's local date, so
/// a change made late on the day before, west of UTC, carries the earlier date; reading a day
/// more costs a comparison per item (the host writes only what changed), never a missed item.
pub(crate) fn change_date_from(since: &str) -> Result<String, Error> {
    let date = compact_date(since)?;
    let day = |r: std::ops::Range<usize>| date[r].parse::<u32>().ok();
    let before = match (day(0..4), day(4..6), day(6..8)) {
        (Some(y), Some(m), Some(d)) => i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
            .and_then(|d| d.pred_opt()),
        _ => None,
    };
    before
        .map(|d| format!("{:04}{:02}{:02}", d.year(), d.month(), d.day()))
        .ok_or_else(|| Error::invalid("since", format!("'{since}' is not a calendar date")))
}

/// The M3 change stamp (`LMTS`) a "changed since" listing starts from: `since` less
/// `margin_secs`, as milliseconds since 1970 UTC. The format is UNVERIFIED; it is the likelier
/// one, and the safe one to be wrong with: were M3's stamps yyyyMMddHHmmssSSS (17 digits),
/// every one of them would be above this 13-digit value and the listing would be a superset
/// (compared, never missed), where the other way round it would list nothing.
/// A date alone (`--since 2026-12-01`) is its start, UTC.
pub(crate) fn change_stamp_from(since: &str, margin_secs: u32) -> Result<String, Error> {
    let at = match chrono::DateTime::parse_from_rfc3339(since.trim()) {
        Ok(t) => Some(t.to_utc()),
        Err(_) => compact_date(since).ok().and_then(|d| {
            NaiveDate::parse_from_str(&d, "%Y%m%d")
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        }),
    };
    at.and_then(|t| t.checked_sub_signed(chrono::TimeDelta::seconds(i64::from(margin_secs))))
        .map(|t| t.timestamp_millis().max(0).to_string())
        .ok_or_else(|| {
            Error::invalid(
                "since",
                format!("'{since}' is neither a date nor an RFC 3339 time"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::{change_date_from, change_stamp_from};

    #[test]
    fn a_change_stamp_is_since_less_the_margin_in_utc() {
        // 2026-12-07T00:00:00.250Z less 90 s.
        assert_eq!(
            change_stamp_from("2026-12-07T01:00:00.250+01:00", 90).unwrap(),
            "1796601510250"
        );
        assert_eq!(change_stamp_from("2026-12-07", 0).unwrap(), "1796601600000");
        assert!(change_stamp_from("yesterday", 0).is_err());
        assert!(change_stamp_from("2026-02-30", 0).is_err());
    }

    #[test]
    fn a_changed_since_listing_starts_the_day_before_the_runs_utc_date() {
        // A run at 01:00 UTC on Dec 7: an M3 in New York stamped a change made at 19:00 its
        // time (00:00 UTC) with Dec 6, which a listing from Dec 7 would miss.
        assert_eq!(
            change_date_from("2026-12-07T01:00:00Z").unwrap(),
            "20261206"
        );
        assert_eq!(change_date_from("2026-01-01").unwrap(), "20251231");
        assert_eq!(
            change_date_from("2024-03-01T00:00:00Z").unwrap(),
            "20240229"
        );
        assert_eq!(change_date_from("20260301").unwrap(), "20260228");
        assert!(change_date_from("2026-02-30").is_err());
        assert!(change_date_from("yesterday").is_err());
    }
}
