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

/// LstItmByChgDate from the date of `since`, oldest change first. The cursor is
/// `yyyyMMdd|n`: the change date to restart from and how many records of that date were
/// already returned (the transaction has no finer start-from key).
pub(crate) fn list_items_changed(since: String, page: PageRequest) -> Result<Page, Error> {
    let mi = client()?;
    let (from, skip) = match page.cursor.as_deref() {
        Some(c) => {
            let (d, n) = c
                .split_once('|')
                .ok_or_else(|| Error::invalid("cursor", "not a cursor of this connector"))?;
            let n: u32 = n
                .parse()
                .map_err(|_| Error::invalid("cursor", "not a cursor of this connector"))?;
            (d.to_string(), n)
        }
        None => (change_date_from(&since)?, 0),
    };
    let limit = page.limit.clamp(1, 10_000);
    let recs = mi.list(
        "MMS200MI",
        "LstItmByChgDate",
        &[("FLMD".into(), from)],
        Some(skip + limit + 1),
    )?;
    let end = (skip + limit) as usize;
    let chunk: Vec<&Record> = recs
        .iter()
        .skip(skip as usize)
        .take(limit as usize)
        .collect();
    let next = if recs.len() > end {
        let last = chunk
            .last()
            .and_then(|r| r.get("LMDT"))
            .cloned()
            .unwrap_or_default();
        let same = recs[..end]
            .iter()
            .filter(|r| r.get("LMDT") == Some(&last))
            .count();
        Some(format!("{}|{same}", last.trim()))
    } else {
        None
    };
    Ok(Page {
        documents: chunk.iter().map(|r| document("item", "ITNO", r)).collect(),
        next,
    })
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
