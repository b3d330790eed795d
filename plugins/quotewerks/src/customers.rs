//! Customers as QuoteWerks knows them: a contact in its contact manager (when the tenant has
//! that table, `contact_table`) and the Sold-to, Bill-to and Ship-to on its documents (there is
//! no customer master), found, read, written and listed by change. An upsert writes the
//! contact and the Sold-to of the customer's documents not transferred yet.

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
    let contact = if id.starts_with("doc:") {
        None
    } else if let Some(c) = contacts(&db)? {
        contact_get(&db, &c, &id)?
    } else {
        None
    };
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
    let latest = rows.first().map(|r| customer_doc(&s, r));
    match (contact, latest) {
        // The contact holds the Sold-to; Bill-to and Ship-to live only on documents, so a
        // contact alone would lose them.
        (Some(mut contact), Some(doc)) => {
            for f in doc.fields {
                if !contact.fields.iter().any(|c| c.name == f.name) {
                    contact.fields.push(f);
                }
            }
            Ok(contact)
        }
        (Some(contact), None) => Ok(contact),
        (None, Some(doc)) => Ok(doc),
        (None, None) => Err(Error::not_found(format!("QuoteWerks customer {id}"))),
    }
}

/// Matches on the Sold-to of the most recent documents: e-mail (case-insensitive), the ERP
/// customer number field (external-ref), then name (normalized) and phone (digits).
pub(crate) fn find_customers(criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
    let s = Settings::load()?;
    let db = Db::open()?;
    if let Some(c) = contacts(&db)? {
        let found = contact_find(&db, &c, &criteria)?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
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
    // The contact first (inserted when new); then the open documents' Sold-to snapshots.
    let contact = contacts(&db)?;
    if let Some(c) = &contact {
        contact_upsert(&db, c, &id, &customer)?;
    }
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
    if sets.is_empty() && contact.is_some() {
        return Ok(id);
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
    if n == 0 && contact.is_none() {
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
    if let Some(c) = contacts(&db)? {
        return contact_changed(&db, &c, &since, &page);
    }
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

// ---- the contact manager ----

/// The contact manager table as the tenant set it up: its name, key (the account number a
/// document's `SoldToCMAccountNo` carries), modification-time column, and which column holds
/// each Sold-to field (`contact_fields = "SoldToCompany=CompanyName,SoldToEmail=EmailAddr"`;
/// by default the Sold-to field's name without `SoldTo`, where the table has it).
pub(crate) struct Contacts {
    table: String,
    key: String,
    modified: Option<String>,
    map: Vec<(String, String)>,
}

/// The tenant's contact table, or none when it has none (setting `contact_table = "none"`, or
/// no such table): customers are then read from the documents alone.
pub(crate) fn contacts(db: &Db) -> Result<Option<Contacts>, Error> {
    let name = setting("contact_table", "ContactMgr");
    if name.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let table = ident("contact_table", &name)?;
    let Ok(columns) = db.columns(&table) else {
        return Ok(None);
    };
    let key = ident("contact_key", &setting("contact_key", "AccountNo"))?;
    if !columns.contains(&key) {
        return Err(Error::fatal(format!(
            "contact table {table} has no key column {key} (setting contact_key)"
        )));
    }
    let modified = Some(ident(
        "contact_modified",
        &setting("contact_modified", "LastModified"),
    )?)
    .filter(|m| columns.contains(m));
    let mut map: Vec<(String, String)> = PARTY_FIELDS
        .iter()
        .filter(|f| **f != "CMAccountNo" && columns.iter().any(|c| c == *f))
        .map(|f| (format!("SoldTo{f}"), f.to_string()))
        .collect();
    for pair in setting("contact_fields", "").split(',') {
        let Some((field, column)) = pair.split_once('=') else {
            continue;
        };
        let (field, column) = (field.trim(), ident("contact_fields", column.trim())?);
        if !columns.contains(&column) {
            return Err(Error::fatal(format!(
                "contact_fields: {table} has no column {column}"
            )));
        }
        map.retain(|(f, _)| f != field);
        map.push((field.to_string(), column));
    }
    Ok(Some(Contacts {
        table,
        key,
        modified,
        map,
    }))
}

/// A contact as a customer: its Sold-to fields, `SoldToCMAccountNo` (its key) and
/// `LastModified`.
fn contact_doc(c: &Contacts, row: &Row) -> Document {
    let id = text_of(row.get(&c.key)).trim().to_string();
    let mut fields: Vec<Field> = c
        .map
        .iter()
        .map(|(field, column)| Field {
            name: field.clone(),
            value: Value::Text(text_of(row.get(column))),
        })
        .collect();
    fields.push(Field {
        name: "SoldToCMAccountNo".into(),
        value: Value::Text(id.clone()),
    });
    if let Some(m) = &c.modified {
        fields.push(Field {
            name: "LastModified".into(),
            value: Value::Text(text_of(row.get(m))),
        });
    }
    Document {
        kind: "customer".into(),
        id: Some(id),
        fields,
        lines: Vec::new(),
    }
}

fn contact_row(db: &Db, c: &Contacts, id: &str) -> Result<Option<Row>, Error> {
    let rows = db.query(
        db.select(
            "*",
            &format!("{} WHERE {} = ?", db.q(&c.table), db.q(&c.key)),
            1,
        ),
        vec![SqlValue::Text(id.to_string())],
    )?;
    Ok(rows.into_iter().next())
}

/// The database's "now" in UTC as RFC 3339 (a component has no clock of its own).
fn now_sql(db: &Db) -> &'static str {
    match db.dialect {
        ferry_pdk::sql::Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        ferry_pdk::sql::Dialect::SqlServer => "FORMAT(SYSUTCDATETIME(), 'yyyy-MM-ddTHH:mm:ssZ')",
        ferry_pdk::sql::Dialect::Postgres => {
            "to_char(now() at time zone 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        }
    }
}

fn contact_get(db: &Db, c: &Contacts, id: &str) -> Result<Option<Document>, Error> {
    Ok(contact_row(db, c, id)?.map(|r| contact_doc(c, &r)))
}

fn contact_find(db: &Db, c: &Contacts, criteria: &MatchCriteria) -> Result<Vec<Document>, Error> {
    let rows = db.query(
        db.select(
            "*",
            &format!("{} ORDER BY {}", db.q(&c.table), db.q("ID")),
            5000,
        ),
        vec![],
    )?;
    let want = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (email, name, phone, xref) = (
        want(&criteria.email).map(|e| e.to_lowercase()),
        want(&criteria.name).map(|n| normalize_name(&n)),
        want(&criteria.phone).map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>()),
        want(&criteria.external_ref),
    );
    let digits = |s: String| s.chars().filter(char::is_ascii_digit).collect::<String>();
    Ok(rows
        .iter()
        .map(|r| contact_doc(c, r))
        .filter(|d| {
            let f = |n: &str| d.text(n).unwrap_or_default().trim().to_string();
            email
                .as_ref()
                .is_none_or(|e| f("SoldToEmail").to_lowercase() == *e)
                && name
                    .as_ref()
                    .is_none_or(|n| normalize_name(&f("SoldToCompany")) == *n)
                && phone
                    .as_ref()
                    .is_none_or(|p| digits(f("SoldToPhone")) == *p)
                && xref
                    .as_ref()
                    .is_none_or(|x| d.id.as_deref() == Some(x.as_str()))
        })
        .collect())
}

/// Writes the contact (inserted when new), stamped now. Returns whether it existed.
fn contact_upsert(db: &Db, c: &Contacts, id: &str, customer: &Document) -> Result<bool, Error> {
    let mut sets = Vec::new();
    let mut params = Vec::new();
    for f in &customer.fields {
        if let Some((_, column)) = c.map.iter().find(|(field, _)| *field == f.name) {
            sets.push((column.clone(), to_sql(&f.value)));
        }
    }
    let existed = contact_row(db, c, id)?.is_some();
    let stamp = c.modified.as_ref().map(|m| (m, now_sql(db)));
    if existed {
        if sets.is_empty() {
            return Ok(true);
        }
        let mut assignments: Vec<String> = sets
            .iter()
            .map(|(col, _)| format!("{} = ?", db.q(col)))
            .collect();
        if let Some((m, now)) = stamp {
            assignments.push(format!("{} = {now}", db.q(m)));
        }
        params.extend(sets.into_iter().map(|(_, v)| v));
        params.push(SqlValue::Text(id.to_string()));
        db.execute(
            format!(
                "UPDATE {} SET {} WHERE {} = ?",
                db.q(&c.table),
                assignments.join(", "),
                db.q(&c.key)
            ),
            params,
        )?;
    } else {
        let mut columns = vec![db.q(&c.key)];
        let mut values = vec!["?".to_string()];
        params.push(SqlValue::Text(id.to_string()));
        for (col, v) in sets {
            columns.push(db.q(&col));
            values.push("?".into());
            params.push(v);
        }
        if let Some((m, now)) = stamp {
            columns.push(db.q(m));
            values.push(now.to_string());
        }
        db.execute(
            format!(
                "INSERT INTO {} ({}) VALUES ({})",
                db.q(&c.table),
                columns.join(", "),
                values.join(", ")
            ),
            params,
        )?;
    }
    Ok(existed)
}

/// Contacts modified on or after `since` (all of them when the table has no such column),
/// paged by `ID`.
fn contact_changed(db: &Db, c: &Contacts, since: &str, page: &PageRequest) -> Result<Page, Error> {
    let after = match page.cursor.as_deref() {
        Some(cur) => parse_id(cur)?,
        None => 0,
    };
    let limit = page.limit.clamp(1, 1000);
    let mut params = Vec::new();
    let mut filter = String::new();
    if let Some(m) = &c.modified {
        filter = format!("{} >= ? AND ", db.q(m));
        params.push(SqlValue::Text(since.to_string()));
    }
    params.push(SqlValue::Integer(after));
    let mut rows = db.query(
        db.select(
            "*",
            &format!(
                "{} WHERE {filter}{} > ? ORDER BY {}",
                db.q(&c.table),
                db.q("ID"),
                db.q("ID")
            ),
            limit + 1,
        ),
        params,
    )?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| text_of(r.get("ID")))
    } else {
        None
    };
    Ok(Page {
        documents: rows.iter().map(|r| contact_doc(c, r)).collect(),
        next,
    })
}
