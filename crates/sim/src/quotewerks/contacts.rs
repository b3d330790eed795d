//! QuoteWerks' contact manager table (`ContactMgr`; its real fields are UNVERIFIED, reference
//! §2.9), beside the documents' Sold-to/Bill-to/Ship-to snapshots. A document's Sold-to names
//! its contact by `SoldToCMAccountNo` = the contact's `AccountNo`.
//!
//! The columns are configurable (each tenant's QuoteWerks is set up its own way): `AccountNo`
//! and `LastModified` are always there; the rest default to the Sold-to party fields without
//! their prefix (`Company`, `Email`, ...). A contact is added for every document whose Sold-to
//! carries an account number the table lacks, as QuoteWerks' "add to contact manager" would.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params_from_iter};

pub const TABLE: &str = "ContactMgr";
pub const KEY: &str = "AccountNo";
pub const MODIFIED: &str = "LastModified";

/// The default columns besides `ID`.
pub fn default_columns() -> Vec<String> {
    [
        KEY,
        "Company",
        "Contact",
        "Title",
        "Address1",
        "Address2",
        "City",
        "State",
        "PostalCode",
        "Country",
        "Email",
        "Phone",
        "Fax",
        MODIFIED,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `--contact-columns A,B,C`: the given columns, plus `AccountNo` and `LastModified`.
pub fn columns_from(list: Option<&str>) -> Result<Vec<String>, String> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(default_columns());
    };
    let mut cols: Vec<String> = Vec::new();
    for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        if !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(format!("contact column {c:?}: letters, digits or '_' only"));
        }
        if c != "ID" && !cols.iter().any(|k| k == c) {
            cols.push(c.to_string());
        }
    }
    for must in [KEY, MODIFIED] {
        if !cols.iter().any(|k| k == must) {
            cols.push(must.to_string());
        }
    }
    Ok(cols)
}

pub fn create(conn: &Connection, columns: &[String]) -> rusqlite::Result<()> {
    let defs = columns
        .iter()
        .map(|c| format!("[{c}] TEXT NOT NULL DEFAULT ''"))
        .collect::<Vec<_>>()
        .join(",\n  ");
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS [{TABLE}] (\n  [ID] INTEGER PRIMARY KEY AUTOINCREMENT,\n  {defs});\n\
         CREATE UNIQUE INDEX IF NOT EXISTS [{TABLE}_{KEY}] ON [{TABLE}]([{KEY}]);"
    ))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn table_columns(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info([{TABLE}])"))?;
    let cols = st
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(cols)
}

/// Adds a contact for a document's Sold-to (given as header column → value) when its account
/// number is set and the table has no contact with it. No table: nothing.
pub fn ensure_from_header(conn: &Connection, header: &[(String, String)]) -> rusqlite::Result<()> {
    let cols = table_columns(conn)?;
    if cols.is_empty() {
        return Ok(());
    }
    let value = |name: &str| {
        header
            .iter()
            .find(|(c, _)| c == name)
            .map(|(_, v)| v.clone())
    };
    let Some(account) = value("SoldToCMAccountNo").filter(|a| !a.trim().is_empty()) else {
        return Ok(());
    };
    let mut row: Vec<(String, String)> = vec![(KEY.into(), account), (MODIFIED.into(), now())];
    for c in &cols {
        if c == KEY || c == MODIFIED || c == "ID" {
            continue;
        }
        if let Some(v) = value(&format!("SoldTo{c}")) {
            row.push((c.clone(), v));
        }
    }
    let names = row
        .iter()
        .map(|(c, _)| format!("[{c}]"))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = (1..=row.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute(
        &format!("INSERT OR IGNORE INTO [{TABLE}] ({names}) VALUES ({marks})"),
        params_from_iter(row.iter().map(|(_, v)| v.as_str())),
    )?;
    Ok(())
}

/// Adds the contacts of documents already in the database (seeded before the table existed).
pub fn backfill(conn: &Connection) -> rusqlite::Result<usize> {
    let mut st = conn
        .prepare("SELECT * FROM DocumentHeaders WHERE SoldToCMAccountNo <> '' ORDER BY ID DESC")?;
    let names: Vec<String> = st.column_names().map(str::to_string).collect();
    let headers: Vec<Vec<(String, String)>> = st
        .query_map([], |r| {
            let mut row = Vec::new();
            for (i, n) in names.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i)?;
                let text = match v {
                    rusqlite::types::Value::Text(s) => s,
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Real(f) => f.to_string(),
                    _ => String::new(),
                };
                row.push((n.clone(), text));
            }
            Ok(row)
        })?
        .collect::<Result<_, _>>()?;
    let before = count(conn)?;
    for h in &headers {
        ensure_from_header(conn, h)?;
    }
    Ok(count(conn)? - before)
}

fn count(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row(&format!("SELECT COUNT(*) FROM [{TABLE}]"), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| usize::try_from(n).unwrap_or(0))
}

/// Every contact, by `ID`, as column → text.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<BTreeMap<String, String>>> {
    let mut st = conn.prepare(&format!("SELECT * FROM [{TABLE}] ORDER BY ID"))?;
    let names: Vec<String> = st.column_names().map(str::to_string).collect();
    let rows = st
        .query_map([], |r| {
            let mut m = BTreeMap::new();
            for (i, n) in names.iter().enumerate() {
                let v: rusqlite::types::Value = r.get(i)?;
                let text = match v {
                    rusqlite::types::Value::Text(s) => s,
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    _ => String::new(),
                };
                m.insert(n.clone(), text);
            }
            Ok(m)
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The contact with `account`, if any.
pub fn get(conn: &Connection, account: &str) -> rusqlite::Result<Option<BTreeMap<String, String>>> {
    Ok(list(conn)?
        .into_iter()
        .find(|c| c.get(KEY).map(String::as_str) == Some(account)))
}

/// A rep's edit in the contact manager: one column, stamped now. False: no such contact.
pub fn edit(conn: &Connection, account: &str, column: &str, value: &str) -> rusqlite::Result<bool> {
    if !table_columns(conn)?.iter().any(|c| c == column) {
        return Err(rusqlite::Error::InvalidColumnName(column.to_string()));
    }
    let n = conn.execute(
        &format!("UPDATE [{TABLE}] SET [{column}] = ?1, [{MODIFIED}] = ?2 WHERE [{KEY}] = ?3"),
        rusqlite::params![value, now(), account],
    )?;
    Ok(n > 0)
}

/// Whether the contact exists (used by tests).
pub fn exists(conn: &Connection, account: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!("SELECT 1 FROM [{TABLE}] WHERE [{KEY}] = ?1"),
        [account],
        |_| Ok(()),
    )
    .optional()
    .map(|o| o.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_sold_to_adds_its_contact_once_in_the_tenants_columns() {
        let conn = Connection::open_in_memory().expect("db");
        let cols = columns_from(Some("Company,Email,Phone")).expect("columns");
        assert_eq!(cols, ["Company", "Email", "Phone", KEY, MODIFIED]);
        create(&conn, &cols).expect("table");
        let header = |company: &str| {
            vec![
                ("SoldToCMAccountNo".to_string(), "CM00001".to_string()),
                ("SoldToCompany".to_string(), company.to_string()),
                ("SoldToEmail".to_string(), "a@acme.test".to_string()),
                ("SoldToCity".to_string(), "Leeds".to_string()),
            ]
        };
        ensure_from_header(&conn, &header("Acme Ltd")).expect("insert");
        ensure_from_header(&conn, &header("Acme Renamed")).expect("again");
        let all = list(&conn).expect("list");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["Company"], "Acme Ltd");
        assert_eq!(all[0]["Email"], "a@acme.test");
        assert!(!all[0].contains_key("City"));
        assert!(edit(&conn, "CM00001", "Phone", "0113").expect("edit"));
        assert_eq!(
            get(&conn, "CM00001").expect("get").expect("one")["Phone"],
            "0113"
        );
        assert!(columns_from(Some("Company;DROP")).is_err());
    }
}
