//! The documents' tables: a priced document inserted in one transaction (DocNo from the
//! series), read back as stored, listed, found by DocNo, its status changed.

use super::pricing::{allowed_custom, price_document};
use super::*;
use std::collections::HashMap;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::quotewerks::schema;

pub(super) fn next_series(conn: &Connection, key: &str, first: u64) -> rusqlite::Result<u64> {
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

pub(super) fn insert_row(
    conn: &Connection,
    table: &str,
    row: &[(String, String)],
) -> rusqlite::Result<i64> {
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
        if allowed_custom(k, &header_cols) || schema::SETTABLE_HEADER.contains(&k.as_str()) {
            row.retain(|(c, _)| c != k);
            row.push((k.clone(), v.clone()));
        }
    }
    let id = insert_row(&tx, "DocumentHeaders", &row)?;
    crate::quotewerks::contacts::ensure_from_header(&tx, &row)?;
    for p in priced {
        let mut r = vec![("DocID".to_string(), id.to_string())];
        r.extend(p.row);
        insert_row(&tx, "DocumentItems", &r)?;
    }
    tx.commit()?;
    Ok(DocRef { id, doc_no })
}

pub(super) fn row_to_map(
    row: &rusqlite::Row<'_>,
    names: &[String],
) -> rusqlite::Result<Map<String, Value>> {
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

pub(super) fn query_maps(
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
