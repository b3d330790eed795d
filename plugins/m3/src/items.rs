//! Items, prices and stock through MMS200MI, OIS320MI and OIS100MI/LstWarehBalance; the
//! catalog's batched prices and stock (`get-item-prices`, `get-stocks`) are `crate::batched`'s.

use std::collections::BTreeSet;

use crate::exports::ferry::erp::erp::{Price, StockBalance};
use crate::fields;
use crate::mi::{Blanks, Record};
use ferry_pdk::{Document, Error, Page, PageRequest, Value};

use crate::records::*;

pub(crate) fn get_item(id: String) -> Result<Document, Error> {
    let mi = client()?;
    let r = mi.get_one("MMS200MI", "GetItmBasic", &[key("ITNO", &id)?])?;
    Ok(document("item", "ITNO", &r))
}

pub(crate) fn list_items(page: PageRequest) -> Result<Page, Error> {
    let mi = client()?;
    // Listed lean: a mapping reads a blank field and a missing one alike.
    key_page(
        &mi,
        ("MMS200MI", "LstItmByItm"),
        "ITNO",
        "item",
        &page,
        &[],
        Blanks::Omit,
    )
}

/// LstItmByChgDate from the day before `since`'s date, oldest change first. The cursor is
/// `yyyyMMdd|n|ITNO`: the change date to restart from, how many records of that date were
/// read (how far to read), and the last item read, found again by its position in M3's answer
/// (M3's order within a date is its own: no collation is assumed). When that item is gone from
/// the date (it changed again, and comes later at its new date), the date is read again from
/// its start: what was read is compared, not written, twice; nothing is skipped. A cursor of
/// an older connector (`yyyyMMdd|n`) skips by count, as it did.
///
/// The transaction has no start-from key within a date, so each page of one date asks for all
/// its records read so far again. Past `changed_date_max` records of one date (default
/// 20,000: about 7 MB of lean item records, under the host's 16 MiB answer limit), the rest of
/// the listing reads every item by key instead (cursor `*|ITNO`, LstItmByItm): more than
/// changed, which the host compares, and never an answer too large to take.
pub(crate) fn list_items_changed(since: String, page: PageRequest) -> Result<Page, Error> {
    let mi = client()?;
    if let Some(from) = page.cursor.as_deref().and_then(|c| c.strip_prefix("*|")) {
        let page = PageRequest {
            cursor: Some(from.to_string()),
            limit: page.limit,
        };
        let all = list_items(page)?;
        return Ok(Page {
            next: all.next.map(|n| format!("*|{n}")),
            documents: all.documents,
        });
    }
    let date_max = number_setting("changed_date_max", 20_000u32, 1..=u32::MAX)?;
    let cursor = match page.cursor.as_deref() {
        Some(c) => ChangeCursor::parse(c)?,
        None => ChangeCursor {
            date: change_date_from(&since)?,
            read: 0,
            after: None,
        },
    };
    let limit = page.limit.clamp(1, 10_000);
    let asked = cursor.read.saturating_add(limit).saturating_add(1);
    let recs = mi.list(
        "MMS200MI",
        "LstItmByChgDate",
        &[("FLMD".into(), cursor.date.clone())],
        Some(asked),
    )?;
    let field = |r: &Record, f: &str| r.get(f).map(|v| v.trim().to_string()).unwrap_or_default();
    let start = match &cursor.after {
        Some(after) => recs
            .iter()
            .position(|r| field(r, "LMDT") == cursor.date && field(r, "ITNO") == *after)
            .map_or(0, |i| i + 1),
        None => (cursor.read as usize).min(recs.len()),
    };
    let rest = &recs[start..];
    let chunk = &rest[..rest.len().min(limit as usize)];
    // More to read: past this chunk, or past a full answer.
    let more = rest.len() > chunk.len() || recs.len() >= asked as usize;
    let next = match chunk.last() {
        Some(last) if more => {
            let end = start + chunk.len();
            let date = field(last, "LMDT");
            // The answer is in date order: that date's records up to the last one read.
            let read = recs[..end]
                .iter()
                .filter(|r| field(r, "LMDT") == date)
                .count();
            if read > date_max as usize {
                // Too many of one date to ask for again: every item from here on, by key.
                Some("*|".to_string())
            } else {
                Some(format!("{date}|{read}|{}", field(last, "ITNO")))
            }
        }
        // A full answer ending at the cursor's item: read further past it (by key, when
        // that is already too many of one date).
        None if more && recs.len() > date_max as usize => Some("*|".to_string()),
        None if more => Some(format!(
            "{}|{}|{}",
            cursor.date,
            recs.len(),
            cursor.after.as_deref().unwrap_or_default()
        )),
        _ => None,
    };
    Ok(Page {
        documents: chunk.iter().map(|r| document("item", "ITNO", r)).collect(),
        next,
    })
}

/// Where a changed-since listing goes on (see [`list_items_changed`]).
struct ChangeCursor {
    date: String,
    read: u32,
    /// The last item read of `date`; none in an older connector's cursor.
    after: Option<String>,
}

impl ChangeCursor {
    fn parse(c: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("cursor", "not a cursor of this connector");
        let mut parts = c.splitn(3, '|');
        let date = parts.next().filter(|d| !d.is_empty()).ok_or_else(bad)?;
        let read = parts
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(bad)?;
        Ok(Self {
            date: date.to_string(),
            read,
            after: parts.next().map(str::to_string),
        })
    }
}

pub(crate) fn get_item_price(item: String) -> Result<Price, Error> {
    let mi = client()?;
    let r = mi.get_one("MMS200MI", "GetItmPrice", &[key("ITNO", &item)?])?;
    Ok(list_price(item, &r))
}

/// A GetItmPrice record as the item's list price (SAPR in the sales currency).
pub(crate) fn list_price(item: String, r: &Record) -> Price {
    let currency = r
        .get("CUCS")
        .or(r.get("CUCD"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Price {
        item,
        amount: fields::dec_str(r.get("SAPR")),
        currency,
        unit: r
            .get("SPUN")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        min_quantity: None,
    }
}

/// OIS320MI/GetPriceLine: what this customer pays for this quantity (the net price after
/// the customer's discounts, NETP; SAPR when no net price is given).
pub(crate) fn get_customer_price(
    item: String,
    customer: String,
    quantity: String,
) -> Result<Price, Error> {
    let mi = client()?;
    let qty = fields::input("ORQA", &Value::Decimal(quantity.clone()), None)
        .map_err(|e| Error::Invalid(vec![e]))?;
    let mut inputs = vec![key("CUNO", &customer)?, key("ITNO", &item)?];
    if let Some(q) = qty {
        inputs.push(("ORQA".into(), q));
    }
    inputs.extend(price_line_settings());
    let r = mi.get_one("OIS320MI", "GetPriceLine", &inputs)?;
    Ok(customer_price(item, &r, quantity))
}

/// The tenant's facility, warehouse and order type, as GetPriceLine inputs.
pub(crate) fn price_line_settings() -> Vec<(String, String)> {
    [
        ("facility", "FACI"),
        ("warehouse", "WHLO"),
        ("order_type", "ORTP"),
    ]
    .into_iter()
    .filter_map(|(k, field)| setting(k).map(|v| (field.to_string(), v)))
    .collect()
}

/// A GetPriceLine record as the customer's price for `quantity`.
pub(crate) fn customer_price(item: String, r: &Record, quantity: String) -> Price {
    let netp = fields::dec(r.get("NETP"));
    let amount = if netp.is_zero() {
        fields::dec(r.get("SAPR"))
    } else {
        netp
    };
    Price {
        item,
        amount: amount.normalize().to_string(),
        currency: r
            .get("CUCD")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        unit: r
            .get("SPUN")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        min_quantity: Some(quantity),
    }
}

/// A GetItmWhsBal or LstWarehBalance record as a balance (`whlo` when it names none).
pub(crate) fn balance(r: &Record, whlo: &str) -> StockBalance {
    StockBalance {
        warehouse: r
            .get("WHLO")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| whlo.to_string()),
        on_hand: fields::dec_str(r.get("STQT")),
        allocatable: fields::dec_str(r.get("AV01")),
        allocated: r.get("ALQT").map(|a| fields::dec_str(Some(a))),
    }
}

/// Per-warehouse stock: `MMS200MI/GetItmWhsBal` for each warehouse in the `warehouses`
/// setting, else every warehouse from `OIS100MI/LstWarehBalance`.
pub(crate) fn get_stock(item: String) -> Result<Vec<StockBalance>, Error> {
    let mi = client()?;
    let itno = key("ITNO", &item)?;
    match setting("warehouses") {
        Some(list) => {
            let mut out = Vec::new();
            let whs: BTreeSet<String> = list
                .split(',')
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect();
            for whlo in whs {
                match mi.get_one(
                    "MMS200MI",
                    "GetItmWhsBal",
                    &[key("WHLO", &whlo)?, itno.clone()],
                ) {
                    Ok(r) => out.push(balance(&r, &whlo)),
                    // The item is not stocked in that warehouse.
                    Err(Error::NotFound(m)) if !m.contains("Item number") => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        }
        None => {
            let recs = mi.call("OIS100MI", "LstWarehBalance", &[itno], Some(0))?;
            Ok(recs.iter().map(|r| balance(r, "")).collect())
        }
    }
}
