//! Ferry's QuoteWerks connector: the `quoting` role over QuoteWerks' own SQL database
//! (`DocumentHeaders`, `DocumentItems` on `DocID = ID`, `<ProductDb>_Products`, `LookupItems`)
//! through the host's `sql` import, and its webhooks (whose shared secret the host has already
//! checked).
//!
//! SQL: every parameter is written `?` and bound by the host (the SQL Server backend rewrites
//! them to `@P1…`); what else differs is written per `get-dialect`: `TOP n` vs `LIMIT n` and
//! `[ident]` vs `"ident"`. Identifiers that come from settings are checked to be plain names
//! before they are put into SQL. Settings are listed in the README ("Connectors").

wit_bindgen::generate!({
    world: "quoting-connector",
    path: "../../wit",
    with: {
        "ferry:plugin/types@0.1.0": ferry_pdk::types,
        "ferry:plugin/http@0.1.0": ferry_pdk::http,
        "ferry:plugin/sql@0.1.0": ferry_pdk::sql,
        "ferry:plugin/log@0.1.0": ferry_pdk::log,
        "ferry:plugin/config@0.1.0": ferry_pdk::config,
        "ferry:plugin/secrets@0.1.0": ferry_pdk::secrets,
    },
});

mod lines;
mod webhook;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use exports::ferry::plugin::quoting::{
    Availability, Guest, InboundWebhook, QuoteEvent, QuotePage, QuoteSummary, UpsertReport,
};
use ferry_pdk::sql::{self, Dialect, SqlValue, Statement};
use ferry_pdk::{
    Decimal, Document, Error, Field, FieldsExt, Line, MatchCriteria, Page, PageRequest, Value,
};

struct QuoteWerks;

fn setting(key: &str, default: &str) -> String {
    ferry_pdk::config::get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// A table or column name from settings: letters, digits and `_` only.
fn ident(setting_name: &str, value: &str) -> Result<String, Error> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Error::fatal(format!(
            "setting {setting_name} = '{value}' is not a plain table or column name"
        )))
    }
}

struct Settings {
    doc_type: String,
    ready_status: String,
    transferred_status: String,
    order_number_field: String,
    product_table: String,
    product_key: String,
    percent_discounts: bool,
    tax_item_types: Vec<String>,
    customer_key: String,
    customer_number_field: Option<String>,
}

impl Settings {
    fn load() -> Result<Self, Error> {
        let product_table =
            match ferry_pdk::config::get("product_table").filter(|v| !v.trim().is_empty()) {
                Some(t) => ident("product_table", t.trim())?,
                None => format!(
                    "{}_Products",
                    ident("product_db", &setting("product_db", "M3"))?
                ),
            };
        let percent_discounts = match setting("discount_mode", "percent").as_str() {
            "percent" => true,
            "amount" => false,
            other => {
                return Err(Error::fatal(format!(
                    "setting discount_mode = '{other}': use \"percent\" or \"amount\""
                )));
            }
        };
        Ok(Self {
            doc_type: setting("doc_type", "QUOTE"),
            ready_status: setting("ready_status", "Approved"),
            transferred_status: setting("transferred_status", "Transferred to ERP"),
            order_number_field: ident(
                "order_number_field",
                &setting("order_number_field", "CustomText24"),
            )?,
            product_table,
            product_key: ident(
                "product_key",
                &setting("product_key", "ManufacturerPartNumber"),
            )?,
            percent_discounts,
            tax_item_types: setting("tax_item_types", "TAX")
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            customer_key: ident(
                "customer_key",
                &setting("customer_key", "SoldToCMAccountNo"),
            )?,
            customer_number_field: match ferry_pdk::config::get("customer_number_field")
                .filter(|v| !v.trim().is_empty())
            {
                Some(f) => Some(ident("customer_number_field", f.trim())?),
                None => None,
            },
        })
    }
}

/// The database through the `sql` import, in its dialect.
struct Db {
    connection: String,
    dialect: Dialect,
}

type Row = BTreeMap<String, SqlValue>;

impl Db {
    fn open() -> Result<Self, Error> {
        let connection = setting("connection", "quotewerks");
        let dialect = sql::get_dialect(&connection)?;
        Ok(Self {
            connection,
            dialect,
        })
    }

    /// Quotes an identifier already checked by [`ident`] (or a literal name in this file).
    /// SQLite takes SQL Server's brackets too, and unlike `"name"` a bracketed name never falls
    /// back to a string literal when the column does not exist (so a wrong setting is an error,
    /// not an empty result).
    fn q(&self, name: &str) -> String {
        match self.dialect {
            Dialect::SqlServer | Dialect::Sqlite => format!("[{name}]"),
            Dialect::Postgres => format!("\"{name}\""),
        }
    }

    /// `SELECT <cols> FROM <rest>` limited to `n` rows, `rest` holding WHERE/ORDER BY.
    fn select(&self, cols: &str, rest: &str, n: u32) -> String {
        match self.dialect {
            Dialect::SqlServer => format!("SELECT TOP {n} {cols} FROM {rest}"),
            Dialect::Sqlite | Dialect::Postgres => format!("SELECT {cols} FROM {rest} LIMIT {n}"),
        }
    }

    fn query(&self, sql: String, params: Vec<SqlValue>) -> Result<Vec<Row>, Error> {
        let rows = sql::query(&self.connection, &Statement { sql, params })?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| rows.columns.iter().cloned().zip(r).collect())
            .collect())
    }

    fn columns(&self, table: &str) -> Result<Vec<String>, Error> {
        let sql = self.select("*", &format!("{} WHERE 1 = 0", self.q(table)), 1);
        Ok(sql::query(
            &self.connection,
            &Statement {
                sql,
                params: vec![],
            },
        )?
        .columns)
    }

    fn execute(&self, sql: String, params: Vec<SqlValue>) -> Result<u64, Error> {
        sql::execute(&self.connection, &Statement { sql, params })
    }
}

fn text_of(v: Option<&SqlValue>) -> String {
    match v {
        Some(SqlValue::Text(s)) | Some(SqlValue::Decimal(s)) => s.clone(),
        Some(SqlValue::Integer(i)) => i.to_string(),
        Some(SqlValue::Boolean(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn dec_of(v: Option<&SqlValue>) -> Decimal {
    match v {
        Some(SqlValue::Integer(i)) => Decimal::from(*i),
        Some(SqlValue::Text(s)) | Some(SqlValue::Decimal(s)) => {
            Decimal::from_str(s.trim()).unwrap_or_default()
        }
        Some(SqlValue::Boolean(b)) => Decimal::from(u8::from(*b)),
        _ => Decimal::ZERO,
    }
}

fn int_of(v: Option<&SqlValue>) -> i64 {
    match v {
        Some(SqlValue::Integer(i)) => *i,
        Some(SqlValue::Boolean(b)) => i64::from(*b),
        other => text_of(other)
            .trim()
            .parse::<Decimal>()
            .ok()
            .and_then(|d| d.trunc().to_string().parse().ok())
            .unwrap_or(0),
    }
}

/// Columns that hold money, quantities or numbers, whatever the column type.
fn numeric_column(name: &str) -> bool {
    matches!(
        name,
        "SubTotal"
            | "TotalTax"
            | "LocalTaxRate"
            | "GrandTotal"
            | "ShippingAmount"
            | "ShippingCost"
            | "QtyBase"
            | "QtyMultiplier1"
            | "QtyTotal"
            | "QtyGroupMultiplier"
            | "UnitPrice"
            | "UnitCost"
            | "UnitList"
            | "ExtendedPrice"
            | "ExtendedCost"
            | "ExtendedList"
            | "UnitOfPricingFactor"
            | "UnitOfMeasureFactor"
            | "Price"
            | "Cost"
            | "List"
            | "Availability"
    ) || name.starts_with("CustomNumber")
}

/// A column value as a document value: numbers as decimals, dates ISO.
fn to_value(name: &str, v: &SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(*i),
        SqlValue::Boolean(b) => Value::Boolean(*b),
        SqlValue::Blob(b) => Value::Text(format!("({} bytes)", b.len())),
        SqlValue::Decimal(s) => Value::Decimal(s.clone()),
        SqlValue::Text(s) => {
            if numeric_column(name) {
                if s.trim().is_empty() {
                    return Value::Null;
                }
                if let Ok(d) = Decimal::from_str(s.trim()) {
                    return Value::Decimal(d.normalize().to_string());
                }
            }
            if (name == "DocDate" || name.starts_with("CustomDate")) && s.len() >= 10 {
                let d = &s[..10];
                if d.as_bytes().get(4) == Some(&b'-') && d.as_bytes().get(7) == Some(&b'-') {
                    return Value::Date(d.to_string());
                }
            }
            Value::Text(s.clone())
        }
    }
}

fn fields_of(row: &Row, keep: impl Fn(&str) -> bool) -> Vec<Field> {
    row.iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| Field {
            name: k.clone(),
            value: to_value(k, v),
        })
        .collect()
}

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Text(s) | Value::Date(s) => SqlValue::Text(s.clone()),
        Value::Decimal(s) => SqlValue::Decimal(s.clone()),
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Boolean(b) => SqlValue::Boolean(*b),
    }
}

fn parse_id(id: &str) -> Result<i64, Error> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("id", format!("'{id}' is not a QuoteWerks document ID")))
}

fn dec_field(name: &str, d: Decimal) -> Field {
    Field {
        name: name.to_string(),
        value: Value::Decimal(d.normalize().to_string()),
    }
}

fn header_row(db: &Db, id: i64) -> Result<Row, Error> {
    let sql = db.select(
        "*",
        &format!("{} WHERE {} = ?", db.q("DocumentHeaders"), db.q("ID")),
        1,
    );
    db.query(sql, vec![SqlValue::Integer(id)])?
        .into_iter()
        .next()
        .ok_or_else(|| Error::not_found(format!("QuoteWerks document {id}")))
}

/// QuoteWerks saves a revision under a new number with a numeric or alpha suffix ("-01",
/// "-A"; reference/quotewerks.md §2.5). A DocNo of that shape whose base number is another
/// document in the database is a revision of it: the base number is returned, so a mapping can
/// use it as the order reference and a revision of a transferred quote is caught.
fn revision_of(db: &Db, doc_no: &str, id: i64) -> Result<Option<String>, Error> {
    let Some((base, suffix)) = doc_no.trim().rsplit_once('-') else {
        return Ok(None);
    };
    let numeric = (1..=3).contains(&suffix.len()) && suffix.chars().all(|c| c.is_ascii_digit());
    let alpha = suffix.len() == 1 && suffix.chars().all(|c| c.is_ascii_uppercase());
    if base.is_empty() || !(numeric || alpha) {
        return Ok(None);
    }
    let sql = db.select(
        &db.q("ID"),
        &format!(
            "{} WHERE {} = ? AND {} <> ?",
            db.q("DocumentHeaders"),
            db.q("DocNo"),
            db.q("ID")
        ),
        1,
    );
    let found = db.query(
        sql,
        vec![SqlValue::Text(base.to_string()), SqlValue::Integer(id)],
    )?;
    Ok((!found.is_empty()).then(|| base.to_string()))
}

fn get_quote(db: &Db, s: &Settings, id: i64) -> Result<Document, Error> {
    let header = header_row(db, id)?;
    let items = db.query(
        format!(
            "SELECT * FROM {} WHERE {} = ? ORDER BY {}",
            db.q("DocumentItems"),
            db.q("DocID"),
            db.q("ID")
        ),
        vec![SqlValue::Integer(id)],
    )?;
    let raw: Vec<lines::RawLine> = items
        .iter()
        .map(|r| lines::RawLine {
            line_type: int_of(r.get("LineType")),
            attributes: int_of(r.get("LineAttributes")),
            item_type: text_of(r.get("ItemType")),
            description: text_of(r.get("Description")),
            qty_total: dec_of(r.get("QtyTotal")),
            qty_group_multiplier: dec_of(r.get("QtyGroupMultiplier")),
            unit_price: dec_of(r.get("UnitPrice")),
            unit_list: dec_of(r.get("UnitList")),
            extended_price: dec_of(r.get("ExtendedPrice")),
            price_modifier: text_of(r.get("PriceModifier")),
        })
        .collect();
    let ordered = lines::order_lines(&raw, &s.tax_item_types);
    for w in &ordered.warnings {
        ferry_pdk::warn!("quote {id}: {w}");
    }
    let mut out_lines = Vec::new();
    for (n, l) in ordered.lines.iter().enumerate() {
        let row = &items[l.source];
        let mut fields = fields_of(row, |k| k != "DocID");
        fields.push(Field {
            name: "LineNumber".into(),
            value: Value::Integer(n as i64 + 1),
        });
        fields.push(dec_field("OrderQuantity", l.quantity));
        fields.push(dec_field("OrderUnitPrice", l.gross_unit));
        if s.percent_discounts {
            fields.push(dec_field("DiscountPercent", l.discount_percent));
        } else {
            fields.push(dec_field("DiscountAmount", l.discount_amount()));
        }
        fields.push(dec_field("NetUnitPrice", l.net_unit()));
        fields.push(dec_field("NetAmount", l.net_amount()));
        if let Some(g) = l.group {
            fields.push(Field {
                name: "GroupDescription".into(),
                value: Value::Text(text_of(items[g].get("Description"))),
            });
        }
        out_lines.push(Line { fields });
    }
    let mut fields = fields_of(&header, |_| true);
    if let Some(base) = revision_of(db, &text_of(header.get("DocNo")), id)? {
        fields.push(Field {
            name: "RevisionOf".into(),
            value: Value::Text(base),
        });
    }
    fields.push(dec_field("PercentChargeTotal", ordered.charges));
    let total: Decimal = ordered.lines.iter().map(|l| l.net_amount()).sum();
    fields.push(dec_field("OrderLinesTotal", total));
    Ok(Document {
        kind: "quote".into(),
        id: Some(id.to_string()),
        fields,
        lines: out_lines,
    })
}

const PARTY_FIELDS: &[&str] = &[
    "Company",
    "Contact",
    "Title",
    "Address1",
    "Address2",
    "Address3",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Email",
    "Phone",
    "PhoneExt",
    "Fax",
    "FaxExt",
    "CMAccountNo",
];

fn is_party_column(name: &str) -> bool {
    ["SoldTo", "ShipTo", "BillTo"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| PARTY_FIELDS.contains(&rest))
    }) || name == "SoldToPONumber"
}

/// A customer as QuoteWerks knows one: the Sold-to, Bill-to and Ship-to of a document (the
/// latest one that names it). There is no customer master in QuoteWerks' database.
fn customer_doc(s: &Settings, row: &Row) -> Document {
    let key = text_of(row.get(&s.customer_key));
    let id = if key.trim().is_empty() {
        format!("doc:{}", text_of(row.get("ID")))
    } else {
        key.trim().to_string()
    };
    let mut fields = fields_of(row, |k| {
        is_party_column(k) || Some(k) == s.customer_number_field.as_deref() || k == s.customer_key
    });
    fields.push(Field {
        name: "DocumentID".into(),
        value: Value::Text(text_of(row.get("ID"))),
    });
    Document {
        kind: "customer".into(),
        id: Some(id),
        fields,
        lines: Vec::new(),
    }
}

use ferry_pdk::normalize_company_name as normalize_name;

/// The setting's column, as the table spells it (or an error naming what exists).
fn column_in(columns: &[String], wanted: &str, what: &str) -> Result<String, Error> {
    columns
        .iter()
        .find(|c| c.eq_ignore_ascii_case(wanted))
        .cloned()
        .ok_or_else(|| Error::fatal(format!("{what}: the table has no column {wanted}")))
}

fn same_value(existing: Option<&SqlValue>, new: &Value) -> bool {
    match new {
        Value::Null => {
            matches!(existing, None | Some(SqlValue::Null)) || text_of(existing).is_empty()
        }
        Value::Decimal(d) => {
            Decimal::from_str(d.trim()).ok() == Decimal::from_str(text_of(existing).trim()).ok()
        }
        Value::Integer(i) => int_of(existing) == *i && !text_of(existing).is_empty(),
        Value::Boolean(b) => {
            matches!(existing, Some(SqlValue::Boolean(e)) if e == b)
                || int_of(existing) == i64::from(*b)
        }
        Value::Text(t) | Value::Date(t) => text_of(existing) == *t,
    }
}

impl Guest for QuoteWerks {
    fn parse_webhook(webhook: InboundWebhook) -> Result<QuoteEvent, Error> {
        // The host checked the shared secret before this call and removed its header.
        let e = webhook::parse(&webhook.body)?;
        Ok(QuoteEvent {
            event_id: e.event_id,
            quote_id: e.quote_id,
            event: e.event,
            status: e.status,
            occurred_at: e.occurred_at,
        })
    }

    fn list_ready_quotes(page: PageRequest) -> Result<QuotePage, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let after = match page.cursor.as_deref() {
            Some(c) => parse_id(c)?,
            None => 0,
        };
        let limit = page.limit.clamp(1, 1000);
        let of = db.q(&s.order_number_field);
        let sql = db.select(
            &format!(
                "{}, {}, {}, {}",
                db.q("ID"),
                db.q("DocNo"),
                db.q("DocStatus"),
                db.q("DocDate")
            ),
            &format!(
                "{} WHERE {} = ? AND {} = ? AND ({of} IS NULL OR {of} = '') AND {} > ? ORDER BY {}",
                db.q("DocumentHeaders"),
                db.q("DocType"),
                db.q("DocStatus"),
                db.q("ID"),
                db.q("ID")
            ),
            limit + 1,
        );
        let mut rows = db.query(
            sql,
            vec![
                SqlValue::Text(s.doc_type.clone()),
                SqlValue::Text(s.ready_status.clone()),
                SqlValue::Integer(after),
            ],
        )?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let quotes: Vec<QuoteSummary> = rows
            .iter()
            .map(|r| {
                let number = text_of(r.get("DocNo"));
                let revision = number
                    .rsplit_once('-')
                    .map(|(_, rev)| rev.to_string())
                    .filter(|rev| !rev.is_empty() && rev.len() <= 3);
                QuoteSummary {
                    id: text_of(r.get("ID")),
                    number,
                    revision,
                    status: text_of(r.get("DocStatus")),
                    modified_at: Some(text_of(r.get("DocDate"))).filter(|d| !d.is_empty()),
                }
            })
            .collect();
        let next = if more {
            quotes.last().map(|q| q.id.clone())
        } else {
            None
        };
        Ok(QuotePage { quotes, next })
    }

    fn get_quote(id: String) -> Result<Document, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        get_quote(&db, &s, parse_id(&id)?)
    }

    /// Writes the order number and the transferred status in one statement. A quote already
    /// carrying a *different* order number is a conflict (a second order for one quote).
    fn mark_transferred(
        id: String,
        order_number: String,
        status: Option<String>,
    ) -> Result<(), Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let id = parse_id(&id)?;
        if order_number.trim().is_empty() {
            return Err(Error::invalid("order-number", "is required"));
        }
        let of = db.q(&s.order_number_field);
        let status = status
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| s.transferred_status.clone());
        let n = db.execute(
            format!(
                "UPDATE {} SET {of} = ?, {} = ? WHERE {} = ? AND ({of} IS NULL OR {of} = '' OR {of} = ?)",
                db.q("DocumentHeaders"),
                db.q("DocStatus"),
                db.q("ID")
            ),
            vec![
                SqlValue::Text(order_number.clone()),
                SqlValue::Text(status),
                SqlValue::Integer(id),
                SqlValue::Text(order_number.clone()),
            ],
        )?;
        if n == 0 {
            let row = header_row(&db, id)?;
            return Err(Error::conflict(format!(
                "QuoteWerks document {id} is already transferred as order {}",
                text_of(row.get(&s.order_number_field))
            )));
        }
        Ok(())
    }

    /// Sets DocStatus; when QuoteWerks' status list for the document's type
    /// (`LookupItems` `TB_DOCSTATUS_<TYPE>`) is filled, the status must be on it.
    fn set_status(id: String, status: String) -> Result<(), Error> {
        let db = Db::open()?;
        let id = parse_id(&id)?;
        let header = header_row(&db, id)?;
        let doc_type = text_of(header.get("DocType")).trim().to_ascii_uppercase();
        let allowed = db.query(
            format!(
                "SELECT {} FROM {} WHERE {} = ?",
                db.q("LookupMemoValue"),
                db.q("LookupItems"),
                db.q("LookupName")
            ),
            vec![SqlValue::Text(format!("TB_DOCSTATUS_{doc_type}"))],
        )?;
        if !allowed.is_empty()
            && !allowed
                .iter()
                .any(|r| text_of(r.get("LookupMemoValue")) == status)
        {
            return Err(Error::invalid(
                "DocStatus",
                format!("'{status}' is not a {doc_type} status in QuoteWerks' LookupItems"),
            ));
        }
        db.execute(
            format!(
                "UPDATE {} SET {} = ? WHERE {} = ?",
                db.q("DocumentHeaders"),
                db.q("DocStatus"),
                db.q("ID")
            ),
            vec![SqlValue::Text(status), SqlValue::Integer(id)],
        )?;
        Ok(())
    }

    /// Upserts by the tenant's product key, writing only columns the product table has. A
    /// product's `UnitOfMeasure` goes to `UnitOfPricing` when the table has no UnitOfMeasure
    /// column (QuoteWerks' product tables seen in the wild don't). Unchanged rows are not written.
    fn upsert_products(products: Vec<Document>) -> Result<UpsertReport, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let table = &s.product_table;
        let columns = db.columns(table)?;
        let key_col = column_in(&columns, &s.product_key, table)?;
        let mut report = UpsertReport {
            inserted: 0,
            updated: 0,
            unchanged: 0,
        };
        let mut statements = Vec::new();
        let mut ignored = BTreeSet::new();
        for chunk in products.chunks(200) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|p| {
                    p.text(&s.product_key)
                        .or_else(|| p.text(&key_col))
                        .or_else(|| p.id.clone())
                        .map(|k| k.trim().to_string())
                        .filter(|k| !k.is_empty())
                        .ok_or_else(|| Error::invalid(&s.product_key, "a product needs its key"))
                })
                .collect::<Result<_, _>>()?;
            let placeholders = vec!["?"; keys.len()].join(", ");
            let existing: BTreeMap<String, Row> = db
                .query(
                    format!(
                        "SELECT * FROM {} WHERE {} IN ({placeholders})",
                        db.q(table),
                        db.q(&key_col)
                    ),
                    keys.iter().map(|k| SqlValue::Text(k.clone())).collect(),
                )?
                .into_iter()
                .map(|r| (text_of(r.get(&key_col)).trim().to_string(), r))
                .collect();
            for (p, key) in chunk.iter().zip(&keys) {
                let mut values: Vec<(String, Value)> = Vec::new();
                for f in &p.fields {
                    let target = columns
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(&f.name))
                        .cloned()
                        .or_else(|| {
                            (f.name == "UnitOfMeasure" && p.get("UnitOfPricing").is_none())
                                .then(|| {
                                    columns
                                        .iter()
                                        .find(|c| c.as_str() == "UnitOfPricing")
                                        .cloned()
                                })
                                .flatten()
                        });
                    match target {
                        Some(c) if c != key_col && !c.eq_ignore_ascii_case("ID") => {
                            values.push((c, f.value.clone()))
                        }
                        Some(_) => {}
                        None => {
                            ignored.insert(f.name.clone());
                        }
                    }
                }
                match existing.get(key) {
                    Some(row) => {
                        let changed: Vec<&(String, Value)> = values
                            .iter()
                            .filter(|(c, v)| !same_value(row.get(c), v))
                            .collect();
                        if changed.is_empty() {
                            report.unchanged += 1;
                            continue;
                        }
                        let sets: Vec<String> = changed
                            .iter()
                            .map(|(c, _)| format!("{} = ?", db.q(c)))
                            .collect();
                        let mut params: Vec<SqlValue> =
                            changed.iter().map(|(_, v)| to_sql(v)).collect();
                        params.push(SqlValue::Text(key.clone()));
                        statements.push(Statement {
                            sql: format!(
                                "UPDATE {} SET {} WHERE {} = ?",
                                db.q(table),
                                sets.join(", "),
                                db.q(&key_col)
                            ),
                            params,
                        });
                        report.updated += 1;
                    }
                    None => {
                        let mut cols = vec![db.q(&key_col)];
                        let mut params = vec![SqlValue::Text(key.clone())];
                        for (c, v) in &values {
                            cols.push(db.q(c));
                            params.push(to_sql(v));
                        }
                        statements.push(Statement {
                            sql: format!(
                                "INSERT INTO {} ({}) VALUES ({})",
                                db.q(table),
                                cols.join(", "),
                                vec!["?"; cols.len()].join(", ")
                            ),
                            params,
                        });
                        report.inserted += 1;
                    }
                }
            }
        }
        if !ignored.is_empty() {
            ferry_pdk::warn!(
                "{table} has no column for {}: not written",
                ignored.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        for batch in statements.chunks(500) {
            sql::transaction(&db.connection, batch)?;
        }
        Ok(report)
    }

    /// Sets `Availability` per product; several warehouses of one product are summed (the
    /// product table has one availability).
    fn set_availability(items: Vec<Availability>) -> Result<u32, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let columns = db.columns(&s.product_table)?;
        let key_col = column_in(&columns, &s.product_key, &s.product_table)?;
        let avail = column_in(&columns, "Availability", &s.product_table)?;
        let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
        for a in &items {
            let q = Decimal::from_str(a.quantity.trim()).map_err(|_| {
                Error::invalid("quantity", format!("'{}' is not a decimal", a.quantity))
            })?;
            *totals.entry(a.product.trim().to_string()).or_default() += q;
        }
        let statements: Vec<Statement> = totals
            .iter()
            .map(|(p, q)| Statement {
                sql: format!(
                    "UPDATE {} SET {} = ? WHERE {} = ?",
                    db.q(&s.product_table),
                    db.q(&avail),
                    db.q(&key_col)
                ),
                params: vec![
                    SqlValue::Decimal(q.normalize().to_string()),
                    SqlValue::Text(p.clone()),
                ],
            })
            .collect();
        let mut updated = 0u64;
        for batch in statements.chunks(500) {
            updated += sql::transaction(&db.connection, batch)?.iter().sum::<u64>();
        }
        Ok(u32::try_from(updated).unwrap_or(u32::MAX))
    }

    fn get_customer(id: String) -> Result<Document, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let rows = if let Some(doc_id) = id.strip_prefix("doc:") {
            vec![header_row(&db, parse_id(doc_id)?)?]
        } else {
            db.query(
                db.select(
                    "*",
                    &format!(
                        "{} WHERE {} = ? ORDER BY {} DESC",
                        db.q("DocumentHeaders"),
                        db.q(&s.customer_key),
                        db.q("ID")
                    ),
                    1,
                ),
                vec![SqlValue::Text(id.clone())],
            )?
        };
        rows.first()
            .map(|r| customer_doc(&s, r))
            .ok_or_else(|| Error::not_found(format!("QuoteWerks customer {id}")))
    }

    /// Matches on the Sold-to of the most recent documents: e-mail (case-insensitive), the ERP
    /// customer number field (external-ref), then name (normalized) and phone (digits).
    fn find_customers(criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let mut conds = Vec::new();
        let mut params = Vec::new();
        if let Some(e) = criteria.email.as_deref().filter(|e| !e.trim().is_empty()) {
            conds.push(format!("LOWER({}) = ?", db.q("SoldToEmail")));
            params.push(SqlValue::Text(e.trim().to_lowercase()));
        }
        if let Some(r) = criteria
            .external_ref
            .as_deref()
            .filter(|r| !r.trim().is_empty())
        {
            let f = s
                .customer_number_field
                .clone()
                .unwrap_or_else(|| s.customer_key.clone());
            conds.push(format!("{} = ?", db.q(&f)));
            params.push(SqlValue::Text(r.trim().to_string()));
        }
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let rows = db.query(
            db.select(
                "*",
                &format!(
                    "{} {filter} ORDER BY {} DESC",
                    db.q("DocumentHeaders"),
                    db.q("ID")
                ),
                2000,
            ),
            params,
        )?;
        let want_name = criteria
            .name
            .as_deref()
            .map(normalize_name)
            .filter(|n| !n.is_empty());
        let want_phone = criteria
            .phone
            .as_deref()
            .map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|p| !p.is_empty());
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for r in &rows {
            if let Some(n) = &want_name
                && normalize_name(&text_of(r.get("SoldToCompany"))) != *n
            {
                continue;
            }
            if let Some(p) = &want_phone
                && text_of(r.get("SoldToPhone"))
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    != *p
            {
                continue;
            }
            let doc = customer_doc(&s, r);
            if seen.insert(doc.id.clone()) {
                out.push(doc);
            }
        }
        Ok(out)
    }

    /// QuoteWerks has no customer table: an upsert updates the Sold-to/Bill-to/Ship-to (and the
    /// ERP customer number field) on the customer's documents that are not transferred yet.
    fn upsert_customer(customer: Document) -> Result<String, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let id = customer
            .id
            .clone()
            .or_else(|| customer.text(&s.customer_key))
            .filter(|i| !i.trim().is_empty() && !i.starts_with("doc:"))
            .ok_or_else(|| Error::invalid(&s.customer_key, "the customer's key is required"))?;
        let columns = db.columns("DocumentHeaders")?;
        let mut sets = Vec::new();
        let mut params = Vec::new();
        for f in &customer.fields {
            let allowed = is_party_column(&f.name)
                || Some(f.name.as_str()) == s.customer_number_field.as_deref();
            if f.name == s.customer_key || !allowed {
                continue;
            }
            if let Some(c) = columns.iter().find(|c| **c == f.name) {
                sets.push(format!("{} = ?", db.q(c)));
                params.push(to_sql(&f.value));
            }
        }
        if sets.is_empty() {
            return Err(Error::invalid(
                "fields",
                "no Sold-to/Bill-to/Ship-to field to write",
            ));
        }
        let of = db.q(&s.order_number_field);
        params.push(SqlValue::Text(id.clone()));
        let n = db.execute(
            format!(
                "UPDATE {} SET {} WHERE {} = ? AND ({of} IS NULL OR {of} = '')",
                db.q("DocumentHeaders"),
                sets.join(", "),
                db.q(&s.customer_key)
            ),
            params,
        )?;
        if n == 0 {
            return Err(Error::not_found(format!(
                "no open QuoteWerks document for customer {id} (QuoteWerks keeps customers on documents only)"
            )));
        }
        Ok(id)
    }

    /// Customers of the documents dated on or after `since`, paged by document ID.
    fn list_customers_changed(since: String, page: PageRequest) -> Result<Page, Error> {
        let s = Settings::load()?;
        let db = Db::open()?;
        let after = match page.cursor.as_deref() {
            Some(c) => parse_id(c)?,
            None => 0,
        };
        let limit = page.limit.clamp(1, 1000);
        let since_date: String = since.chars().take(10).collect();
        let mut rows = db.query(
            db.select(
                "*",
                &format!(
                    "{} WHERE {} >= ? AND {} > ? ORDER BY {}",
                    db.q("DocumentHeaders"),
                    db.q("DocDate"),
                    db.q("ID"),
                    db.q("ID")
                ),
                limit + 1,
            ),
            vec![SqlValue::Text(since_date), SqlValue::Integer(after)],
        )?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|r| text_of(r.get("ID")))
        } else {
            None
        };
        let mut seen = BTreeSet::new();
        let documents = rows
            .iter()
            .map(|r| customer_doc(&s, r))
            .filter(|d| seen.insert(d.id.clone()))
            .collect();
        Ok(Page { documents, next })
    }
}

export!(QuoteWerks);
