//! Ferry's Infor M3 connector: the `erp` role over MI REST through the ION API gateway.
//!
//! Every call goes through the host's `http` import on the tenant's connection (setting
//! `connection`, default "m3"); the host adds the OAuth token from the `.ionapi` file. MI v2 is
//! spoken by default and v1 read when the tenant sets `api = "v1"`. Settings are listed in the
//! README ("Connectors").
//!
//! Orders go through batch entry: `OIS100MI/AddBatchHead` → `AddBatchLine` per line →
//! `Confirm`; with `order_entry = "bulk"` the lines travel in one bulk POST (head and confirm
//! stay single calls, because a line needs the head's temporary order number and a confirm
//! must not run when a line failed). Every order logs one line
//! `m3 order <reference>: <orno> in <n> M3 round trips (<mode>)`.

wit_bindgen::generate!({
    world: "erp-connector",
    path: "../../wit",
    with: {
        "ferry:plugin/types@0.1.0": ferry_pdk::types,
        "ferry:plugin/http@0.1.0": ferry_pdk::http,
        "ferry:plugin/log@0.1.0": ferry_pdk::log,
        "ferry:plugin/config@0.1.0": ferry_pdk::config,
    },
});

mod bod;
mod fields;
mod mi;
mod orders;

use std::collections::BTreeSet;

use exports::ferry::plugin::erp::{Guest, OrderReceipt, Price, StockBalance};
use ferry_pdk::{
    Change, Document, Error, Field, FieldError, FieldsExt, Line, MatchCriteria, Page, PageRequest,
    Value, field_error,
};
use mi::{Mi, Record, Settings};

struct M3;

pub(crate) fn client() -> Result<Mi, Error> {
    Ok(Mi::new(Settings::load()?))
}

fn setting(key: &str) -> Option<String> {
    ferry_pdk::config::get(key).filter(|v| !v.trim().is_empty())
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

const CUSTOMER_ADD: &[&str] = &[
    "CUNO", "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "PHNO", "PHN2", "TFNO", "CUTP", "ALCU",
    "YREF", "YRE2", "MAIL", "CSCD", "ECAR", "CFC1", "CFC2", "CFC3", "CFC4", "CFC5", "CFC6", "CFC7",
    "CFC8", "CFC9", "CFC0", "CESA", "STAT", "IVGP", "TOWN", "CUSU", "FRCO", "EDES", "LNCD", "DIVI",
    "CUTM",
];
const CUSTOMER_CHG: &[&str] = &[
    "CUNM", "CUA1", "CUA2", "CUA3", "CUA4", "PONO", "PHNO", "PHN2", "TFNO", "CUTP", "ALCU", "YREF",
    "YRE2", "MAIL", "CSCD", "ECAR", "CFC1", "CFC2", "CFC3", "CFC4", "CFC5", "CFC6", "CFC7", "CFC8",
    "CFC9", "CFC0", "CESA", "STAT", "TOWN", "CUSU", "FRCO", "EDES", "LNCD", "DIVI",
];

/// Pages a start-from-key list: asks for one record more than the page to learn the next key.
/// Documents are keyed by `kind`'s id field (CUNO for customers, ITNO for items).
fn key_page(
    mi: &Mi,
    program: &str,
    transaction: &str,
    key_field: &str,
    kind: &str,
    page: &PageRequest,
    extra: &[(String, String)],
) -> Result<Page, Error> {
    let limit = page.limit.clamp(1, 10_000);
    let mut inputs = vec![(
        key_field.to_string(),
        page.cursor.clone().unwrap_or_default(),
    )];
    inputs.extend_from_slice(extra);
    let mut recs = mi.call(program, transaction, &inputs, Some(limit + 1))?;
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

/// Every customer matching all given criteria: by name through LstByName first, otherwise by
/// scanning LstByNumber (M3 has no e-mail index reachable through MI; `SearchCustomer`'s query
/// syntax is UNVERIFIED, so it is not used).
fn find_customers(mi: &Mi, criteria: &MatchCriteria) -> Result<Vec<Document>, Error> {
    if let Some(cuno) = criteria
        .external_ref
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        let doc = match mi.get_one("CRS610MI", "GetBasicData", &[key("CUNO", cuno)?]) {
            Ok(r) => document("customer", "CUNO", &r),
            Err(Error::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        return Ok(if matches_criteria(&doc, criteria) {
            vec![doc]
        } else {
            Vec::new()
        });
    }
    // By name: LstByName from the name's first word as M3 usually stores it (title case),
    // reading while names still start with that word. A name stored otherwise ("NORTHWIND …")
    // sorts elsewhere, so no hit falls through to the full scan below.
    if let Some(name) = criteria.name.as_deref().filter(|n| !n.trim().is_empty()) {
        let want = fields::normalize_name(name);
        let first = want.split(' ').next().unwrap_or_default().to_string();
        let mut start: String = first
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    c.to_uppercase().next().unwrap_or(c)
                } else {
                    c
                }
            })
            .collect();
        let mut found = Vec::new();
        for _ in 0..20 {
            let page = key_page(
                mi,
                "CRS610MI",
                "LstByName",
                "CUNM",
                "customer",
                &PageRequest {
                    cursor: Some(start.clone()),
                    limit: mi.settings.page_size,
                },
                &[],
            )?;
            let mut past = false;
            for d in page.documents {
                let n = fields::normalize_name(&d.text("CUNM").unwrap_or_default());
                if n.split(' ').next() != Some(first.as_str()) {
                    past = true;
                    break;
                }
                if matches_criteria(&d, criteria) {
                    found.push(d);
                }
            }
            match page.next {
                Some(next) if !past => start = next,
                _ => break,
            }
        }
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let scan_page: u32 = setting("customer_scan_page")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1000);
    let scan_max: usize = setting("customer_scan_max")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(100_000);
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = 0usize;
    loop {
        let page = key_page(
            mi,
            "CRS610MI",
            "LstByNumber",
            "CUNO",
            "customer",
            &PageRequest {
                cursor: cursor.clone(),
                limit: scan_page,
            },
            &[],
        )?;
        seen += page.documents.len();
        found.extend(
            page.documents
                .into_iter()
                .filter(|d| matches_criteria(d, criteria)),
        );
        match page.next {
            Some(n) if seen < scan_max => cursor = Some(n),
            Some(_) => {
                ferry_pdk::warn!(
                    "customer search stopped after {seen} customers (customer_scan_max)"
                );
                break;
            }
            None => break,
        }
    }
    Ok(found)
}

fn matches_criteria(doc: &Document, c: &MatchCriteria) -> bool {
    let field = |n: &str| doc.text(n).unwrap_or_default();
    let email_ok = c.email.as_deref().is_none_or(|e| {
        !e.trim().is_empty() && field("MAIL").trim().eq_ignore_ascii_case(e.trim())
    });
    let name_ok = c.name.as_deref().is_none_or(|n| {
        let want = fields::normalize_name(n);
        !want.is_empty() && fields::normalize_name(&field("CUNM")) == want
    });
    let phone_ok = c.phone.as_deref().is_none_or(|p| {
        let want = fields::digits(p);
        !want.is_empty()
            && (fields::digits(&field("PHNO")) == want || fields::digits(&field("PHN2")) == want)
    });
    let ref_ok = c
        .external_ref
        .as_deref()
        .is_none_or(|r| field("CUNO").trim() == r.trim());
    email_ok && name_ok && phone_ok && ref_ok
}

fn compact_date(since: &str) -> Result<String, Error> {
    fields::to_m3_date(since)
        .ok_or_else(|| Error::invalid("since", format!("'{since}' is not an ISO date")))
}

impl Guest for M3 {
    fn get_customer(id: String) -> Result<Document, Error> {
        let mi = client()?;
        let r = mi.get_one("CRS610MI", "GetBasicData", &[key("CUNO", &id)?])?;
        Ok(document("customer", "CUNO", &r))
    }

    fn find_customers(criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        let mi = client()?;
        find_customers(&mi, &criteria)
    }

    fn create_customer(customer: Document) -> Result<String, Error> {
        let mi = client()?;
        let mut errors = Vec::new();
        let mut inputs = inputs_from(
            &customer.fields,
            CUSTOMER_ADD,
            None,
            &mut errors,
            "CRS610MI/Add",
        );
        if let Some(id) = customer.id.as_deref().filter(|s| !s.trim().is_empty())
            && !inputs.iter().any(|(k, _)| k == "CUNO")
        {
            match fields::input("CUNO", &Value::Text(id.to_string()), None) {
                Ok(Some(v)) => inputs.push(("CUNO".into(), v)),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        for required in ["CUNM", "CUA1"] {
            if !inputs
                .iter()
                .any(|(k, v)| k == required && !v.trim().is_empty())
            {
                errors.push(field_error(required, None, "is required by CRS610MI"));
            }
        }
        let copy = setting("customer_create").is_some_and(|m| m.trim() == "copy");
        if !inputs.iter().any(|(k, _)| k == "CUTM") {
            let template = if copy {
                setting("customer_copy_from").or_else(|| setting("customer_template"))
            } else {
                setting("customer_template")
            };
            match template {
                Some(t) => match fields::input("CUTM", &Value::Text(t), None) {
                    Ok(Some(v)) => inputs.push(("CUTM".into(), v)),
                    _ => return Err(Error::fatal("setting customer_template is longer than 10")),
                },
                None => {
                    return Err(Error::fatal(
                        "creating an M3 customer needs a template: set customer_template (CUTM)",
                    ));
                }
            }
        }
        if let Some(stat) = setting("customer_status")
            && !inputs.iter().any(|(k, _)| k == "STAT")
        {
            inputs.push(("STAT".into(), stat));
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let trn = if copy { "Copy" } else { "Add" };
        let r = mi.get_one("CRS610MI", trn, &inputs)?;
        if let Some(errm) = r.get("ERRM").filter(|e| !e.trim().is_empty()) {
            return Err(Error::invalid(
                "record",
                format!("CRS610MI/{trn}: {}", errm.trim()),
            ));
        }
        r.get("CUNO")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::fatal(format!("CRS610MI/{trn} returned no CUNO")))
    }

    fn update_customer(id: String, changes: Document) -> Result<(), Error> {
        let mi = client()?;
        let mut errors = Vec::new();
        let mut inputs = vec![key("CUNO", &id)?];
        inputs.extend(inputs_from(
            &changes.fields,
            CUSTOMER_CHG,
            None,
            &mut errors,
            "CRS610MI/ChgBasicData",
        ));
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        mi.call("CRS610MI", "ChgBasicData", &inputs, Some(1))?;
        Ok(())
    }

    /// LstByNumber with `LMTS` (the change-timestamp filter; its format, a yyyyMMdd-prefixed
    /// timestamp, is UNVERIFIED). Where M3 ignores it the page is a superset: callers compare
    /// content, so an unchanged customer costs a comparison, never a wrong write.
    fn list_customers_changed(since: String, page: PageRequest) -> Result<Page, Error> {
        let mi = client()?;
        let lmts = format!("{}000000000", compact_date(&since)?);
        key_page(
            &mi,
            "CRS610MI",
            "LstByNumber",
            "CUNO",
            "customer",
            &page,
            &[("LMTS".into(), lmts)],
        )
    }

    fn get_item(id: String) -> Result<Document, Error> {
        let mi = client()?;
        let r = mi.get_one("MMS200MI", "GetItmBasic", &[key("ITNO", &id)?])?;
        Ok(document("item", "ITNO", &r))
    }

    fn list_items(page: PageRequest) -> Result<Page, Error> {
        let mi = client()?;
        key_page(&mi, "MMS200MI", "LstItmByItm", "ITNO", "item", &page, &[])
    }

    /// LstItmByChgDate from the date of `since`, oldest change first. The cursor is
    /// `yyyyMMdd|n`: the change date to restart from and how many records of that date were
    /// already returned (the transaction has no finer start-from key).
    fn list_items_changed(since: String, page: PageRequest) -> Result<Page, Error> {
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
            None => (compact_date(&since)?, 0),
        };
        let limit = page.limit.clamp(1, 10_000);
        let recs = mi.call(
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

    fn get_item_price(item: String) -> Result<Price, Error> {
        let mi = client()?;
        let r = mi.get_one("MMS200MI", "GetItmPrice", &[key("ITNO", &item)?])?;
        let currency = r
            .get("CUCS")
            .or(r.get("CUCD"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Ok(Price {
            item,
            amount: fields::dec_str(r.get("SAPR")),
            currency,
            unit: r
                .get("SPUN")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            min_quantity: None,
        })
    }

    /// OIS320MI/GetPriceLine: what this customer pays for this quantity (the net price after
    /// the customer's discounts, NETP; SAPR when no net price is given).
    fn get_customer_price(
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
        for (setting_key, field) in [
            ("facility", "FACI"),
            ("warehouse", "WHLO"),
            ("order_type", "ORTP"),
        ] {
            if let Some(v) = setting(setting_key) {
                inputs.push((field.into(), v));
            }
        }
        let r = mi.get_one("OIS320MI", "GetPriceLine", &inputs)?;
        let netp = fields::dec(r.get("NETP"));
        let amount = if netp.is_zero() {
            fields::dec(r.get("SAPR"))
        } else {
            netp
        };
        Ok(Price {
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
        })
    }

    /// Per-warehouse stock: `MMS200MI/GetItmWhsBal` for each warehouse in the `warehouses`
    /// setting, else every warehouse from `OIS100MI/LstWarehBalance`.
    fn get_stock(item: String) -> Result<Vec<StockBalance>, Error> {
        let mi = client()?;
        let itno = key("ITNO", &item)?;
        let balance = |r: &Record, whlo: &str| StockBalance {
            warehouse: r
                .get("WHLO")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| whlo.to_string()),
            on_hand: fields::dec_str(r.get("STQT")),
            allocatable: fields::dec_str(r.get("AV01")),
            allocated: r.get("ALQT").map(|a| fields::dec_str(Some(a))),
        };
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

    fn validate_order(order: Document) -> Result<Vec<FieldError>, Error> {
        let mi = client()?;
        orders::validate(&mi, &order)
    }

    fn create_order(order: Document, reference: String) -> Result<OrderReceipt, Error> {
        let mi = client()?;
        orders::create(&mi, &order, &reference)
    }

    fn begin_order(header: Document, reference: String) -> Result<String, Error> {
        let mi = client()?;
        orders::begin(&mi, &header, &reference)
    }

    fn add_order_lines(draft: String, lines: Vec<Line>) -> Result<(), Error> {
        let mi = client()?;
        orders::add_lines(&mi, &draft, &lines, 0).map(|_| ())
    }

    fn confirm_order(draft: String) -> Result<OrderReceipt, Error> {
        let mi = client()?;
        orders::confirm_staged(&mi, &draft)
    }

    fn find_order(
        reference: String,
        customer: Option<String>,
    ) -> Result<Option<OrderReceipt>, Error> {
        let mi = client()?;
        orders::find(&mi, &reference, customer.as_deref())
    }

    fn get_order_status(order_number: String) -> Result<OrderReceipt, Error> {
        let mi = client()?;
        orders::status(&mi, &order_number)
    }

    fn parse_event(content_type: String, payload: Vec<u8>) -> Result<Vec<Change>, Error> {
        let max = setting("max_event_bytes")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(bod::DEFAULT_MAX_BYTES);
        bod::parse(&content_type, &payload, max)
    }
}

export!(M3);
