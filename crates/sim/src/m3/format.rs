//! Rendering MI results on the wire: v1 (MIRecord/NameValue/Metadata, blank padded,
//! ServerReturnedNOK at the top level) and v2 (flat records under results[], counters,
//! errorMessage/errorCode/errorField/errorType).

use serde_json::{Map, Value, json};

use super::metadata::{OutField, TransactionDef};
use super::transactions::{MiError, Record};

/// Output options from matrix/query parameters (v1, v2 GET) or the bulk body.
#[derive(Debug, Clone, Default)]
pub struct OutputOpts {
    /// `returncols` / `selectedColumns`: only these fields.
    pub return_cols: Option<Vec<String>>,
    /// `excludempty` (v1) / `excludeempty` (v2) / `excludeEmptyValues` (bulk).
    pub exclude_empty: bool,
    /// Blank-pad values to the field length (M3's native form); `righttrim=true` turns it off.
    pub pad: bool,
    /// v1 `metadata`: include the Metadata block (default true).
    pub metadata: bool,
}

fn selected<'a>(def: &'a TransactionDef, opts: &OutputOpts) -> Vec<&'a OutField> {
    match &opts.return_cols {
        Some(cols) => cols
            .iter()
            .filter_map(|c| def.outputs.iter().find(|f| &f.name == c))
            .collect(),
        None => def.outputs.iter().collect(),
    }
}

fn value(f: &OutField, rec: &Record, opts: &OutputOpts) -> String {
    let v = rec.get(&f.name).map(String::as_str).unwrap_or("");
    if opts.pad {
        format!("{v:<width$}", width = f.length)
    } else {
        v.trim_end().to_string()
    }
}

pub fn v1_ok(def: &TransactionDef, records: &[Record], opts: &OutputOpts) -> Value {
    let fields = selected(def, opts);
    let mut out = Map::new();
    out.insert("Program".into(), json!(def.program));
    out.insert("Transaction".into(), json!(def.transaction));
    if opts.metadata {
        let meta: Vec<Value> = fields
            .iter()
            .map(|f| {
                json!({"@name": f.name, "@type": f.ty.as_str(), "@length": f.length, "@description": f.description})
            })
            .collect();
        out.insert("Metadata".into(), json!({ "Field": meta }));
    }
    if !records.is_empty() {
        let rows: Vec<Value> = records
            .iter()
            .enumerate()
            .map(|(i, rec)| {
                let nv: Vec<Value> = fields
                    .iter()
                    .filter_map(|f| {
                        let v = value(f, rec, opts);
                        if opts.exclude_empty && v.trim().is_empty() {
                            None
                        } else {
                            Some(json!({"Name": f.name, "Value": v}))
                        }
                    })
                    .collect();
                json!({"RowIndex": i, "NameValue": nv})
            })
            .collect();
        out.insert("MIRecord".into(), Value::Array(rows));
    }
    Value::Object(out)
}

/// v1 NOK body. M3 messages are fixed-width and blank padded (the width used here is UNVERIFIED).
pub fn v1_nok(err: &MiError) -> Value {
    json!({
        "@type": err.kind.as_str(),
        "@code": err.code,
        "@field": err.field,
        "@cfg": null,
        "Message": format!("{:<80}", err.message),
    })
}

pub fn v2_records(def: &TransactionDef, records: &[Record], opts: &OutputOpts) -> Vec<Value> {
    let fields = selected(def, opts);
    records
        .iter()
        .map(|rec| {
            let mut m = Map::new();
            for f in &fields {
                let v = value(f, rec, opts);
                if !(opts.exclude_empty && v.trim().is_empty()) {
                    m.insert(f.name.clone(), Value::String(v));
                }
            }
            Value::Object(m)
        })
        .collect()
}

pub fn v2_result_ok(transaction: &str, records: Vec<Value>) -> Value {
    json!({"transaction": transaction, "records": records})
}

pub fn v2_result_err(transaction: &str, err: &MiError) -> Value {
    json!({
        "transaction": transaction,
        "errorMessage": err.message,
        "errorType": err.kind.as_str(),
        "errorCode": err.code,
        "errorField": err.field,
        "records": [],
    })
}

/// The v2 envelope. `wasTerminated` is emitted as a JSON bool (clients' DTOs type it bool; one
/// sample shows a quoted "false", so which one the server sends is UNVERIFIED).
pub fn v2_envelope(results: Vec<Value>, ok: usize, failed: usize) -> Value {
    json!({
        "results": results,
        "wasTerminated": false,
        "nrOfSuccessfullTransactions": ok,
        "nrOfFailedTransactions": failed,
    })
}

/// A failed single v2 transaction: HTTP 400 with the error at the top level (as ODIN reads it)
/// and in results[0].
pub fn v2_single_error(transaction: &str, err: &MiError) -> Value {
    let mut env = v2_envelope(vec![v2_result_err(transaction, err)], 0, 1);
    if let Value::Object(m) = &mut env {
        m.insert("errorMessage".into(), json!(err.message));
        m.insert("errorType".into(), json!(err.kind.as_str()));
        m.insert("errorCode".into(), json!(err.code));
        m.insert("errorField".into(), json!(err.field));
    }
    env
}
