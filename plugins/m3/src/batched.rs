//! The catalog's batched prices and stock (`get-item-prices`, `get-stocks`, erp 1.3): on MI v2
//! many Get transactions ride one `POST /v2/execute` (`bulk_size` per request, setting of the
//! same name), so 100,000 items' list prices are 200 round trips, not 100,000. On v1 (no bulk
//! endpoint) the same reads go one GET each, as the per-item calls do. The stock delta
//! (`list-stocks-changed`, erp 1.4) is one listing of the warehouses' balances.

use std::collections::BTreeSet;

use crate::exports::ferry::erp::erp::{ItemPrices, ItemStock, StockBalance};
use crate::items::{balance, customer_price, list_price, price_line_settings};
use crate::mi::{Api, Mi, RETURN_COLUMNS, Record};
use crate::records::{
    change_date_from, change_stamp_from, client, key, number_setting, setting, switch,
};
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
    stocks_in(&mi, items, &whs)
}

/// Each item's balance in each of `whs`: one GetItmWhsBal each, in bulk on v2.
fn stocks_in(mi: &Mi, items: Vec<String>, whs: &[String]) -> Result<Vec<ItemStock>, Error> {
    let mut reads = Vec::with_capacity(items.len() * whs.len());
    for itno in &items {
        for whlo in whs {
            reads.push((
                "GetItmWhsBal".to_string(),
                vec![key("WHLO", whlo)?, key("ITNO", itno)?],
            ));
        }
    }
    let found = first_records(mi, "MMS200MI", &reads)?;
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
    if !switch("stock_change_date", true)? {
        return Ok(None);
    }
    let from = change_date_from(&since)?;
    let whs = warehouses_to_read(&warehouses);
    if whs.is_empty() {
        return Ok(None);
    }
    let mi = client()?;
    let default_max = if mi.settings.api == Api::V2 {
        120_000
    } else {
        50_000
    };
    let max = number_setting("stock_list_max", default_max, 1..=u32::MAX)?;
    if switch("stock_new_balances", true)? {
        match new_balances(&mi, &since, &whs, max)? {
            Stamped::Listed(found) => return Ok(Some(found)),
            // As many changed as a warehouse listing could carry: that cannot tell either.
            Stamped::TooMany => return Ok(None),
            Stamped::ReadWhole => {}
        }
    }
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

/// What M3's change stamps told.
enum Stamped {
    /// The items with a balance written since, each with its balances in the warehouses.
    Listed(Vec<ItemStock>),
    /// More changed balances in a warehouse than one answer should carry.
    TooMany,
    /// No answer to go by (no such transaction here, or a NOK), or too many balances to
    /// complete one by one: the warehouses are read whole instead.
    ReadWhole,
}

/// Round trips the stamps' answer may cost to complete (the other warehouses' balances of an
/// item listed in some): past this, reading the warehouses whole is fewer.
const COMPLETION_TRIPS_MAX: usize = 20;

/// The stock delta by M3's change stamps: OIS100MI/LstNewBalances for each warehouse from
/// `since` less `stock_stamp_margin_seconds` (default 900: a clock behind Ferry's, a write
/// stamped before it committed; a balance listed again costs a comparison, never a write). An
/// item listed in some of the warehouses only has its other balances read (GetItmWhsBal, in
/// bulk on v2). The transaction is "14.x" in M3's list and its inputs and outputs are
/// CONSTRUCTED from the one-line description in the reference (UNVERIFIED): any NOK (e.g.
/// TransactionNotFound on an older M3) or a refused request (a gateway's 404) reads the
/// warehouses whole instead; `stock_new_balances = "false"` skips it.
fn new_balances(mi: &Mi, since: &str, whs: &BTreeSet<String>, max: u32) -> Result<Stamped, Error> {
    let margin = number_setting("stock_stamp_margin_seconds", 900u32, 0..=u32::MAX)?;
    let stamp = change_stamp_from(since, margin)?;
    let mut items: std::collections::BTreeMap<String, Vec<StockBalance>> = Default::default();
    for whlo in whs {
        let inputs = [key("LMTS", &stamp)?, key("WHLO", whlo)?];
        let listed = match mi.try_call(
            "OIS100MI",
            "LstNewBalances",
            &inputs,
            Some(max.saturating_add(1)),
        ) {
            Ok(Ok(records)) => records,
            Ok(Err(nok)) => {
                ferry_pdk::warn!("{}: the warehouses are read whole", nok.describe());
                return Ok(Stamped::ReadWhole);
            }
            Err(Error::Fatal(why)) => {
                ferry_pdk::warn!(
                    "OIS100MI/LstNewBalances refused ({why}): the warehouses are read whole"
                );
                return Ok(Stamped::ReadWhole);
            }
            Err(e) => return Err(e),
        };
        if listed.len() > max as usize {
            return Ok(Stamped::TooMany);
        }
        for r in &listed {
            let Some(itno) = r.get("ITNO").map(|i| i.trim()).filter(|i| !i.is_empty()) else {
                continue;
            };
            // An M3 that ignores WHLO lists every warehouse: only the asked one counts here.
            if r.get("WHLO").is_some_and(|w| w.trim() != whlo) {
                continue;
            }
            let balances = items.entry(itno.to_string()).or_default();
            if !balances.iter().any(|b| b.warehouse == *whlo) {
                balances.push(balance(r, whlo));
            }
        }
    }
    let partial: Vec<String> = items
        .iter()
        .filter(|(_, balances)| balances.len() < whs.len())
        .map(|(item, _)| item.clone())
        .collect();
    let reads = partial.len() * whs.len();
    let trips = match mi.settings.api {
        Api::V2 => reads.div_ceil(mi.settings.bulk_size),
        _ => reads,
    };
    if trips > COMPLETION_TRIPS_MAX {
        return Ok(Stamped::ReadWhole);
    }
    if !partial.is_empty() {
        let whs: Vec<String> = whs.iter().cloned().collect();
        for stock in stocks_in(mi, partial, &whs)? {
            items.insert(stock.item, stock.balances);
        }
    }
    Ok(Stamped::Listed(
        items
            .into_iter()
            .map(|(item, balances)| ItemStock { item, balances })
            .collect(),
    ))
}
