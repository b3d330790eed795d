//! The catalog's batched prices and stock (`get-item-prices`, `get-stocks`, erp 1.3): on MI v2
//! many Get transactions ride one `POST /v2/execute` (`bulk_size` per request, setting of the
//! same name), so 100,000 items' list prices are 200 round trips, not 100,000. On v1 (no bulk
//! endpoint) the same reads go one GET each, as the per-item calls do. The stock delta
//! (`list-stocks-changed`, erp 1.4) is one listing of the warehouses' balances.

use std::collections::BTreeSet;

use crate::exports::ferry::erp::erp::{ItemPrices, ItemStock, StockBalance};
use crate::items::{balance, customer_price, list_price, price_line_settings};
use crate::mi::{Api, Mi, RETURN_COLUMNS, Record};
use crate::records::{change_date_from, client, key, setting};
use ferry_pdk::Error;

type Read = (String, Vec<(String, String)>);

/// Each read's first record (none when M3 has no such record), in the reads' order.
fn first_records(mi: &Mi, program: &str, reads: &[Read]) -> Result<Vec<Option<Record>>, Error> {
    if mi.settings.api == Api::V2 {
        let mut out = Vec::with_capacity(reads.len());
        for chunk in reads.chunks(mi.settings.bulk_size) {
            for result in mi.bulk_read(program, chunk)? {
                out.push(match result {
                    Ok(records) => records.into_iter().next(),
                    Err(nok) if nok.is_not_found() => None,
                    Err(nok) => return Err(nok.classify()),
                });
            }
        }
        return Ok(out);
    }
    reads
        .iter()
        .map(|(trn, inputs)| match mi.get_one(program, trn, inputs) {
            Ok(r) => Ok(Some(r)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
        .collect()
}

/// Every record of each read (none for a read M3 answers "does not exist").
fn all_records(mi: &Mi, program: &str, reads: &[Read]) -> Result<Vec<Vec<Record>>, Error> {
    if mi.settings.api == Api::V2 {
        let mut out = Vec::with_capacity(reads.len());
        for chunk in reads.chunks(mi.settings.bulk_size) {
            for result in mi.bulk_read(program, chunk)? {
                out.push(match result {
                    Ok(records) => records,
                    Err(nok) if nok.is_not_found() => Vec::new(),
                    Err(nok) => return Err(nok.classify()),
                });
            }
        }
        return Ok(out);
    }
    reads
        .iter()
        .map(
            |(trn, inputs)| match mi.call(program, trn, inputs, Some(0)) {
                Ok(r) => Ok(r),
                Err(Error::NotFound(_)) => Ok(Vec::new()),
                Err(e) => Err(e),
            },
        )
        .collect()
}

pub(crate) fn get_item_prices(
    items: Vec<String>,
    customer: Option<String>,
) -> Result<Vec<ItemPrices>, Error> {
    let mi = client()?;
    let list_reads = items
        .iter()
        .map(|itno| Ok(("GetItmPrice".to_string(), vec![key("ITNO", itno)?])))
        .collect::<Result<Vec<Read>, Error>>()?;
    let lists = first_records(&mi, "MMS200MI", &list_reads)?;
    let customers = match &customer {
        None => vec![None; items.len()],
        Some(cuno) => {
            let cuno = key("CUNO", cuno)?;
            let settings = price_line_settings();
            let reads = items
                .iter()
                .map(|itno| {
                    let mut inputs = vec![cuno.clone(), key("ITNO", itno)?];
                    inputs.push(("ORQA".into(), "1".into()));
                    inputs.extend(settings.iter().cloned());
                    Ok(("GetPriceLine".to_string(), inputs))
                })
                .collect::<Result<Vec<Read>, Error>>()?;
            first_records(&mi, "OIS320MI", &reads)?
        }
    };
    Ok(items
        .into_iter()
        .zip(lists.into_iter().zip(customers))
        .map(|(item, (list, cust))| ItemPrices {
            list_price: list.map(|r| list_price(item.clone(), &r)),
            customer_price: cust.map(|r| customer_price(item.clone(), &r, "1".into())),
            item,
        })
        .collect())
}

/// The warehouses asked for, else the `warehouses` setting's; empty: every one.
fn warehouses_to_read(asked: &[String]) -> BTreeSet<String> {
    let whs: BTreeSet<String> = asked
        .iter()
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if !whs.is_empty() {
        return whs;
    }
    setting("warehouses")
        .map(|list| {
            list.split(',')
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn get_stocks(
    items: Vec<String>,
    warehouses: Vec<String>,
) -> Result<Vec<ItemStock>, Error> {
    let mi = client()?;
    let whs = warehouses_to_read(&warehouses);
    if whs.is_empty() {
        // Every warehouse the item is stocked in, one LstWarehBalance per item.
        let reads = items
            .iter()
            .map(|itno| Ok(("LstWarehBalance".to_string(), vec![key("ITNO", itno)?])))
            .collect::<Result<Vec<Read>, Error>>()?;
        let found = all_records(&mi, "OIS100MI", &reads)?;
        return Ok(items
            .into_iter()
            .zip(found)
            .map(|(item, recs)| ItemStock {
                item,
                balances: recs.iter().map(|r| balance(r, "")).collect(),
            })
            .collect());
    }
    let whs: Vec<String> = whs.into_iter().collect();
    let mut reads = Vec::with_capacity(items.len() * whs.len());
    for itno in &items {
        for whlo in &whs {
            reads.push((
                "GetItmWhsBal".to_string(),
                vec![key("WHLO", whlo)?, key("ITNO", itno)?],
            ));
        }
    }
    let found = first_records(&mi, "MMS200MI", &reads)?;
    let mut found = found.into_iter();
    Ok(items
        .into_iter()
        .map(|item| {
            let balances = whs
                .iter()
                .filter_map(|whlo| found.next().flatten().map(|r| balance(&r, whlo)))
                .collect();
            ItemStock { item, balances }
        })
        .collect())
}

/// The stock delta: MMS080MI/LstItemWarehous for each warehouse (FWHL = TWHL: one request each;
/// the transaction has no start-from key, so a warehouse is read whole, only the columns
/// used), then the items with a balance whose change date (LMDT) is on or after the day before
/// `since`, each with all its balances in the warehouses. None ("cannot tell": the host reads
/// every item) when no warehouse is named (by the host or the `warehouses` setting: listing
/// every warehouse would assume M3's collation of their codes), when a warehouse has more
/// balances than one answer should carry (`stock_list_max`, default 120,000 on v2 and 50,000
/// on v1: at most ~13 MB of six short fields either way, under the host's 16 MiB answer
/// limit), or by the
/// `stock_change_date = false` setting. That the item/warehouse record's LMDT moves with its
/// quantities is INFERRED (the field list names it "Change date"; not confirmed on a live M3).
pub(crate) fn list_stocks_changed(
    since: String,
    warehouses: Vec<String>,
) -> Result<Option<Vec<ItemStock>>, Error> {
    if setting("stock_change_date").is_some_and(|v| v.trim().eq_ignore_ascii_case("false")) {
        return Ok(None);
    }
    let from = change_date_from(&since)?;
    let whs = warehouses_to_read(&warehouses);
    if whs.is_empty() {
        return Ok(None);
    }
    let mi = client()?;
    let max = setting("stock_list_max")
        .and_then(|m| m.trim().parse::<u32>().ok())
        .unwrap_or(if mi.settings.api == Api::V2 {
            120_000
        } else {
            50_000
        })
        .max(1);
    let mut rows = Vec::new();
    for whlo in &whs {
        let found = mi.list(
            "MMS080MI",
            "LstItemWarehous",
            &[
                key("FWHL", whlo)?,
                key("TWHL", whlo)?,
                (
                    RETURN_COLUMNS.into(),
                    "WHLO,ITNO,STQT,ALQT,AV01,LMDT".into(),
                ),
            ],
            Some(max.saturating_add(1)),
        )?;
        if found.len() > max as usize {
            // Too many for one answer: not a listing to judge "unchanged" by.
            return Ok(None);
        }
        rows.extend(found);
    }
    let mut items: std::collections::BTreeMap<String, (bool, Vec<StockBalance>)> =
        Default::default();
    for r in &rows {
        let (Some(itno), Some(whlo)) = (r.get("ITNO"), r.get("WHLO")) else {
            continue;
        };
        let whlo = whlo.trim();
        if !whs.contains(whlo) {
            continue;
        }
        let entry = items.entry(itno.trim().to_string()).or_default();
        // yyyyMMdd compares as text.
        entry.0 |= r.get("LMDT").is_some_and(|d| d.trim() >= from.as_str());
        entry.1.push(balance(r, whlo));
    }
    Ok(Some(
        items
            .into_iter()
            .filter(|(_, (changed, _))| *changed)
            .map(|(item, (_, balances))| ItemStock { item, balances })
            .collect(),
    ))
}
