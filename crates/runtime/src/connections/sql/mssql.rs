//! The Microsoft SQL Server backend of the `sql` capability (tiberius over TCP, TLS by rustls):
//! where a real QuoteWerks installation keeps `DocumentHeaders`, `DocumentItems`, its product
//! databases and `LookupItems`.
//!
//! Every statement passes [`tsql::prepare`] (the capability's rules, `?` → `@Pn`) before a
//! session is even dialled, and ends by the calling plugin's deadline.
//!
//! SQL Server can't run in Ferry's build environment, so this file's pure parts — parameter
//! binding and the column type mapping — are covered by unit tests below; the connection itself
//! is exercised only against a real server.
//!
//! Type mapping, SQL Server → `sql-value`:
//! - `tinyint`/`smallint`/`int`/`bigint` → integer;
//! - `bit` → boolean;
//! - `decimal`/`numeric` → decimal string, exact;
//! - `money`/`smallmoney` → decimal string with 4 places (the TDS driver hands money over as a
//!   scaled float; it is re-scaled to the exact 4-place value, exact up to ±9·10¹¹);
//! - `real`/`float` → decimal string (the shortest that round-trips the float);
//! - `char`/`varchar`/`nchar`/`nvarchar`/`text`/`ntext`/`xml`/`uniqueidentifier` → text;
//! - `date` → `yyyy-mm-dd`; `time` → `HH:MM:SS[.fff]`; `datetime`/`smalldatetime`/`datetime2`
//!   → ISO `yyyy-mm-ddTHH:MM:SS[.fff]`; `datetimeoffset` → RFC 3339 with its offset;
//! - `binary`/`varbinary`/`image` → blob; NULL of any type → null.
//!
//! And `sql-value` → parameter: null → NULL (`nvarchar`), integer → `bigint`, decimal →
//! `numeric` (exact; refused when not a decimal), text → `nvarchar`, boolean → `bit`, blob →
//! `varbinary`.

use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use serde::Deserialize;
use tiberius::{ColumnData, ColumnType, Query};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::{SqlStop, default_max_rows, tsql};
use crate::bindings::sql::{Rows, SqlValue, Statement};
use crate::bindings::types::Error;
use crate::connections::ConnectionError;
use crate::grants::Secret;

/// `kind = "sqlserver"` settings besides the connection string (a secret, by reference).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlServerSettings {
    /// A query returning more rows than this is refused: page it instead.
    #[serde(default = "default_max_rows")]
    pub max_rows: usize,
    /// Connect and per-statement timeout.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for SqlServerSettings {
    fn default() -> Self {
        Self {
            max_rows: default_max_rows(),
            timeout_ms: default_timeout_ms(),
        }
    }
}

fn default_timeout_ms() -> u64 {
    30_000
}

type Client = tiberius::Client<Compat<TcpStream>>;

pub(crate) struct SqlServerBackend {
    config: tiberius::Config,
    max_rows: usize,
    timeout: Duration,
    /// One session, dialled on first use and again after an I/O failure. Statements on one
    /// connection run one at a time (TDS is not multiplexed).
    client: Mutex<Option<Client>>,
}

impl SqlServerBackend {
    pub fn new(
        name: &str,
        settings: &SqlServerSettings,
        connection_string: Secret,
    ) -> Result<Self, ConnectionError> {
        // The parser's messages may quote the string (and so a password): never pass them on.
        let config =
            tiberius::Config::from_ado_string(connection_string.expose()).map_err(|_| {
                ConnectionError::Config {
                    connection: name.to_string(),
                    message: "the SQL Server connection string could not be parsed (ADO.NET form: \
                          server=tcp:HOST,1433;database=DB;user=U;password=P;encrypt=true)"
                        .into(),
                }
            })?;
        Ok(Self {
            config,
            max_rows: settings.max_rows,
            timeout: Duration::from_millis(settings.timeout_ms),
            client: Mutex::new(None),
        })
    }

    /// Dials and logs in, within the statement timeout and the caller's deadline.
    async fn connect(&self, deadline: Instant) -> Result<Client, SqlStop> {
        let budget = self
            .timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        let stopped = |what: &str| {
            if Instant::now() >= deadline {
                SqlStop::Deadline
            } else {
                SqlStop::Failed(Error::Transient(format!("{what} timed out")))
            }
        };
        let tcp = tokio::time::timeout(budget, TcpStream::connect(self.config.get_addr()))
            .await
            .map_err(|_| stopped("connecting to SQL Server"))?
            .map_err(|e| Error::Transient(format!("connecting to SQL Server: {e}")))?;
        tcp.set_nodelay(true).ok();
        let budget = self
            .timeout
            .min(deadline.saturating_duration_since(Instant::now()));
        Ok(tokio::time::timeout(
            budget,
            tiberius::Client::connect(self.config.clone(), tcp.compat_write()),
        )
        .await
        .map_err(|_| stopped("SQL Server login"))?
        .map_err(classify)?)
    }

    /// Runs `f` on the session, dialling first when needed; a broken session is dropped so the
    /// next statement reconnects. Waiting for the session, dialling and the statement all end
    /// at `deadline`; a statement stopped there is cancelled by dropping its session (the
    /// server aborts a request whose connection closes).
    async fn with_client<T>(
        &self,
        deadline: Instant,
        f: impl AsyncFnOnce(&mut Client) -> Result<T, tiberius::error::Error>,
    ) -> Result<T, SqlStop> {
        let mut slot = tokio::time::timeout_at(deadline.into(), self.client.lock())
            .await
            .map_err(|_| SqlStop::Deadline)?;
        if slot.is_none() {
            *slot = Some(self.connect(deadline).await?);
        }
        let Some(client) = slot.as_mut() else {
            return Err(Error::Fatal("SQL Server session missing".into()).into());
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let outcome = tokio::time::timeout(self.timeout.min(remaining), f(client)).await;
        match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if matches!(e, tiberius::error::Error::Io { .. }) {
                    *slot = None;
                }
                Err(classify(e).into())
            }
            Err(_) => {
                // The session is mid-statement: it can't be reused.
                *slot = None;
                if remaining <= self.timeout {
                    return Err(SqlStop::Deadline);
                }
                Err(Error::Transient(format!(
                    "statement timed out after {} ms",
                    self.timeout.as_millis()
                ))
                .into())
            }
        }
    }

    pub async fn query(&self, statement: Statement, deadline: Instant) -> Result<Rows, SqlStop> {
        let sql = tsql::prepare(&statement.sql)?;
        let params = to_params(&statement.params)?;
        let max_rows = self.max_rows;
        let result = self
            .with_client(deadline, async move |client| {
                let mut q = Query::new(sql);
                for p in params {
                    p.bind(&mut q);
                }
                let mut qs = q.query(client).await?;
                // Column names even when no row comes back (plugins read a table's shape so).
                let columns: Vec<String> = qs
                    .columns()
                    .await?
                    .map(|cols| cols.iter().map(|c| c.name().to_string()).collect())
                    .unwrap_or_default();
                let mut stream = qs.into_row_stream();
                let mut rows = Vec::new();
                let mut too_many = false;
                while let Some(row) = stream.try_next().await? {
                    if rows.len() == max_rows {
                        too_many = true;
                        // Drain so the session stays usable.
                        continue;
                    }
                    rows.push(
                        row.cells()
                            .map(|(col, data)| read_value(col.column_type(), data))
                            .collect::<Vec<_>>(),
                    );
                }
                Ok((columns, rows, too_many))
            })
            .await?;
        let (columns, rows, too_many) = result;
        if too_many {
            return Err(
                Error::Fatal(format!("query returned more than {max_rows} rows; page it")).into(),
            );
        }
        Ok(Rows { columns, rows })
    }

    pub async fn execute(&self, statement: Statement, deadline: Instant) -> Result<u64, SqlStop> {
        let sql = tsql::prepare(&statement.sql)?;
        let params = to_params(&statement.params)?;
        self.with_client(deadline, async move |client| {
            let mut q = Query::new(sql);
            for p in params {
                p.bind(&mut q);
            }
            Ok(q.execute(client).await?.total())
        })
        .await
    }

    pub async fn transaction(
        &self,
        statements: Vec<Statement>,
        deadline: Instant,
    ) -> Result<Vec<u64>, SqlStop> {
        let mut prepared = Vec::with_capacity(statements.len());
        for s in &statements {
            prepared.push((tsql::prepare(&s.sql)?, to_params(&s.params)?));
        }
        self.with_client(deadline, async move |client| {
            client
                .simple_query("BEGIN TRANSACTION")
                .await?
                .into_results()
                .await?;
            let mut counts = Vec::with_capacity(prepared.len());
            for (sql, params) in prepared {
                let mut q = Query::new(sql);
                for p in params {
                    p.bind(&mut q);
                }
                match q.execute(client).await {
                    Ok(r) => counts.push(r.total()),
                    Err(e) => {
                        // Best effort: a failed rollback leaves the server to abort the
                        // transaction when the session drops.
                        if let Ok(s) = client.simple_query("IF @@TRANCOUNT > 0 ROLLBACK").await {
                            let _ = s.into_results().await;
                        }
                        return Err(e);
                    }
                }
            }
            client.simple_query("COMMIT").await?.into_results().await?;
            Ok(counts)
        })
        .await
    }
}

/// A bound parameter, in the type SQL Server receives it as.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    BigInt(i64),
    Numeric(Decimal),
    NVarChar(String),
    Bit(bool),
    VarBinary(Vec<u8>),
}

impl Param {
    fn bind(self, q: &mut Query<'_>) {
        match self {
            Param::Null => q.bind(Option::<&str>::None),
            Param::BigInt(i) => q.bind(i),
            Param::Numeric(d) => q.bind(d),
            Param::NVarChar(s) => q.bind(s),
            Param::Bit(b) => q.bind(b),
            Param::VarBinary(b) => q.bind(b),
        }
    }

    /// What goes on the wire (for tests and diagnostics).
    pub fn to_column_data(&self) -> ColumnData<'_> {
        use tiberius::ToSql;
        match self {
            Param::Null => ColumnData::String(None),
            Param::BigInt(i) => i.to_sql(),
            Param::Numeric(d) => d.to_sql(),
            Param::NVarChar(s) => s.to_sql(),
            Param::Bit(b) => b.to_sql(),
            Param::VarBinary(b) => b.to_sql(),
        }
    }
}

pub fn to_params(values: &[SqlValue]) -> Result<Vec<Param>, Error> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Ok(match v {
                SqlValue::Null => Param::Null,
                SqlValue::Integer(i) => Param::BigInt(*i),
                SqlValue::Decimal(d) => {
                    Param::Numeric(Decimal::from_str(d.trim()).map_err(|_| {
                        Error::Fatal(format!("parameter {}: '{d}' is not a decimal", i + 1))
                    })?)
                }
                SqlValue::Text(t) => Param::NVarChar(t.clone()),
                SqlValue::Boolean(b) => Param::Bit(*b),
                SqlValue::Blob(b) => Param::VarBinary(b.clone()),
            })
        })
        .collect()
}

fn float_to_decimal(f: f64) -> SqlValue {
    if !f.is_finite() {
        return SqlValue::Text(f.to_string());
    }
    SqlValue::Decimal(
        Decimal::from_str(&f.to_string())
            .or_else(|_| Decimal::from_scientific(&format!("{f:e}")))
            .map(|d| d.normalize().to_string())
            .unwrap_or_else(|_| f.to_string()),
    )
}

/// One SQL Server cell as a `sql-value` (see the module docs for the mapping).
pub fn read_value(column_type: ColumnType, data: &ColumnData<'static>) -> SqlValue {
    use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
    use tiberius::FromSql;

    let iso_datetime = |dt: Option<NaiveDateTime>| match dt {
        Some(dt) => SqlValue::Text(dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        None => SqlValue::Null,
    };
    match data {
        ColumnData::U8(v) => v.map_or(SqlValue::Null, |v| SqlValue::Integer(v.into())),
        ColumnData::I16(v) => v.map_or(SqlValue::Null, |v| SqlValue::Integer(v.into())),
        ColumnData::I32(v) => v.map_or(SqlValue::Null, |v| SqlValue::Integer(v.into())),
        ColumnData::I64(v) => v.map_or(SqlValue::Null, SqlValue::Integer),
        ColumnData::Bit(v) => v.map_or(SqlValue::Null, SqlValue::Boolean),
        ColumnData::F32(v) => v.map_or(SqlValue::Null, |f| {
            // Through its decimal text so 0.1f32 reads "0.1", not 0.100000001490116.
            float_to_decimal(f.to_string().parse::<f64>().unwrap_or(f64::from(f)))
        }),
        ColumnData::F64(v) => match (v, column_type) {
            (None, _) => SqlValue::Null,
            // money arrives as scaled/10⁴ in a float: put the exact 4 places back.
            (Some(f), ColumnType::Money | ColumnType::Money4) => {
                let scaled = (f * 1e4).round();
                if scaled.abs() < 9.0e15 {
                    SqlValue::Decimal(Decimal::from_i128_with_scale(scaled as i128, 4).to_string())
                } else {
                    float_to_decimal(*f)
                }
            }
            (Some(f), _) => float_to_decimal(*f),
        },
        ColumnData::Numeric(v) => match v {
            Some(n) => SqlValue::Decimal(
                Decimal::try_from_i128_with_scale(n.value(), u32::from(n.scale()))
                    .map(|d| d.to_string())
                    .unwrap_or_else(|_| n.to_string()),
            ),
            None => SqlValue::Null,
        },
        ColumnData::String(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |s| SqlValue::Text(s.to_string())),
        ColumnData::Guid(v) => v.map_or(SqlValue::Null, |g| SqlValue::Text(g.to_string())),
        ColumnData::Binary(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |b| SqlValue::Blob(b.to_vec())),
        ColumnData::Xml(v) => v
            .as_ref()
            .map_or(SqlValue::Null, |x| SqlValue::Text(x.to_string())),
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            iso_datetime(NaiveDateTime::from_sql(data).ok().flatten())
        }
        ColumnData::Date(_) => match NaiveDate::from_sql(data).ok().flatten() {
            Some(d) => SqlValue::Text(d.format("%Y-%m-%d").to_string()),
            None => SqlValue::Null,
        },
        ColumnData::Time(_) => match NaiveTime::from_sql(data).ok().flatten() {
            Some(t) => SqlValue::Text(t.format("%H:%M:%S%.f").to_string()),
            None => SqlValue::Null,
        },
        ColumnData::DateTimeOffset(_) => {
            match DateTime::<FixedOffset>::from_sql(data).ok().flatten() {
                Some(dt) => SqlValue::Text(dt.to_rfc3339()),
                None => SqlValue::Null,
            }
        }
        #[allow(unreachable_patterns)]
        other => SqlValue::Text(format!("{other:?}")),
    }
}

fn classify(e: tiberius::error::Error) -> Error {
    use tiberius::error::Error as E;
    match &e {
        E::Server(token) => {
            // Every class names the error number, which a plugin reports as a vendor detail.
            let text = format!("SQL Server error {}: {}", token.code(), token.message());
            match token.code() {
                // 2627 unique constraint, 2601 duplicate key in a unique index, 547 FK/check.
                2627 | 2601 | 547 => Error::Conflict(text),
                // 1205 deadlock victim, 1222 lock timeout, 40501/40613/49918-20: Azure throttling.
                1205 | 1222 | 40501 | 40613 | 49918..=49920 => Error::Transient(text),
                // 18456 login failed.
                18456 => Error::Unauthorized("SQL Server error 18456: login failed".into()),
                _ => Error::Fatal(text),
            }
        }
        E::Io { .. } | E::Routing { .. } => Error::Transient(e.to_string()),
        _ => Error::Fatal(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use tiberius::numeric::Numeric;

    #[test]
    fn parameters_bind_as_exact_sql_server_types() {
        let params = to_params(&[
            SqlValue::Null,
            SqlValue::Integer(42),
            SqlValue::Decimal("1234.5600".into()),
            SqlValue::Text("Ça va".into()),
            SqlValue::Boolean(true),
            SqlValue::Blob(vec![1, 2]),
        ])
        .expect("params");
        assert_eq!(params[2], Param::Numeric(Decimal::new(12_345_600, 4)));
        let wire: Vec<String> = params
            .iter()
            .map(|p| format!("{:?}", p.to_column_data()))
            .collect();
        assert_eq!(wire[0], "String(None)");
        assert_eq!(wire[1], "I64(Some(42))");
        // A decimal goes out as NUMERIC, never as a float.
        assert!(wire[2].starts_with("Numeric(Some("), "{}", wire[2]);
        match params[2].to_column_data() {
            ColumnData::Numeric(Some(n)) => {
                assert_eq!((n.value(), n.scale()), (12_345_600, 4));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(wire[3], "String(Some(\"Ça va\"))");
        assert_eq!(wire[4], "Bit(Some(true))");
        assert!(wire[5].starts_with("Binary(Some("), "{}", wire[5]);
    }

    #[test]
    fn a_decimal_parameter_that_is_not_a_number_is_refused() {
        assert!(matches!(
            to_params(&[SqlValue::Decimal("12,50".into())]),
            Err(Error::Fatal(m)) if m.contains("parameter 1")
        ));
    }

    #[test]
    fn money_and_decimals_read_as_exact_decimal_strings() {
        // money 1234.5678 arrives as a float from the driver.
        assert_eq!(
            read_value(ColumnType::Money, &ColumnData::F64(Some(1234.5678))),
            SqlValue::Decimal("1234.5678".into())
        );
        assert_eq!(
            read_value(ColumnType::Money4, &ColumnData::F64(Some(0.1))),
            SqlValue::Decimal("0.1000".into())
        );
        assert_eq!(
            read_value(
                ColumnType::Numericn,
                &ColumnData::Numeric(Some(Numeric::new_with_scale(1999, 2)))
            ),
            SqlValue::Decimal("19.99".into())
        );
        assert_eq!(
            read_value(ColumnType::Floatn, &ColumnData::F64(Some(0.1))),
            SqlValue::Decimal("0.1".into())
        );
        assert_eq!(
            read_value(ColumnType::Float4, &ColumnData::F32(Some(0.1))),
            SqlValue::Decimal("0.1".into())
        );
    }

    #[test]
    fn bits_integers_text_and_nulls_map_to_their_sql_values() {
        assert_eq!(
            read_value(ColumnType::Bitn, &ColumnData::Bit(Some(true))),
            SqlValue::Boolean(true)
        );
        assert_eq!(
            read_value(ColumnType::Int4, &ColumnData::I32(Some(-7))),
            SqlValue::Integer(-7)
        );
        assert_eq!(
            read_value(ColumnType::Int1, &ColumnData::U8(Some(255))),
            SqlValue::Integer(255)
        );
        assert_eq!(
            read_value(
                ColumnType::NVarchar,
                &ColumnData::String(Some(Cow::Borrowed("Müller GmbH")))
            ),
            SqlValue::Text("Müller GmbH".into())
        );
        assert_eq!(
            read_value(ColumnType::NVarchar, &ColumnData::String(None)),
            SqlValue::Null
        );
        assert_eq!(
            read_value(ColumnType::Money, &ColumnData::F64(None)),
            SqlValue::Null
        );
    }

    #[test]
    fn dates_and_datetimes_read_as_iso_text() {
        use chrono::{NaiveDate, NaiveDateTime};
        use tiberius::IntoSql;
        let dt: NaiveDateTime = NaiveDate::from_ymd_opt(2026, 3, 14)
            .and_then(|d| d.and_hms_milli_opt(9, 26, 53, 500))
            .expect("date");
        // NaiveDateTime goes to the wire as datetime2.
        let data = dt.into_sql();
        assert_eq!(
            read_value(ColumnType::Datetime2, &data),
            SqlValue::Text("2026-03-14T09:26:53.500".into())
        );
        let d = NaiveDate::from_ymd_opt(2026, 1, 2)
            .expect("date")
            .into_sql();
        assert_eq!(
            read_value(ColumnType::Daten, &d),
            SqlValue::Text("2026-01-02".into())
        );
        // Legacy datetime (1/300 s ticks).
        let legacy = tiberius::time::DateTime::new(46_094, 300 * 60);
        assert_eq!(
            read_value(ColumnType::Datetime, &ColumnData::DateTime(Some(legacy))),
            SqlValue::Text("2026-03-15T00:01:00".into())
        );
    }
}
