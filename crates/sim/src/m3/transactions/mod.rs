//! The MI transaction engine: metadata checks (unknown transaction, missing mandatory field,
//! over-long field) the way M3 does them, then the program's own logic inside one SQLite
//! transaction, then BODs for whatever changed.

mod credit;
mod crs610;
mod mms080;
mod mms200;
mod ois100;
mod ois100_batch;
mod ois100_depth;
mod ois320;
mod ois350;

use std::collections::HashMap;

use rusqlite::Transaction;
use rust_decimal::Decimal;
use serde::Serialize;

use super::metadata::{Catalog, TransactionDef};

/// One output record: field name to raw (untrimmed, unpadded) value. Field names are the
/// transactions' own constants: no allocation per field of a 100,000-row listing.
pub type Record = HashMap<&'static str, String>;

/// M3's error classes as they appear in `@type` (v1) and `errorType` (v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorKind {
    ServerReturnedNOK,
    TransactionNotFound,
    MandatoryInputFieldNotFound,
    InputFieldTooLong,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ServerReturnedNOK => "ServerReturnedNOK",
            ErrorKind::TransactionNotFound => "TransactionNotFound",
            ErrorKind::MandatoryInputFieldNotFound => "MandatoryInputFieldNotFound",
            ErrorKind::InputFieldTooLong => "InputFieldTooLong",
        }
    }
}

/// A NOK answer. Message ids other than the ones quoted in reference/m3-api.md are CONSTRUCTED
/// in M3's style (three letters + four digits); the real ids are UNVERIFIED.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?} {code} {field}: {message}")]
pub struct MiError {
    pub kind: ErrorKind,
    pub code: String,
    pub field: String,
    pub message: String,
    /// When set, the error is also recorded against this batch order for LstErrMsgOrder.
    pub batch_orno: Option<String>,
}

impl MiError {
    pub fn nok(code: &str, field: &str, message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::ServerReturnedNOK,
            code: code.to_string(),
            field: field.to_string(),
            message: message.into(),
            batch_orno: None,
        }
    }

    fn of(kind: ErrorKind, code: &str, field: &str, message: String) -> Self {
        Self {
            kind,
            code: code.to_string(),
            field: field.to_string(),
            message,
            batch_orno: None,
        }
    }

    pub fn on_batch(mut self, orno: &str) -> Self {
        self.batch_orno = Some(orno.to_string());
        self
    }

    pub fn not_found(field: &str, what: &str, value: &str) -> Self {
        Self::nok("XRE0103", field, format!("{what} {value} does not exist"))
    }

    pub fn must_be_entered(field: &str, what: &str) -> Self {
        Self::nok("XEN0001", field, format!("{what} must be entered"))
    }
}

impl From<rusqlite::Error> for MiError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "sandbox database error");
        Self::nok("XSY0001", "", "System error in the Ferry M3 sandbox")
    }
}

/// What changed inside a transaction; turned into BODs after the transaction commits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    Item(String),
    Customer(String),
    OrderStatus(String),
}

/// The request's input fields, already trimmed of trailing blanks (M3 ignores them).
#[derive(Debug, Clone, Default)]
pub struct Input {
    fields: HashMap<String, String>,
}

impl Input {
    pub fn new(fields: HashMap<String, String>) -> Self {
        Self {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k, v.trim_end().to_string()))
                .collect(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// The value, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// The value when present and not blank.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    pub fn required(&self, name: &str, what: &str) -> Result<&str, MiError> {
        self.opt(name)
            .ok_or_else(|| MiError::must_be_entered(name, what))
    }

    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, MiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<Decimal>().map(Some).map_err(|_| {
                MiError::nok(
                    "XNU0001",
                    name,
                    format!("Field {name} must be numeric, not '{v}'"),
                )
            }),
        }
    }

    /// A yyyyMMdd date when given; M3 rejects anything else.
    pub fn date(&self, name: &str) -> Result<Option<String>, MiError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) if chrono::NaiveDate::parse_from_str(v.trim(), "%Y%m%d").is_ok() => {
                Ok(Some(v.trim().to_string()))
            }
            Some(v) => Err(MiError::nok(
                "XDT0001",
                name,
                format!("Date {v} is invalid, use format yyyyMMdd"),
            )),
        }
    }
}

pub struct Ctx<'a, 'c> {
    pub tx: &'a Transaction<'c>,
    pub events: Vec<Event>,
    /// Records a List transaction may return; `None` = all (maxrecs=0).
    pub max_records: Option<usize>,
}

impl Ctx<'_, '_> {
    /// SQL LIMIT value for the current maxrecs.
    pub fn limit(&self) -> i64 {
        self.max_records.map(|n| n as i64).unwrap_or(-1)
    }
}

type Handler = fn(&mut Ctx<'_, '_>, &Input) -> Result<Vec<Record>, MiError>;

fn handler(program: &str, transaction: &str) -> Option<Handler> {
    Some(match (program, transaction) {
        ("OIS100MI", "AddBatchHead") => ois100::add_batch_head,
        ("OIS100MI", "AddBatchLine") => ois100::add_batch_line,
        ("OIS100MI", "Confirm") => ois100::confirm,
        ("OIS100MI", "GetOrderNo") => ois100::get_order_no,
        ("OIS100MI", "LstErrMsgOrder") => ois100::lst_err_msg_order,
        ("OIS100MI", "GetBatchHead") => ois100::get_batch_head,
        ("OIS100MI", "LstBatchHead") => ois100_batch::lst_batch_head,
        ("OIS100MI", "LstBatchLine") => ois100_batch::lst_batch_line,
        ("OIS100MI", "DelBatchLine") => ois100_batch::del_batch_line,
        ("OIS100MI", "DelBatchHead") => ois100_batch::del_batch_head,
        ("OIS100MI", "AddBatchText") => ois100_depth::add_batch_text,
        ("OIS100MI", "DelBatchText") => ois100_depth::del_batch_text,
        ("OIS100MI", "AddBatchHeadChg") => ois100_depth::add_batch_head_chg,
        ("OIS100MI", "AddBatchAddress") => ois100_depth::add_batch_address,
        ("OIS100MI", "LstHeadText") => ois100_depth::lst_head_text,
        ("OIS100MI", "LstLineText") => ois100_depth::lst_line_text,
        ("OIS100MI", "LstOrderCharge") => ois100_depth::lst_order_charge,
        ("OIS100MI", "GetAddress") => ois100_depth::get_address,
        ("OIS030MI", "LstOrderCharges") => ois100_depth::lst_order_charges,
        ("OIS100MI", "GetHead") => ois100::get_head,
        ("OIS100MI", "LstHead") => ois100::lst_head,
        ("OIS100MI", "GetLine") => ois100::get_line,
        ("OIS100MI", "LstLine") => ois100::lst_line,
        ("OIS100MI", "LstWarehBalance") => ois100::lst_wareh_balance,
        ("OIS275MI", "GetTmpOrderStat") => ois100::get_tmp_order_stat,
        ("CRS610MI", "GetFinancial") => credit::get_financial,
        ("OIS350MI", "LstAllInvByCO") => ois350::lst_all_inv_by_co,
        ("CRS610MI", "Add") => crs610::add,
        ("CRS610MI", "Copy") => crs610::copy,
        ("CRS610MI", "GetBasicData") => crs610::get_basic_data,
        ("CRS610MI", "ChgBasicData") => crs610::chg_basic_data,
        ("CRS610MI", "LstByNumber") => crs610::lst_by_number,
        ("CRS610MI", "LstByName") => crs610::lst_by_name,
        ("CRS610MI", "LstTemplates") => crs610::lst_templates,
        ("MMS200MI", "GetItmBasic") => mms200::get_itm_basic,
        ("MMS200MI", "LstItmByItm") => mms200::lst_itm_by_itm,
        ("MMS200MI", "LstItmByChgDate") => mms200::lst_itm_by_chg_date,
        ("MMS200MI", "GetItmPrice") => mms200::get_itm_price,
        ("MMS200MI", "GetItmWhsBal") => mms200::get_itm_whs_bal,
        ("OIS320MI", "GetPriceLine") => ois320::get_price_line,
        ("MMS080MI", "LstItemWarehous") => mms080::lst_item_warehous,
        ("OIS100MI", "LstNewBalances") => mms080::lst_new_balances,
        _ => return None,
    })
}

/// Checks M3 performs from the transaction's metadata before any program logic runs.
pub fn precheck<'c>(
    catalog: &'c Catalog,
    program: &str,
    transaction: &str,
    input: &Input,
) -> Result<&'c TransactionDef, MiError> {
    let Some(def) = catalog.get(program, transaction) else {
        // The reference names TransactionNotFound; using it for an unknown program too is
        // UNVERIFIED (the gateway may answer 404 instead).
        let message = if catalog.has_program(program) {
            format!("Transaction {transaction} does not exist in program {program}")
        } else {
            format!("Program {program} does not exist")
        };
        return Err(MiError::of(ErrorKind::TransactionNotFound, "", "", message));
    };
    for f in def.inputs.iter().filter(|f| f.required) {
        if !input.has(&f.name) {
            return Err(MiError::of(
                ErrorKind::MandatoryInputFieldNotFound,
                "",
                &f.name,
                format!(
                    "Mandatory input field {} ({}) not found",
                    f.name, f.description
                ),
            ));
        }
    }
    for f in &def.inputs {
        if let (Some(v), Some(len)) = (
            input.fields.get(&f.name),
            catalog.field_length(def, &f.name),
        ) && v.chars().count() > len
        {
            return Err(MiError::of(
                ErrorKind::InputFieldTooLong,
                "",
                &f.name,
                format!(
                    "Input field {} is too long: {} characters, maximum {len}",
                    f.name,
                    v.chars().count()
                ),
            ));
        }
    }
    Ok(def)
}

/// Run a transaction's program logic (after [`precheck`]).
pub fn run(
    ctx: &mut Ctx<'_, '_>,
    def: &TransactionDef,
    input: &Input,
) -> Result<Vec<Record>, MiError> {
    match handler(&def.program, &def.transaction) {
        Some(h) => h(ctx, input),
        None => Err(MiError::nok(
            "XSB0001",
            "",
            format!(
                "{}/{} exists in M3 but is not simulated by the Ferry sandbox",
                def.program, def.transaction
            ),
        )),
    }
}

/// Build a record from `(FIELD, value)` pairs.
pub fn rec<const N: usize>(pairs: [(&'static str, String); N]) -> Record {
    pairs.into_iter().collect()
}

/// M3 prints numbers without grouping and with a decimal point; trailing zeros dropped.
pub fn num(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The NOK code of a credit stop at Confirm: the server keeps the batch order at status 30.
pub const CREDIT_STOP: &str = "OCR0301";
pub use credit::set_credit;

/// Order status operations used by the control API and the status clock.
pub mod ois100_status {
    pub use super::ois100::{STATUS_LADDER, next_status, set_order_status};
}
