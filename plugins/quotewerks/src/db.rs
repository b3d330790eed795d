//! The database through the host's `sql` import, in its dialect, and the conversions between
//! column values and document values.

use std::collections::BTreeMap;
use std::str::FromStr;

use ferry_pdk::sql::{self, Dialect, SqlValue, Statement};
use ferry_pdk::{Decimal, Error, Field, Value};

use crate::settings::*;

/// The database through the `sql` import, in its dialect.
pub(crate) struct Db {
    pub(crate) connection: String,
    pub(crate) dialect: Dialect,
}

pub(crate) type Row = BTreeMap<String, SqlValue>;

impl Db {
    pub(crate) fn open() -> Result<Self, Error> {
        let connection = setting("connection", "quotewerks");
        let dialect = sql::get_dialect(&connection).map_err(reported)?;
        Ok(Self {
            connection,
            dialect,
        })
    }

    /// Quotes an identifier already checked by [`ident`] (or a literal name in this file).
    /// SQLite takes SQL Server's brackets too, and unlike `"name"` a bracketed name never falls
    /// back to a string literal when the column does not exist (so a wrong setting is an error,
    /// not an empty result).
    pub(crate) fn q(&self, name: &str) -> String {
        match self.dialect {
            Dialect::SqlServer | Dialect::Sqlite => format!("[{name}]"),
            Dialect::Postgres => format!("\"{name}\""),
        }
    }

    /// `SELECT <cols> FROM <rest>` limited to `n` rows, `rest` holding WHERE/ORDER BY.
    pub(crate) fn select(&self, cols: &str, rest: &str, n: u32) -> String {
        match self.dialect {
            Dialect::SqlServer => format!("SELECT TOP {n} {cols} FROM {rest}"),
            Dialect::Sqlite | Dialect::Postgres => format!("SELECT {cols} FROM {rest} LIMIT {n}"),
        }
    }

    pub(crate) fn query(&self, sql: String, params: Vec<SqlValue>) -> Result<Vec<Row>, Error> {
        let rows = sql::query(&self.connection, &Statement { sql, params }).map_err(reported)?;
        Ok(rows
            .rows
            .into_iter()
            .map(|r| rows.columns.iter().cloned().zip(r).collect())
            .collect())
    }

    pub(crate) fn columns(&self, table: &str) -> Result<Vec<String>, Error> {
        let sql = self.select("*", &format!("{} WHERE 1 = 0", self.q(table)), 1);
        Ok(sql::query(
            &self.connection,
            &Statement {
                sql,
                params: vec![],
            },
        )
        .map_err(reported)?
        .columns)
    }

    pub(crate) fn execute(&self, sql: String, params: Vec<SqlValue>) -> Result<u64, Error> {
        sql::execute(&self.connection, &Statement { sql, params }).map_err(reported)
    }
}

/// A SQL failure from the host, passed on with the database's own error number as a vendor
/// detail (`sql.error-number`): the host words them "SQL Server error 2627: ..." or
/// "SQLite error 2067: ...".
pub(crate) fn reported(e: Error) -> Error {
    let message = match &e {
        Error::NotFound(m)
        | Error::Conflict(m)
        | Error::Transient(m)
        | Error::Unauthorized(m)
        | Error::Fatal(m)
        | Error::Unsupported(m) => m.as_str(),
        Error::RateLimited(r) => r.message.as_str(),
        Error::Invalid(_) => "",
    };
    for engine in ["SQL Server", "SQLite"] {
        let Some(at) = message.find(&format!("{engine} error ")) else {
            continue;
        };
        let rest = &message[at + engine.len() + " error ".len()..];
        let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !number.is_empty() {
            ferry_pdk::detail("sql.engine", engine);
            ferry_pdk::detail("sql.error-number", &number);
        }
        break;
    }
    e
}

pub(crate) fn text_of(v: Option<&SqlValue>) -> String {
    match v {
        Some(SqlValue::Text(s)) | Some(SqlValue::Decimal(s)) => s.clone(),
        Some(SqlValue::Integer(i)) => i.to_string(),
        Some(SqlValue::Boolean(b)) => b.to_string(),
        _ => String::new(),
    }
}

pub(crate) fn dec_of(v: Option<&SqlValue>) -> Decimal {
    match v {
        Some(SqlValue::Integer(i)) => Decimal::from(*i),
        Some(SqlValue::Text(s)) | Some(SqlValue::Decimal(s)) => {
            Decimal::from_str(s.trim()).unwrap_or_default()
        }
        Some(SqlValue::Boolean(b)) => Decimal::from(u8::from(*b)),
        _ => Decimal::ZERO,
    }
}

pub(crate) fn int_of(v: Option<&SqlValue>) -> i64 {
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
pub(crate) fn numeric_column(name: &str) -> bool {
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
pub(crate) fn to_value(name: &str, v: &SqlValue) -> Value {
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

pub(crate) fn fields_of(row: &Row, keep: impl Fn(&str) -> bool) -> Vec<Field> {
    row.iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| Field {
            name: k.clone(),
            value: to_value(k, v),
        })
        .collect()
}

pub(crate) fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Text(s) | Value::Date(s) => SqlValue::Text(s.clone()),
        Value::Decimal(s) => SqlValue::Decimal(s.clone()),
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Boolean(b) => SqlValue::Boolean(*b),
    }
}

pub(crate) fn parse_id(id: &str) -> Result<i64, Error> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("id", format!("'{id}' is not a QuoteWerks document ID")))
}

pub(crate) fn dec_field(name: &str, d: Decimal) -> Field {
    Field {
        name: name.to_string(),
        value: Value::Decimal(d.normalize().to_string()),
    }
}

pub(crate) fn header_row(db: &Db, id: i64) -> Result<Row, Error> {
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

/// The setting's column, as the table spells it (or an error naming what exists).
pub(crate) fn column_in(columns: &[String], wanted: &str, what: &str) -> Result<String, Error> {
    columns
        .iter()
        .find(|c| c.eq_ignore_ascii_case(wanted))
        .cloned()
        .ok_or_else(|| Error::fatal(format!("{what}: the table has no column {wanted}")))
}

pub(crate) fn same_value(existing: Option<&SqlValue>, new: &Value) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sql_failure_reports_the_databases_error_number() {
        let _ = ferry_pdk::take_reported();
        let e = reported(Error::conflict(
            "sql 'quotewerks': SQL Server error 2627: Violation of PRIMARY KEY constraint",
        ));
        assert!(matches!(e, Error::Conflict(_)));
        assert_eq!(
            ferry_pdk::take_reported(),
            vec![
                ("sql.engine".to_string(), "SQL Server".to_string()),
                ("sql.error-number".to_string(), "2627".to_string()),
            ]
        );
        reported(Error::fatal("no SQL error number here"));
        assert!(ferry_pdk::take_reported().is_empty());
    }
}
