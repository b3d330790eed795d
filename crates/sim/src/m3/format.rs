//! Rendering MI results on the wire: v1 (MIRecord/NameValue/Metadata, blank padded,
//! ServerReturnedNOK at the top level) and v2 (flat records under results[], counters,
//! errorMessage/errorCode/errorField/errorType).

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
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
    let v = rec.get(f.name.as_str()).map(String::as_str).unwrap_or("");
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

/// One transaction's records as v2 writes them, serialized straight from the records: a
/// 100,000-row listing builds no JSON tree on the way (it cost more than the query).
pub struct V2Records {
    /// The fields written (name, length), in the transaction's order.
    fields: Vec<(String, usize)>,
    records: Vec<Record>,
    exclude_empty: bool,
    pad: bool,
}

pub fn v2_records(def: &TransactionDef, records: Vec<Record>, opts: &OutputOpts) -> V2Records {
    V2Records {
        fields: selected(def, opts)
            .into_iter()
            .map(|f| (f.name.clone(), f.length))
            .collect(),
        records,
        exclude_empty: opts.exclude_empty,
        pad: opts.pad,
    }
}

impl Serialize for V2Records {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.records.len()))?;
        for rec in &self.records {
            seq.serialize_element(&V2Row(self, rec))?;
        }
        seq.end()
    }
}

struct V2Row<'a>(&'a V2Records, &'a Record);

impl Serialize for V2Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let V2Row(out, rec) = self;
        let mut map = s.serialize_map(None)?;
        for (name, width) in &out.fields {
            let v = rec.get(name.as_str()).map(String::as_str).unwrap_or("");
            if out.exclude_empty && v.trim().is_empty() {
                continue;
            }
            if out.pad {
                map.serialize_entry(name, &format!("{v:<width$}"))?;
            } else {
                map.serialize_entry(name, v.trim_end())?;
            }
        }
        map.end()
    }
}

/// One transaction's result in a v2 answer: its records, or its error.
#[derive(Serialize)]
#[serde(untagged)]
pub enum V2Result {
    Ok {
        transaction: String,
        records: V2Records,
    },
    Err(Value),
}

pub fn v2_result_ok(transaction: &str, records: V2Records) -> V2Result {
    V2Result::Ok {
        transaction: transaction.to_string(),
        records,
    }
}

pub fn v2_result_err(transaction: &str, err: &MiError) -> V2Result {
    V2Result::Err(error_result(transaction, err))
}

fn error_result(transaction: &str, err: &MiError) -> Value {
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct V2Envelope {
    results: Vec<V2Result>,
    was_terminated: bool,
    nr_of_successfull_transactions: usize,
    nr_of_failed_transactions: usize,
}

pub fn v2_envelope(results: Vec<V2Result>, ok: usize, failed: usize) -> V2Envelope {
    V2Envelope {
        results,
        was_terminated: false,
        nr_of_successfull_transactions: ok,
        nr_of_failed_transactions: failed,
    }
}

/// A failed single v2 transaction: HTTP 400 with the error at the top level (as ODIN reads it)
/// and in results[0].
pub fn v2_single_error(transaction: &str, err: &MiError) -> Value {
    json!({
        "results": [error_result(transaction, err)],
        "wasTerminated": false,
        "nrOfSuccessfullTransactions": 0,
        "nrOfFailedTransactions": 1,
        "errorMessage": err.message,
        "errorType": err.kind.as_str(),
        "errorCode": err.code,
        "errorField": err.field,
    })
}
