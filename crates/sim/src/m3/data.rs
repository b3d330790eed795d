//! The M3 simulator's state: one SQLite file under `--state`, so a restart (or a SIGKILL in a
//! crash test) loses no committed order. Tables loosely follow M3's own (MITMAS items, MITBAL
//! balances, OCUSMA customers, OXHEAD/OXLINE batch orders, OOHEAD/OOLINE orders).

use std::path::Path;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::seed;

pub const DB_FILE: &str = "m3.sqlite";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warehouses (whlo TEXT PRIMARY KEY, whnm TEXT NOT NULL, faci TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
  itno TEXT PRIMARY KEY, itds TEXT NOT NULL, fuds TEXT NOT NULL, stat TEXT NOT NULL,
  unms TEXT NOT NULL, itgr TEXT NOT NULL, itcl TEXT NOT NULL, itty TEXT NOT NULL,
  resp TEXT NOT NULL, sapr TEXT NOT NULL, pupr TEXT NOT NULL, cucd TEXT NOT NULL,
  lmdt TEXT NOT NULL, rgdt TEXT NOT NULL, chno INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS items_lmdt ON items(lmdt, itno);
CREATE TABLE IF NOT EXISTS balances (
  itno TEXT NOT NULL, whlo TEXT NOT NULL, stqt TEXT NOT NULL, alqt TEXT NOT NULL,
  lmdt TEXT NOT NULL DEFAULT '20260101', lmts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (itno, whlo));
-- MITBAL's own key is warehouse, then item: a warehouse's balances are read in that order.
CREATE INDEX IF NOT EXISTS balances_whlo ON balances(whlo, itno);
CREATE TABLE IF NOT EXISTS customers (
  cuno TEXT PRIMARY KEY, cunm TEXT NOT NULL, cua1 TEXT NOT NULL, cua2 TEXT NOT NULL,
  cua3 TEXT NOT NULL, cua4 TEXT NOT NULL, pono TEXT NOT NULL, town TEXT NOT NULL,
  ecar TEXT NOT NULL, cscd TEXT NOT NULL, phno TEXT NOT NULL, mail TEXT NOT NULL,
  yref TEXT NOT NULL, stat TEXT NOT NULL, cutp TEXT NOT NULL, cucd TEXT NOT NULL,
  lncd TEXT NOT NULL, whlo TEXT NOT NULL, ortp TEXT NOT NULL, tepy TEXT NOT NULL,
  modl TEXT NOT NULL, tedl TEXT NOT NULL, smcd TEXT NOT NULL, cucl TEXT NOT NULL,
  dipc TEXT NOT NULL, is_template INTEGER NOT NULL DEFAULT 0, lmdt TEXT NOT NULL,
  rgdt TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS customers_name ON customers(cunm, cuno);
CREATE TABLE IF NOT EXISTS batch_heads (
  orno TEXT PRIMARY KEY, cuno TEXT NOT NULL, cuor TEXT NOT NULL, ortp TEXT NOT NULL,
  faci TEXT NOT NULL, whlo TEXT NOT NULL, cucd TEXT NOT NULL, ordt TEXT NOT NULL,
  rldt TEXT NOT NULL, yref TEXT NOT NULL, oref TEXT NOT NULL, ofno TEXT NOT NULL,
  smcd TEXT NOT NULL, state TEXT NOT NULL, final_orno TEXT);
CREATE TABLE IF NOT EXISTS batch_lines (
  orno TEXT NOT NULL, ponr INTEGER NOT NULL, itno TEXT NOT NULL, itds TEXT NOT NULL,
  orqt TEXT NOT NULL, whlo TEXT NOT NULL, sapr TEXT, dip1 TEXT NOT NULL, dwdt TEXT NOT NULL,
  cupo TEXT NOT NULL, PRIMARY KEY (orno, ponr));
CREATE TABLE IF NOT EXISTS batch_errors (
  id INTEGER PRIMARY KEY AUTOINCREMENT, orno TEXT NOT NULL, levl TEXT NOT NULL,
  msid TEXT NOT NULL, mdta TEXT NOT NULL, tx60 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  orno TEXT PRIMARY KEY, batch_orno TEXT NOT NULL, cuno TEXT NOT NULL, cuor TEXT NOT NULL,
  ortp TEXT NOT NULL, faci TEXT NOT NULL, whlo TEXT NOT NULL, cucd TEXT NOT NULL,
  ordt TEXT NOT NULL, rldt TEXT NOT NULL, yref TEXT NOT NULL, oref TEXT NOT NULL,
  ofno TEXT NOT NULL, smcd TEXT NOT NULL, stat TEXT NOT NULL, ntam TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_cuno ON orders(cuno, orno);
CREATE TABLE IF NOT EXISTS order_lines (
  orno TEXT NOT NULL, ponr INTEGER NOT NULL, posx INTEGER NOT NULL DEFAULT 0,
  itno TEXT NOT NULL, itds TEXT NOT NULL, orqt TEXT NOT NULL, alqt TEXT NOT NULL,
  whlo TEXT NOT NULL, sapr TEXT NOT NULL, dip1 TEXT NOT NULL, nepr TEXT NOT NULL,
  nlam TEXT NOT NULL, orst TEXT NOT NULL, dwdt TEXT NOT NULL, cupo TEXT NOT NULL,
  PRIMARY KEY (orno, ponr, posx));
-- Order depth (transactions/ois100_depth.rs): texts, charges and addresses of batch orders,
-- copied to the customer order by Confirm (OSYTXH/OOCHRG/OOADRE loosely). type 1 = head
-- (ponr 0), 2 = line; tytr 1 = pre, 2 = post.
CREATE TABLE IF NOT EXISTS batch_texts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, orno TEXT NOT NULL, type INTEGER NOT NULL,
  ponr INTEGER NOT NULL, tytr INTEGER NOT NULL, txhe TEXT NOT NULL, parm TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batch_charges (
  orno TEXT NOT NULL, crid TEXT NOT NULL, cram TEXT NOT NULL, crd0 TEXT NOT NULL,
  PRIMARY KEY (orno, crid));
CREATE TABLE IF NOT EXISTS batch_addresses (
  orno TEXT NOT NULL, adrt INTEGER NOT NULL, cunm TEXT NOT NULL, cua1 TEXT NOT NULL,
  cua2 TEXT NOT NULL, cua3 TEXT NOT NULL, cua4 TEXT NOT NULL, pono TEXT NOT NULL,
  town TEXT NOT NULL, ecar TEXT NOT NULL, cscd TEXT NOT NULL, phno TEXT NOT NULL,
  yref TEXT NOT NULL, PRIMARY KEY (orno, adrt));
-- Credit limit 3 and outstanding invoices per customer (CRS610 financial data); none = no limit.
CREATE TABLE IF NOT EXISTS credit (cuno TEXT PRIMARY KEY, crl3 TEXT NOT NULL, toin TEXT NOT NULL);
-- Customer invoices (OIS350), one per order invoiced (status 77).
CREATE TABLE IF NOT EXISTS invoices (
  ivno INTEGER PRIMARY KEY, yea4 TEXT NOT NULL, orno TEXT NOT NULL, cuno TEXT NOT NULL,
  idat TEXT NOT NULL, dudt TEXT NOT NULL, ivav TEXT NOT NULL, cucd TEXT NOT NULL);
-- The CO charge master (OIS030) and the currencies with an exchange rate (CRS055).
CREATE TABLE IF NOT EXISTS charge_types (crid TEXT PRIMARY KEY, crd0 TEXT NOT NULL);
INSERT OR IGNORE INTO charge_types VALUES ('FRT', 'Freight'), ('HND', 'Handling'), ('INS', 'Insurance'), ('SUR', 'Surcharge');
CREATE TABLE IF NOT EXISTS currencies (cucd TEXT PRIMARY KEY, arat TEXT NOT NULL);
INSERT OR IGNORE INTO currencies VALUES ('USD', '1'), ('EUR', '1.08'), ('GBP', '1.27'), ('CAD', '0.73'), ('SEK', '0.095');
CREATE TABLE IF NOT EXISTS oauth_tokens (
  token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, expires_at_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS bod_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, document_name TEXT NOT NULL, message_id TEXT NOT NULL,
  xml TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT);
"#;

/// MITBAL's change stamp LMTS (milliseconds since 1970 UTC; the format is UNVERIFIED, as the
/// M3 connector's `change_stamp_from` says) moves with every write of a balance, whichever
/// transaction or control call makes it; a new balance gets the time it was made, a seeded one
/// the start of its change date. OIS100MI/LstNewBalances lists by it.
const BALANCE_STAMPS: &str = "
CREATE INDEX IF NOT EXISTS balances_lmts ON balances(lmts, whlo, itno);
CREATE TRIGGER IF NOT EXISTS balances_stamp_new AFTER INSERT ON balances WHEN NEW.lmts = 0
BEGIN
  UPDATE balances SET lmts = CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)
  WHERE itno = NEW.itno AND whlo = NEW.whlo;
END;
CREATE TRIGGER IF NOT EXISTS balances_stamp_changed AFTER UPDATE OF stqt, alqt ON balances
BEGIN
  UPDATE balances SET lmts = CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)
  WHERE itno = NEW.itno AND whlo = NEW.whlo;
END;
";

/// Open (creating if needed) the simulator database with durable settings.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
    )?;
    conn.execute_batch(SCHEMA)?;
    // A state directory from before balances had their own change date: they keep the seed's.
    let dated: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('balances') WHERE name = 'lmdt'",
        [],
        |r| r.get(0),
    )?;
    if !dated {
        conn.execute_batch(
            "ALTER TABLE balances ADD COLUMN lmdt TEXT NOT NULL DEFAULT '20260101'",
        )?;
    }
    // ... and before they had their change stamp: the start of their change date.
    let stamped: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('balances') WHERE name = 'lmts'",
        [],
        |r| r.get(0),
    )?;
    if !stamped {
        conn.execute_batch(
            "ALTER TABLE balances ADD COLUMN lmts INTEGER NOT NULL DEFAULT 0;
             UPDATE balances SET lmts = CAST(ROUND((julianday(substr(lmdt, 1, 4) || '-' ||
               substr(lmdt, 5, 2) || '-' || substr(lmdt, 7, 2)) - 2440587.5) * 86400000) AS INTEGER);",
        )?;
    }
    conn.execute_batch(BALANCE_STAMPS)?;
    Ok(conn)
}

pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Next number of a number series (M3's CRS165 series), persisted so numbers never repeat.
pub fn next_number(conn: &Connection, series: &str, first: u64) -> rusqlite::Result<u64> {
    let key = format!("series.{series}");
    let next = match meta_get(conn, &key)? {
        Some(v) => v.parse::<u64>().unwrap_or(first),
        None => first,
    };
    meta_set(conn, &key, &(next + 1).to_string())?;
    Ok(next)
}

pub fn today() -> String {
    chrono::Local::now().format("%Y%m%d").to_string()
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Seed the database once; a restart over an existing state directory keeps what is there.
pub fn seed_if_empty(
    conn: &mut Connection,
    seed: u64,
    items: usize,
    customers: usize,
) -> anyhow::Result<bool> {
    if meta_get(conn, "seeded")?.is_some() {
        return Ok(false);
    }
    let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).context("base date")?;
    let tx = conn.transaction()?;
    for (whlo, whnm, faci) in seed::WAREHOUSES {
        tx.execute(
            "INSERT OR REPLACE INTO warehouses VALUES (?1, ?2, ?3)",
            params![whlo, whnm, faci],
        )?;
    }
    {
        let mut ins_item = tx.prepare(
            "INSERT INTO items (itno, itds, fuds, stat, unms, itgr, itcl, itty, resp, sapr, pupr, cucd, lmdt, rgdt, chno)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'USD', ?12, ?13, 1)",
        )?;
        let mut ins_bal = tx.prepare(
            "INSERT INTO balances (itno, whlo, stqt, alqt, lmdt, lmts) VALUES (?1, ?2, ?3, '0', ?4, ?5)",
        )?;
        for i in 0..items {
            let it = seed::item(seed, i);
            let changed = base - chrono::Duration::days(i64::from(it.changed_days_ago));
            let lmdt = changed.format("%Y%m%d").to_string();
            let lmts = changed
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis();
            let rgdt = (base - chrono::Duration::days(400 + (i % 300) as i64))
                .format("%Y%m%d")
                .to_string();
            ins_item.execute(params![
                it.itno,
                it.name,
                it.description,
                it.stat,
                it.unit,
                it.item_group,
                it.product_group,
                it.item_type,
                "PRODMGR",
                it.sales_price.to_string(),
                it.cost_price.to_string(),
                lmdt,
                rgdt
            ])?;
            for (w, qty) in seed::WAREHOUSES.iter().zip(&it.stock) {
                ins_bal.execute(params![it.itno, w.0, qty.to_string(), lmdt, lmts])?;
            }
        }
        let mut ins_cus = tx.prepare(
            "INSERT INTO customers (cuno, cunm, cua1, cua2, cua3, cua4, pono, town, ecar, cscd, phno, mail, yref,
               stat, cutp, cucd, lncd, whlo, ortp, tepy, modl, tedl, smcd, cucl, dipc, is_template, lmdt, rgdt)
             VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '0', 'USD', 'GB', ?14, 'CO1',
               'N30', 'UPS', 'FCA', 'SMITHJ', ?15, ?16, ?17, ?18, ?19)",
        )?;
        for (cuno, cunm, stat, cucl) in [
            ("TMPLDOM", "Template domestic customer", "20", "DOM"),
            ("TMPLEXP", "Template export customer", "20", "EXP"),
        ] {
            ins_cus.execute(params![
                cuno, cunm, "", "", "", "", "", "", "US", "", "", "", stat, "100", cucl, "0", 1,
                "20250101", "20250101"
            ])?;
        }
        for i in 0..customers {
            let c = seed::customer(seed, i);
            let cua3 = format!("{}, {} {}", c.town, c.state, c.postal_code);
            ins_cus.execute(params![
                c.cuno,
                c.name,
                c.address1,
                c.address2,
                cua3,
                c.postal_code,
                c.town,
                c.state,
                c.country,
                c.phone,
                c.email,
                c.contact_name(),
                c.stat,
                c.warehouse,
                "DOM",
                c.discount_percent.to_string(),
                0,
                "20251201",
                "20240115"
            ])?;
        }
    }
    meta_set(
        &tx,
        "seeded",
        &format!("seed={seed};items={items};customers={customers}"),
    )?;
    tx.commit()?;
    Ok(true)
}

pub fn dec(s: &str) -> Decimal {
    s.trim().parse().unwrap_or(Decimal::ZERO)
}

/// An order as crash tests and `ferry sandbox` see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrderRecord {
    pub orno: String,
    pub batch_orno: String,
    pub cuno: String,
    pub cuor: String,
    /// The customer's reference on the head.
    pub yref: String,
    pub stat: String,
    pub ntam: String,
    pub lines: Vec<OrderLineRecord>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrderLineRecord {
    pub ponr: i64,
    pub itno: String,
    pub orqt: String,
    pub alqt: String,
    pub sapr: String,
    pub orst: String,
}

pub fn read_orders(conn: &Connection) -> rusqlite::Result<Vec<OrderRecord>> {
    let mut st = conn.prepare(
        "SELECT orno, batch_orno, cuno, cuor, stat, ntam, yref FROM orders ORDER BY orno",
    )?;
    let mut orders: Vec<OrderRecord> = st
        .query_map([], |r| {
            Ok(OrderRecord {
                orno: r.get(0)?,
                batch_orno: r.get(1)?,
                cuno: r.get(2)?,
                cuor: r.get(3)?,
                stat: r.get(4)?,
                ntam: r.get(5)?,
                yref: r.get(6)?,
                lines: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut lst =
        conn.prepare("SELECT ponr, itno, orqt, alqt, sapr, orst FROM order_lines WHERE orno = ?1 ORDER BY ponr, posx")?;
    for o in &mut orders {
        o.lines = lst
            .query_map([&o.orno], |r| {
                Ok(OrderLineRecord {
                    ponr: r.get(0)?,
                    itno: r.get(1)?,
                    orqt: r.get(2)?,
                    alqt: r.get(3)?,
                    sapr: r.get(4)?,
                    orst: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(orders)
}

/// Read the orders straight from a state directory, even while (or after) the simulator process
/// is running or killed: crash tests use this to count effects in M3.
pub fn read_orders_from_state_dir(state_dir: &Path) -> anyhow::Result<Vec<OrderRecord>> {
    let conn = Connection::open_with_flags(
        state_dir.join(DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(read_orders(&conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_state_database_gets_balance_stamps_and_a_write_moves_them() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(DB_FILE);
        {
            // Before balances had change stamps (or change dates).
            let old = Connection::open(&path).expect("open");
            old.execute_batch(
                "CREATE TABLE balances (itno TEXT NOT NULL, whlo TEXT NOT NULL, stqt TEXT NOT NULL,
                   alqt TEXT NOT NULL, PRIMARY KEY (itno, whlo));
                 INSERT INTO balances VALUES ('A1', '100', '5', '0');",
            )
            .expect("old schema");
        }
        let conn = open(&path).expect("migrated");
        let stamp = |c: &Connection| -> i64 {
            c.query_row("SELECT lmts FROM balances WHERE itno = 'A1'", [], |r| {
                r.get(0)
            })
            .expect("lmts")
        };
        // The seed's change date, 2026-01-01, at midnight UTC.
        assert_eq!(stamp(&conn), 1_767_225_600_000);
        let before = chrono::Utc::now().timestamp_millis();
        conn.execute("UPDATE balances SET stqt = '6' WHERE itno = 'A1'", [])
            .expect("write");
        let after = chrono::Utc::now().timestamp_millis();
        assert!(
            (before - 1..=after + 1).contains(&stamp(&conn)),
            "{}",
            stamp(&conn)
        );
        conn.execute(
            "INSERT INTO balances (itno, whlo, stqt, alqt) VALUES ('B2', '100', '1', '0')",
            [],
        )
        .expect("new balance");
        let new: i64 = conn
            .query_row("SELECT lmts FROM balances WHERE itno = 'B2'", [], |r| {
                r.get(0)
            })
            .expect("lmts");
        assert!(new >= before - 1, "{new}");
    }
}
