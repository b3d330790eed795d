//! QuoteWerks' tables, with the column names seen in real integrations (reference/quotewerks.md
//! §2). QuoteWerks runs on SQL Server (or Access); this is the same shape in SQLite.
//!
//! Money and quantity columns are TEXT holding canonical decimal strings: SQL Server has
//! money/decimal types, SQLite only has REAL, and a float would corrupt prices.

use rusqlite::Connection;

/// Column names of DocumentHeaders besides `ID` (all TEXT unless listed in [`HEADER_INTEGERS`]).
pub fn header_columns() -> Vec<String> {
    let mut cols: Vec<String> = [
        "DocNo",
        "DocName",
        "DocType",
        "DocStatus",
        // Stored as text (yyyy-MM-dd): some back-ends keep DocDate as text (reference §1.3).
        "DocDate",
        // Project number links quote, order and invoice; column name UNVERIFIED.
        "ProjectNo",
        "SalesRep",
        "Locked",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for party in ["SoldTo", "ShipTo", "BillTo"] {
        for f in [
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
        ] {
            cols.push(format!("{party}{f}"));
        }
    }
    for f in [
        "SoldToPONumber",
        "SoldToPriceProfile",
        "SoldToCMLinkRecID",
        "SoldToCMOppRecID",
    ] {
        cols.push(f.to_string());
    }
    // SubTotal/TotalTax spellings are UNVERIFIED; GrandTotal, LocalTaxRate, Shipping* are seen in code.
    for f in [
        "SubTotal",
        "TotalTax",
        "LocalTaxRate",
        "GrandTotal",
        "ShippingAmount",
        "ShippingCost",
        "ShippingPricingMethod",
        "AlternateCurrency",
        // The quote's notes (QuoteLink offers these four; the column names are UNVERIFIED).
        "IntroductionNotes",
        "PurchasingNotes",
        "ClosingNotes",
        "InternalNotes",
    ] {
        cols.push(f.to_string());
    }
    for i in 1..=24 {
        cols.push(format!("CustomText{i:02}"));
    }
    for i in 1..=5 {
        cols.push(format!("CustomNumber{i:02}"));
    }
    for i in 1..=5 {
        cols.push(format!("CustomDate{i:02}"));
    }
    for i in 1..=5 {
        cols.push(format!("CustomMemo{i:02}"));
    }
    cols
}

pub const HEADER_INTEGERS: &[&str] = &["Locked"];

/// Header columns besides `Custom*` a caller may set through `NewQuote::custom`.
pub const SETTABLE_HEADER: &[&str] = &[
    "IntroductionNotes",
    "PurchasingNotes",
    "ClosingNotes",
    "InternalNotes",
    "AlternateCurrency",
];

/// Column names of DocumentItems besides `ID` and `DocID`.
pub fn item_columns() -> Vec<String> {
    let mut cols: Vec<String> = [
        "LineType",
        "LineAttributes",
        "ItemType",
        "ManufacturerPartNumber",
        "VendorPartNumber",
        "InternalPartNumber",
        "Description",
        "Notes",
        "Manufacturer",
        "Vendor",
        "QtyBase",
        "QtyMultiplier1",
        "QtyTotal",
        "QtyGroupMultiplier",
        "UnitOfMeasure",
        "UnitOfPricing",
        "UnitOfPricingFactor",
        "UnitPrice",
        "UnitCost",
        // UnitList / ExtendedCost / ExtendedList / CostModifier: likely names, UNVERIFIED.
        "UnitList",
        "ExtendedPrice",
        "ExtendedCost",
        "ExtendedList",
        "PriceModifier",
        "CostModifier",
        "TaxCode",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 1..=10 {
        cols.push(format!("CustomText{i:02}"));
    }
    for i in 1..=2 {
        cols.push(format!("CustomNumber{i:02}"));
    }
    for i in 1..=4 {
        cols.push(format!("CustomMemo{i:02}"));
    }
    for i in 1..=2 {
        cols.push(format!("CustomDate{i:02}"));
    }
    cols
}

pub const ITEM_INTEGERS: &[&str] = &["LineType", "LineAttributes"];

/// `LineType` values (reference §2.3).
pub mod line_type {
    pub const PRODUCT: i64 = 1;
    pub const COMMENT: i64 = 2;
    pub const SUBTOTAL: i64 = 4;
    pub const GROUP_HEADER: i64 = 8;
    pub const RUNNING_SUBTOTAL: i64 = 16;
    pub const PERCENT_DISCOUNT: i64 = 64;
    pub const PERCENT_CHARGE: i64 = 128;
    pub const HEADING: i64 = 256;
}

/// `LineAttributes` bit flags (reference §2.3).
pub mod attr {
    pub const EXCLUDE: i64 = 1;
    pub const HIDE_PRICE: i64 = 2;
    pub const GROUP_MEMBER: i64 = 8;
    pub const OPTION: i64 = 16;
    pub const OPTION_SELECTED: i64 = 256;
}

pub const PRODUCT_COLUMNS: &[&str] = &[
    "ManufacturerPartNumber",
    "VendorPartNumber",
    "Description",
    "Price",
    "Cost",
    "List",
    "Category",
    "UnitOfPricing",
    "UnitOfPricingFactor",
    "UnitOfMeasureFactor",
    "Availability",
    "TaxCode",
    "Manufacturer",
    "Created",
    "LastModified",
    "CustomText01",
    "CustomText02",
];

fn column_defs(cols: &[String], integers: &[&str]) -> String {
    cols.iter()
        .map(|c| {
            if integers.contains(&c.as_str()) {
                format!("[{c}] INTEGER NOT NULL DEFAULT 0")
            } else {
                format!("[{c}] TEXT NOT NULL DEFAULT ''")
            }
        })
        .collect::<Vec<_>>()
        .join(",\n  ")
}

/// Product database table name: `<ProductDb>_Products` (SQL Server naming, reference §2.4).
pub fn product_table(product_db: &str) -> String {
    format!("{product_db}_Products")
}

pub fn create(conn: &Connection, product_db: &str) -> rusqlite::Result<()> {
    let headers = column_defs(&header_columns(), HEADER_INTEGERS);
    let items = column_defs(&item_columns(), ITEM_INTEGERS);
    let products = column_defs(
        &PRODUCT_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        &[],
    );
    let table = product_table(product_db);
    conn.execute_batch(&format!(
        r#"
CREATE TABLE IF NOT EXISTS DocumentHeaders (
  [ID] INTEGER PRIMARY KEY AUTOINCREMENT,
  {headers});
CREATE UNIQUE INDEX IF NOT EXISTS DocumentHeaders_DocNo ON DocumentHeaders(DocNo);
CREATE INDEX IF NOT EXISTS DocumentHeaders_TypeStatus ON DocumentHeaders(DocType, DocStatus);
CREATE TABLE IF NOT EXISTS DocumentItems (
  [ID] INTEGER PRIMARY KEY AUTOINCREMENT,
  [DocID] INTEGER NOT NULL REFERENCES DocumentHeaders(ID),
  {items});
CREATE INDEX IF NOT EXISTS DocumentItems_DocID ON DocumentItems(DocID, ID);
CREATE TABLE IF NOT EXISTS LookupItems (
  [ID] INTEGER PRIMARY KEY AUTOINCREMENT,
  [LookupName] TEXT NOT NULL,
  [LookupMemoValue] TEXT NOT NULL,
  [SortOrder] INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS [{table}] (
  [ID] INTEGER PRIMARY KEY AUTOINCREMENT,
  {products});
CREATE UNIQUE INDEX IF NOT EXISTS [{table}_MPN] ON [{table}](ManufacturerPartNumber);
-- Not a QuoteWerks table: the simulator's record of webhook deliveries.
CREATE TABLE IF NOT EXISTS _SandboxWebhookLog (
  id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, event TEXT NOT NULL,
  doc_id INTEGER NOT NULL, url TEXT NOT NULL, status INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL, delivered_at TEXT);
CREATE TABLE IF NOT EXISTS _SandboxMeta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"#
    ))
}
