//! Writing and reading QuoteWerks documents: a quote's header and its lines, priced the way
//! QuoteWerks does it (product database price, PriceModifier codes, group multipliers, %
//! discount lines), and totals on the header.
//!
//! Total rules (QuoteWerks' exact arithmetic is UNVERIFIED, these are the sandbox's):
//! - product line: ExtendedPrice = QtyTotal × UnitPrice;
//! - group member: the same, *without* QtyGroupMultiplier (Avalara's note: "Extended price
//!   already takes into account QtyTotal, but not the QtyGroupMultiplier");
//! - group header: UnitPrice = Σ member ExtendedPrice, ExtendedPrice = UnitPrice × group qty;
//! - % discount / % charge: ∓ percent of the line above (product, header or subtotal);
//! - SubTotal sums the counted lines since the previous SubTotal, RunningSubTotal since the top;
//! - excluded lines and unselected options (16 without 256) count for nothing;
//! - document SubTotal = Σ counted lines (headers, not their members); TotalTax = taxable ×
//!   LocalTaxRate; GrandTotal = SubTotal + TotalTax + ShippingAmount.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{self, attr, line_type};
use crate::seed::SeedCustomer;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SoldTo {
    pub company: String,
    pub contact: String,
    pub title: String,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub email: String,
    pub phone: String,
    /// Contact-manager account number (`SoldToCMAccountNo`).
    pub cm_account_no: String,
}

impl SoldTo {
    /// The same company as the M3 simulator's seeded customer.
    pub fn from_seed(c: &SeedCustomer) -> Self {
        Self {
            company: c.name.clone(),
            contact: c.contact_name(),
            title: "Purchasing Manager".into(),
            address1: c.address1.clone(),
            address2: c.address2.clone(),
            city: c.town.clone(),
            state: c.state.clone(),
            postal_code: c.postal_code.clone(),
            country: c.country.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            cm_account_no: format!("CM{:05}", c.index + 1),
        }
    }
}

fn default_status() -> String {
    "1-In Progress".into()
}

fn default_doc_type() -> String {
    "QUOTE".into()
}

/// A document to create (library and `POST /_control/quotes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewQuote {
    pub sold_to: SoldTo,
    /// Ship-to; defaults to the sold-to.
    #[serde(default)]
    pub ship_to: Option<SoldTo>,
    /// Defaults to the next `FRYQ1000`-style number.
    #[serde(default)]
    pub doc_no: Option<String>,
    #[serde(default)]
    pub doc_name: Option<String>,
    #[serde(default = "default_doc_type")]
    pub doc_type: String,
    #[serde(default = "default_status")]
    pub status: String,
    /// yyyy-MM-dd; default today.
    #[serde(default)]
    pub doc_date: Option<String>,
    #[serde(default)]
    pub sales_rep: String,
    #[serde(default)]
    pub po_number: String,
    #[serde(default)]
    pub project_no: Option<String>,
    #[serde(default)]
    pub local_tax_rate: Decimal,
    #[serde(default)]
    pub shipping_amount: Decimal,
    /// Extra header columns, e.g. `{"CustomText01": "1000003"}`.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    pub lines: Vec<NewLine>,
}

fn one_i64() -> i64 {
    line_type::PRODUCT
}

fn dec_one() -> Decimal {
    Decimal::ONE
}

/// A document line. Group headers carry their members.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewLine {
    #[serde(default = "one_i64")]
    pub line_type: i64,
    #[serde(default)]
    pub attributes: i64,
    /// ManufacturerPartNumber = the M3 item number.
    #[serde(default)]
    pub mpn: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "dec_one")]
    pub qty: Decimal,
    /// Explicit unit price; otherwise the product database price after the PriceModifier.
    #[serde(default)]
    pub unit_price: Option<Decimal>,
    #[serde(default)]
    pub price_modifier: String,
    #[serde(default)]
    pub item_type: String,
    /// For % discount / % charge lines.
    #[serde(default)]
    pub percent: Option<Decimal>,
    #[serde(default)]
    pub taxable: Option<bool>,
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    #[serde(default)]
    pub members: Vec<NewLine>,
}

impl NewLine {
    fn of(line_type: i64, description: &str) -> Self {
        Self {
            line_type,
            attributes: 0,
            mpn: String::new(),
            description: description.to_string(),
            qty: Decimal::ONE,
            unit_price: None,
            price_modifier: String::new(),
            item_type: String::new(),
            percent: None,
            taxable: None,
            custom: BTreeMap::new(),
            members: Vec::new(),
        }
    }

    pub fn product(mpn: &str, qty: Decimal) -> Self {
        Self {
            mpn: mpn.to_string(),
            qty,
            item_type: "Product".into(),
            ..Self::of(line_type::PRODUCT, "")
        }
    }

    pub fn comment(text: &str) -> Self {
        Self::of(line_type::COMMENT, text)
    }

    pub fn heading(text: &str) -> Self {
        Self::of(line_type::HEADING, text)
    }

    pub fn subtotal() -> Self {
        Self::of(line_type::SUBTOTAL, "Subtotal")
    }

    pub fn running_subtotal() -> Self {
        Self::of(line_type::RUNNING_SUBTOTAL, "Running subtotal")
    }

    pub fn percent_discount(percent: Decimal) -> Self {
        Self {
            percent: Some(percent),
            ..Self::of(line_type::PERCENT_DISCOUNT, &format!("{percent}% Discount"))
        }
    }

    pub fn percent_charge(percent: Decimal, description: &str) -> Self {
        Self {
            percent: Some(percent),
            ..Self::of(line_type::PERCENT_CHARGE, description)
        }
    }

    pub fn group(description: &str, qty: Decimal, members: Vec<NewLine>) -> Self {
        Self {
            qty,
            members,
            item_type: "Bundle".into(),
            ..Self::of(line_type::GROUP_HEADER, description)
        }
    }

    /// A tax line the way Avalara's connector writes it: a product line with ItemType TAX.
    pub fn tax(amount: Decimal) -> Self {
        Self {
            unit_price: Some(amount),
            item_type: "TAX".into(),
            taxable: Some(false),
            custom: BTreeMap::from([("CustomText05".to_string(), "AVATAX".to_string())]),
            ..Self::of(line_type::PRODUCT, "Sales Tax")
        }
    }

    pub fn with_modifier(mut self, code: &str) -> Self {
        self.price_modifier = code.to_string();
        self
    }

    pub fn with_price(mut self, price: Decimal) -> Self {
        self.unit_price = Some(price);
        self
    }

    pub fn optional(mut self, selected: bool) -> Self {
        self.attributes |= attr::OPTION;
        if selected {
            self.attributes |= attr::OPTION_SELECTED;
        }
        self
    }

    pub fn excluded(mut self) -> Self {
        self.attributes |= attr::EXCLUDE;
        self
    }

    fn counts(&self) -> bool {
        let unselected_option =
            self.attributes & attr::OPTION != 0 && self.attributes & attr::OPTION_SELECTED == 0;
        self.attributes & attr::EXCLUDE == 0 && !unselected_option
    }
}

/// Apply a PriceModifier: `D50\5` = 50 % then 5 % off list; `P20` = 20 % margin on cost;
/// `R<x>` rounds up to a multiple of x. Other codes leave the price alone (grammar UNVERIFIED).
pub fn apply_price_modifier(code: &str, list: Decimal, cost: Decimal, price: Decimal) -> Decimal {
    let code = code.trim();
    let (body, round) = match code.find('R') {
        Some(i) => (&code[..i], code[i + 1..].parse::<Decimal>().ok()),
        None => (code, None),
    };
    let mut out = price;
    if let Some(d) = body.strip_prefix('D') {
        out = list;
        for step in d.split('\\') {
            if let Ok(p) = step.trim().parse::<Decimal>() {
                out = out * (Decimal::ONE_HUNDRED - p) / Decimal::ONE_HUNDRED;
            }
        }
    } else if let Some(p) = body
        .strip_prefix('P')
        .and_then(|p| p.trim().parse::<Decimal>().ok())
        && p < Decimal::ONE_HUNDRED
    {
        out = cost * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED - p);
    }
    match round {
        Some(step) if step > Decimal::ZERO => {
            (out / step).round_dp_with_strategy(0, RoundingStrategy::AwayFromZero) * step
        }
        _ => out.round_dp(2),
    }
}

struct Product {
    description: String,
    price: Decimal,
    cost: Decimal,
    list: Decimal,
    manufacturer: String,
    unit: String,
}

fn product(conn: &Connection, table: &str, mpn: &str) -> rusqlite::Result<Option<Product>> {
    conn.query_row(
        &format!(
            "SELECT Description, Price, Cost, List, Manufacturer, UnitOfPricing FROM [{table}] WHERE ManufacturerPartNumber = ?1"
        ),
        [mpn],
        |r| {
            let d = |i: usize| r.get::<_, String>(i).map(|s| s.parse::<Decimal>().unwrap_or_default());
            Ok(Product {
                description: r.get(0)?,
                price: d(1)?,
                cost: d(2)?,
                list: d(3)?,
                manufacturer: r.get(4)?,
                unit: r.get(5)?,
            })
        },
    )
    .optional()
}

fn next_series(conn: &Connection, key: &str, first: u64) -> rusqlite::Result<u64> {
    let cur: Option<String> = conn
        .query_row(
            "SELECT value FROM _SandboxMeta WHERE key = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?;
    let n = cur.and_then(|v| v.parse().ok()).unwrap_or(first);
    conn.execute(
        "INSERT INTO _SandboxMeta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        rusqlite::params![key, (n + 1).to_string()],
    )?;
    Ok(n)
}

fn insert_row(conn: &Connection, table: &str, row: &[(String, String)]) -> rusqlite::Result<i64> {
    let cols = row
        .iter()
        .map(|(c, _)| format!("[{c}]"))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = (1..=row.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute(
        &format!("INSERT INTO [{table}] ({cols}) VALUES ({marks})"),
        params_from_iter(row.iter().map(|(_, v)| v.as_str())),
    )?;
    Ok(conn.last_insert_rowid())
}

struct Priced {
    row: Vec<(String, String)>,
    ext: Decimal,
    taxable: bool,
    counted: bool,
}

/// A created document: its `ID` and `DocNo`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DocRef {
    pub id: i64,
    pub doc_no: String,
}

fn allowed_custom(name: &str, allowed: &[String]) -> bool {
    name.starts_with("Custom") && allowed.iter().any(|c| c == name)
}

fn price_line(
    conn: &Connection,
    table: &str,
    l: &NewLine,
    group_qty: Option<Decimal>,
) -> rusqlite::Result<(Vec<(String, String)>, Decimal)> {
    let p = if l.mpn.is_empty() {
        None
    } else {
        product(conn, table, &l.mpn)?
    };
    let (list, cost, base_price) = p
        .as_ref()
        .map(|p| (p.list, p.cost, p.price))
        .unwrap_or_default();
    let unit = match l.unit_price {
        Some(u) => u,
        None if !l.price_modifier.is_empty() => {
            apply_price_modifier(&l.price_modifier, list, cost, base_price)
        }
        None => base_price,
    };
    let ext = (unit * l.qty).round_dp(2);
    let description = if l.description.is_empty() {
        p.as_ref()
            .map(|p| p.description.clone())
            .unwrap_or_default()
    } else {
        l.description.clone()
    };
    let mut attributes = l.attributes;
    if group_qty.is_some() {
        attributes |= attr::GROUP_MEMBER;
    }
    let row = vec![
        ("LineType".into(), l.line_type.to_string()),
        ("LineAttributes".into(), attributes.to_string()),
        ("ItemType".into(), l.item_type.clone()),
        ("ManufacturerPartNumber".into(), l.mpn.clone()),
        (
            "VendorPartNumber".into(),
            if l.mpn.is_empty() {
                String::new()
            } else {
                format!("V-{}", l.mpn)
            },
        ),
        ("Description".into(), description),
        (
            "Manufacturer".into(),
            p.as_ref()
                .map(|p| p.manufacturer.clone())
                .unwrap_or_default(),
        ),
        (
            "Vendor".into(),
            if p.is_some() {
                "M3 Distribution".into()
            } else {
                String::new()
            },
        ),
        ("QtyBase".into(), l.qty.to_string()),
        ("QtyMultiplier1".into(), "1".into()),
        ("QtyTotal".into(), l.qty.to_string()),
        (
            "QtyGroupMultiplier".into(),
            group_qty.unwrap_or(Decimal::ONE).to_string(),
        ),
        (
            "UnitOfMeasure".into(),
            p.as_ref()
                .map(|p| p.unit.clone())
                .unwrap_or_else(|| "EA".into()),
        ),
        (
            "UnitOfPricing".into(),
            p.as_ref()
                .map(|p| p.unit.clone())
                .unwrap_or_else(|| "EA".into()),
        ),
        ("UnitOfPricingFactor".into(), "1".into()),
        ("UnitPrice".into(), unit.to_string()),
        ("UnitCost".into(), cost.to_string()),
        ("UnitList".into(), list.to_string()),
        ("ExtendedPrice".into(), ext.to_string()),
        (
            "ExtendedCost".into(),
            (cost * l.qty).round_dp(2).to_string(),
        ),
        (
            "ExtendedList".into(),
            (list * l.qty).round_dp(2).to_string(),
        ),
        ("PriceModifier".into(), l.price_modifier.clone()),
        (
            "TaxCode".into(),
            if l.taxable.unwrap_or(true) {
                "Y".into()
            } else {
                "N".into()
            },
        ),
    ];
    Ok((row, ext))
}

/// Price every line and compute totals; returns rows in document order.
fn price_document(
    conn: &Connection,
    table: &str,
    lines: &[NewLine],
) -> rusqlite::Result<Vec<Priced>> {
    let item_cols = schema::item_columns();
    let mut out: Vec<Priced> = Vec::new();
    let mut since_subtotal = Decimal::ZERO;
    let mut running = Decimal::ZERO;
    let mut above = Decimal::ZERO;
    let with_custom = |mut row: Vec<(String, String)>, l: &NewLine| {
        for (k, v) in &l.custom {
            if allowed_custom(k, &item_cols) {
                row.push((k.clone(), v.clone()));
            }
        }
        row
    };
    for l in lines {
        match l.line_type {
            line_type::PRODUCT => {
                let (row, ext) = price_line(conn, table, l, None)?;
                let counted = l.counts();
                if counted {
                    since_subtotal += ext;
                    running += ext;
                    above = ext;
                }
                out.push(Priced {
                    row: with_custom(row, l),
                    ext,
                    taxable: l.taxable.unwrap_or(true),
                    counted,
                });
            }
            line_type::GROUP_HEADER => {
                let mut members = Vec::new();
                let mut unit = Decimal::ZERO;
                for m in &l.members {
                    let (row, ext) = price_line(conn, table, m, Some(l.qty))?;
                    if m.counts() {
                        unit += ext;
                    }
                    members.push(Priced {
                        row: with_custom(row, m),
                        ext,
                        taxable: false,
                        counted: false,
                    });
                }
                let ext = (unit * l.qty).round_dp(2);
                let counted = l.counts();
                if counted {
                    since_subtotal += ext;
                    running += ext;
                    above = ext;
                }
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    ("ItemType".into(), l.item_type.clone()),
                    ("ManufacturerPartNumber".into(), l.mpn.clone()),
                    ("Description".into(), l.description.clone()),
                    ("QtyBase".into(), l.qty.to_string()),
                    ("QtyMultiplier1".into(), "1".into()),
                    ("QtyTotal".into(), l.qty.to_string()),
                    ("QtyGroupMultiplier".into(), "1".into()),
                    ("UnitPrice".into(), unit.to_string()),
                    ("ExtendedPrice".into(), ext.to_string()),
                    ("PriceModifier".into(), l.price_modifier.clone()),
                    ("TaxCode".into(), "Y".into()),
                ];
                out.push(Priced {
                    row: with_custom(row, l),
                    ext,
                    taxable: true,
                    counted,
                });
                out.extend(members);
            }
            line_type::SUBTOTAL | line_type::RUNNING_SUBTOTAL => {
                let amount = if l.line_type == line_type::SUBTOTAL {
                    since_subtotal
                } else {
                    running
                };
                if l.line_type == line_type::SUBTOTAL {
                    since_subtotal = Decimal::ZERO;
                }
                above = amount;
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    ("Description".into(), l.description.clone()),
                    ("UnitPrice".into(), amount.to_string()),
                    ("ExtendedPrice".into(), amount.to_string()),
                ];
                out.push(Priced {
                    row,
                    ext: amount,
                    taxable: false,
                    counted: false,
                });
            }
            line_type::PERCENT_DISCOUNT | line_type::PERCENT_CHARGE => {
                let pct = l.percent.unwrap_or_default();
                let sign = if l.line_type == line_type::PERCENT_DISCOUNT {
                    -Decimal::ONE
                } else {
                    Decimal::ONE
                };
                let ext = (sign * above * pct / Decimal::ONE_HUNDRED).round_dp(2);
                let counted = l.counts();
                if counted {
                    since_subtotal += ext;
                    running += ext;
                }
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    (
                        "ItemType".into(),
                        if sign.is_sign_negative() {
                            "Discount".into()
                        } else {
                            "Charge".into()
                        },
                    ),
                    ("Description".into(), l.description.clone()),
                    ("QtyBase".into(), "1".into()),
                    ("QtyTotal".into(), "1".into()),
                    ("QtyGroupMultiplier".into(), "1".into()),
                    ("UnitPrice".into(), ext.to_string()),
                    ("ExtendedPrice".into(), ext.to_string()),
                    (
                        "TaxCode".into(),
                        if l.taxable.unwrap_or(true) {
                            "Y".into()
                        } else {
                            "N".into()
                        },
                    ),
                ];
                out.push(Priced {
                    row,
                    ext,
                    taxable: l.taxable.unwrap_or(true),
                    counted,
                });
            }
            _ => {
                let row = vec![
                    ("LineType".into(), l.line_type.to_string()),
                    ("LineAttributes".into(), l.attributes.to_string()),
                    ("Description".into(), l.description.clone()),
                ];
                out.push(Priced {
                    row: with_custom(row, l),
                    ext: Decimal::ZERO,
                    taxable: false,
                    counted: false,
                });
            }
        }
    }
    Ok(out)
}

/// Insert a document and its lines in one transaction.
pub fn create(conn: &mut Connection, product_db: &str, q: &NewQuote) -> rusqlite::Result<DocRef> {
    let table = schema::product_table(product_db);
    let tx = conn.transaction()?;
    let priced = price_document(&tx, &table, &q.lines)?;
    let subtotal: Decimal = priced.iter().filter(|p| p.counted).map(|p| p.ext).sum();
    let taxable: Decimal = priced
        .iter()
        .filter(|p| p.counted && p.taxable)
        .map(|p| p.ext)
        .sum();
    let total_tax = (taxable * q.local_tax_rate / Decimal::ONE_HUNDRED).round_dp(2);
    let grand = subtotal + total_tax + q.shipping_amount;
    let doc_no = match &q.doc_no {
        Some(d) => d.clone(),
        None => {
            let prefix = if q.doc_type == "ORDER" {
                "FRYO"
            } else {
                "FRYQ"
            };
            // Skip numbers already taken by documents created with an explicit DocNo.
            loop {
                let n = next_series(&tx, &format!("docno.{}", q.doc_type), 1000)?;
                let candidate = format!("{prefix}{n}");
                if find_by_doc_no(&tx, &candidate)?.is_none() {
                    break candidate;
                }
            }
        }
    };
    let project = match &q.project_no {
        Some(p) => p.clone(),
        None => next_series(&tx, "project", 5001)?.to_string(),
    };
    let date = q
        .doc_date
        .clone()
        .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string());
    let mut row: Vec<(String, String)> = vec![
        ("DocNo".into(), doc_no.clone()),
        (
            "DocName".into(),
            q.doc_name
                .clone()
                .unwrap_or_else(|| format!("{} - {}", q.sold_to.company, doc_no)),
        ),
        ("DocType".into(), q.doc_type.clone()),
        ("DocStatus".into(), q.status.clone()),
        ("DocDate".into(), date),
        ("ProjectNo".into(), project),
        ("SalesRep".into(), q.sales_rep.clone()),
        ("SoldToPONumber".into(), q.po_number.clone()),
        ("SubTotal".into(), subtotal.to_string()),
        ("TotalTax".into(), total_tax.to_string()),
        ("LocalTaxRate".into(), q.local_tax_rate.to_string()),
        ("GrandTotal".into(), grand.to_string()),
        ("ShippingAmount".into(), q.shipping_amount.to_string()),
        ("ShippingCost".into(), "0".into()),
        // Tab-delimited: method, (unused), shipping taxable (reference §2.1).
        ("ShippingPricingMethod".into(), "M\t\tN".into()),
        ("AlternateCurrency".into(), "USD\u{4}$\u{4}1".into()),
    ];
    let ship = q.ship_to.clone().unwrap_or_else(|| q.sold_to.clone());
    for (party, s) in [
        ("SoldTo", &q.sold_to),
        ("ShipTo", &ship),
        ("BillTo", &q.sold_to),
    ] {
        for (f, v) in [
            ("Company", &s.company),
            ("Contact", &s.contact),
            ("Title", &s.title),
            ("Address1", &s.address1),
            ("Address2", &s.address2),
            ("City", &s.city),
            ("State", &s.state),
            ("PostalCode", &s.postal_code),
            ("Country", &s.country),
            ("Email", &s.email),
            ("Phone", &s.phone),
            ("CMAccountNo", &s.cm_account_no),
        ] {
            row.push((format!("{party}{f}"), v.clone()));
        }
    }
    let header_cols = schema::header_columns();
    for (k, v) in &q.custom {
        if allowed_custom(k, &header_cols) {
            row.push((k.clone(), v.clone()));
        }
    }
    let id = insert_row(&tx, "DocumentHeaders", &row)?;
    for p in priced {
        let mut r = vec![("DocID".to_string(), id.to_string())];
        r.extend(p.row);
        insert_row(&tx, "DocumentItems", &r)?;
    }
    tx.commit()?;
    Ok(DocRef { id, doc_no })
}

/// A document as JSON: header columns and line columns, exactly as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    pub header: Map<String, Value>,
    pub items: Vec<Map<String, Value>>,
}

impl Document {
    pub fn text(&self, column: &str) -> String {
        match self.header.get(column) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

fn row_to_map(row: &rusqlite::Row<'_>, names: &[String]) -> rusqlite::Result<Map<String, Value>> {
    let mut m = Map::new();
    for (i, n) in names.iter().enumerate() {
        let v = match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(x) => Value::from(x),
            // No REAL columns exist; render any as text rather than trusting a float.
            ValueRef::Real(x) => Value::String(x.to_string()),
            ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::String(hex::encode(b)),
        };
        m.insert(n.clone(), v);
    }
    Ok(m)
}

fn query_maps(
    conn: &Connection,
    sql: &str,
    p: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<Map<String, Value>>> {
    let mut st = conn.prepare(sql)?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    st.query_map(p, |r| row_to_map(r, &names))?.collect()
}

pub fn read(conn: &Connection, id: i64) -> rusqlite::Result<Option<Document>> {
    let mut headers = query_maps(conn, "SELECT * FROM DocumentHeaders WHERE ID = ?1", &[&id])?;
    let Some(header) = headers.pop() else {
        return Ok(None);
    };
    let items = query_maps(
        conn,
        "SELECT * FROM DocumentItems WHERE DocID = ?1 ORDER BY ID",
        &[&id],
    )?;
    Ok(Some(Document { header, items }))
}

pub fn find_by_doc_no(conn: &Connection, doc_no: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT ID FROM DocumentHeaders WHERE DocNo = ?1",
        [doc_no],
        |r| r.get(0),
    )
    .optional()
}

/// One line per document, for listings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DocSummary {
    pub id: i64,
    pub doc_no: String,
    pub doc_type: String,
    pub status: String,
    pub sold_to_company: String,
    pub grand_total: String,
}

pub fn list(conn: &Connection, status: Option<&str>) -> rusqlite::Result<Vec<DocSummary>> {
    let mut st = conn.prepare(
        "SELECT ID, DocNo, DocType, DocStatus, SoldToCompany, GrandTotal FROM DocumentHeaders
         WHERE (?1 IS NULL OR DocStatus = ?1) ORDER BY ID",
    )?;
    st.query_map([status], |r| {
        Ok(DocSummary {
            id: r.get(0)?,
            doc_no: r.get(1)?,
            doc_type: r.get(2)?,
            status: r.get(3)?,
            sold_to_company: r.get(4)?,
            grand_total: r.get(5)?,
        })
    })?
    .collect()
}

/// Change DocStatus; returns the previous status, or None when the document does not exist.
pub fn set_status(conn: &Connection, id: i64, status: &str) -> rusqlite::Result<Option<String>> {
    let prev: Option<String> = conn
        .query_row(
            "SELECT DocStatus FROM DocumentHeaders WHERE ID = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if prev.is_some() {
        conn.execute(
            "UPDATE DocumentHeaders SET DocStatus = ?1 WHERE ID = ?2",
            rusqlite::params![status, id],
        )?;
    }
    Ok(prev)
}

/// Header columns as strings, for webhook macros.
pub fn header_strings(doc: &Document) -> HashMap<String, String> {
    doc.header
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn price_modifiers() {
        assert_eq!(
            apply_price_modifier("D50\\5", dec!(100), dec!(40), dec!(90)),
            dec!(47.50)
        );
        assert_eq!(
            apply_price_modifier("D10", dec!(19.99), dec!(10), dec!(19.99)),
            dec!(17.99)
        );
        assert_eq!(
            apply_price_modifier("P20R1", dec!(0), dec!(80), dec!(0)),
            dec!(100)
        );
        assert_eq!(
            apply_price_modifier("P20R5", dec!(0), dec!(81), dec!(0)),
            dec!(105)
        );
        assert_eq!(
            apply_price_modifier("X", dec!(1), dec!(1), dec!(7.5)),
            dec!(7.5)
        );
    }
}
