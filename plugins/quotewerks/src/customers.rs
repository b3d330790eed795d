//! Customers as QuoteWerks knows them: the Sold-to, Bill-to and Ship-to on its documents
//! (there is no customer master), found, read, written and listed by change.

use std::collections::BTreeSet;

use ferry_pdk::sql::SqlValue;
use ferry_pdk::{Document, Error, Field, FieldsExt, MatchCriteria, Page, PageRequest, Value};

use ferry_pdk::normalize_company_name as normalize_name;

use crate::db::*;
use crate::settings::*;

pub(crate) const PARTY_FIELDS: &[&str] = &[
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

pub(crate) fn is_party_column(name: &str) -> bool {
    ["SoldTo", "ShipTo", "BillTo"].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| PARTY_FIELDS.contains(&rest))
    }) || name == "SoldToPONumber"
}

/// A customer as QuoteWerks knows one: the Sold-to, Bill-to and Ship-to of a document (the
/// latest one that names it). There is no customer master in QuoteWerks' database.
pub(crate) fn customer_doc(s: &Settings, row: &Row) -> Document {
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

pub(crate) fn get_customer(id: String) -> Result<Document, Error> {
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
pub(crate) fn find_customers(criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
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
pub(crate) fn upsert_customer(customer: Document) -> Result<String, Error> {
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
        let allowed =
            is_party_column(&f.name) || Some(f.name.as_str()) == s.customer_number_field.as_deref();
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
pub(crate) fn list_customers_changed(since: String, page: PageRequest) -> Result<Page, Error> {
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
