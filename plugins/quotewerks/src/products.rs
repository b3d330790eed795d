//! The product database: M3 items upserted as products (skipping unchanged ones) and stock
//! written as availability.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use crate::exports::ferry::quoting::quoting::{Availability, UpsertReport};
use ferry_pdk::sql::{self, SqlValue, Statement};
use ferry_pdk::{Decimal, Document, Error, FieldsExt, Value};

use crate::db::*;
use crate::settings::*;

/// Upserts by the tenant's product key, writing only columns the product table has. A
/// product's `UnitOfMeasure` goes to `UnitOfPricing` when the table has no UnitOfMeasure
/// column (QuoteWerks' product tables seen in the wild don't). Unchanged rows are not written.
pub(crate) fn upsert_products(products: Vec<Document>) -> Result<UpsertReport, Error> {
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
        sql::transaction(&db.connection, batch).map_err(crate::db::reported)?;
    }
    Ok(report)
}

/// Sets `Availability` per product; several warehouses of one product are summed (the
/// product table has one availability).
pub(crate) fn set_availability(items: Vec<Availability>) -> Result<u32, Error> {
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
        updated += sql::transaction(&db.connection, batch)
            .map_err(crate::db::reported)?
            .iter()
            .sum::<u64>();
    }
    Ok(u32::try_from(updated).unwrap_or(u32::MAX))
}
