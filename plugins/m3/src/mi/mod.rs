//! MI REST transport: one M3 transaction per GET (v2 by default, v1 readable), the v2 bulk POST,
//! response parsing for both formats, and error classification. Every call goes through the
//! host's `http` import on the tenant's connection; the host adds the OAuth token.

use std::cell::Cell;
use std::collections::BTreeMap;

use ferry_pdk::http::{self, Method, Request, Response};
use ferry_pdk::{Error, field_error};
use serde_json::Value as Json;

use answer::V2Answer;
pub use settings::Settings;
pub(crate) use settings::{number_setting, setting, switch};

/// One MI output record: field name → value with M3's blank padding trimmed.
pub type Record = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V1,
    V2,
}

/// A NOK answer from M3: the transaction ran and refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nok {
    pub transaction: String,
    /// `ServerReturnedNOK`, `MandatoryInputFieldNotFound`, `InputFieldTooLong`,
    /// `TransactionNotFound`, ...
    pub kind: String,
    pub code: String,
    pub field: String,
    pub message: String,
}

impl Nok {
    /// "does not exist": the reference's examples and the sandbox use this wording; M3's message
    /// ids for it vary by program (XRE0103 in the sandbox; the real ids are UNVERIFIED), so the
    /// text is what is matched.
    pub fn is_not_found(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        m.contains("does not exist") || m.contains("not found") || m.contains("doesn't exist")
    }

    fn is_conflict(&self) -> bool {
        let m = self.message.to_ascii_lowercase();
        m.contains("already exists") || m.contains("already confirmed") || m.contains("is locked")
    }

    /// Reports M3's own terms for this NOK as the error's vendor details (ferry:host
    /// diagnostics): MI program and transaction, message id, field and error type.
    pub fn report(&self) {
        let (program, transaction) = self
            .transaction
            .split_once('/')
            .unwrap_or((self.transaction.as_str(), ""));
        for (key, value) in [
            ("m3.program", program),
            ("m3.transaction", transaction),
            ("m3.message-id", self.code.as_str()),
            ("m3.field", self.field.as_str()),
            ("m3.error-type", self.kind.as_str()),
        ] {
            ferry_pdk::detail(key, value);
        }
    }

    /// The classified error for a lookup or a write outside an order (its details reported).
    pub fn classify(&self) -> Error {
        self.report();
        let text = self.describe();
        match self.kind.as_str() {
            "TransactionNotFound" => Error::fatal(text),
            "MandatoryInputFieldNotFound" | "InputFieldTooLong" => {
                Error::Invalid(vec![field_error(&self.field_or("record"), None, &text)])
            }
            _ if self.is_not_found() => Error::not_found(text),
            _ if self.is_conflict() => Error::conflict(text),
            _ => Error::Invalid(vec![field_error(&self.field_or("record"), None, &text)]),
        }
    }

    pub fn field_or(&self, default: &str) -> String {
        if self.field.trim().is_empty() {
            default.to_string()
        } else {
            self.field.trim().to_string()
        }
    }

    pub fn describe(&self) -> String {
        let mut s = format!("{}: {}", self.transaction, self.message.trim());
        if !self.code.trim().is_empty() {
            s.push_str(&format!(" ({})", self.code.trim()));
        }
        s
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An input under this name is the `returncols` option (only these fields in the answer), not
/// a transaction field: a list read whole stays small.
pub const RETURN_COLUMNS: &str = "returncols";

/// The MI client for one plugin call; counts the round trips it made.
pub struct Mi {
    pub settings: Settings,
    round_trips: Cell<u32>,
}

impl Mi {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            round_trips: Cell::new(0),
        }
    }

    pub fn round_trips(&self) -> u32 {
        self.round_trips.get()
    }

    /// The request path of one transaction (relative to the connection's base URL), its
    /// blank fields kept or left out of the answer.
    pub fn path(
        &self,
        program: &str,
        transaction: &str,
        inputs: &[(String, String)],
        maxrecs: Option<u32>,
        blanks: Blanks,
    ) -> String {
        let exclude = blanks == Blanks::Omit;
        let s = &self.settings;
        let columns = inputs
            .iter()
            .find(|(k, _)| k == RETURN_COLUMNS)
            .map(|(_, v)| encode(v));
        let fields: Vec<String> = inputs
            .iter()
            .filter(|(k, _)| k != RETURN_COLUMNS)
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        match s.api {
            Api::V2 => {
                let mut q = vec![
                    format!("maxrecs={}", maxrecs.unwrap_or(s.page_size)),
                    "righttrim=true".to_string(),
                    format!("excludeempty={exclude}"),
                ];
                if let Some(c) = &s.cono {
                    q.push(format!("cono={}", encode(c)));
                }
                if let Some(d) = &s.divi {
                    q.push(format!("divi={}", encode(d)));
                }
                if let Some(c) = &columns {
                    q.push(format!("returncols={c}"));
                }
                q.extend(fields);
                format!(
                    "{}/v2/execute/{}/{}?{}",
                    s.base_path,
                    encode(program),
                    encode(transaction),
                    q.join("&")
                )
            }
            Api::V1 => {
                // v1 options are matrix parameters after the transaction (ODIN's form).
                let mut m = format!(
                    ";maxrecs={};excludempty={exclude};metadata=false",
                    maxrecs.unwrap_or(s.page_size)
                );
                if let Some(c) = &s.cono {
                    m.push_str(&format!(";cono={}", encode(c)));
                }
                if let Some(d) = &s.divi {
                    m.push_str(&format!(";divi={}", encode(d)));
                }
                if let Some(c) = &columns {
                    m.push_str(&format!(";returncols={c}"));
                }
                let mut p = format!(
                    "{}/execute/{}/{}{m}",
                    s.base_path,
                    encode(program),
                    encode(transaction)
                );
                if !fields.is_empty() {
                    p.push('?');
                    p.push_str(&fields.join("&"));
                }
                p
            }
        }
    }
}

/// Whether an answer carries its blank fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blanks {
    Keep,
    Omit,
}

/// Extra tries for a read-only transaction whose transport failed.
const READ_RETRIES: u32 = 2;

/// M3's naming convention: Get*, Lst*, Search* and Sel* transactions only read.
fn is_read(transaction: &str) -> bool {
    ["Get", "Lst", "Search", "Sel"]
        .iter()
        .any(|p| transaction.starts_with(p))
}

impl Mi {
    /// A read may be resent by the host after a 429/503; a write never is (a gateway may answer
    /// 503 after M3 performed it): the flow reads M3 back instead.
    fn send(&self, request: Request, read: bool) -> Result<Response, Error> {
        self.round_trips.set(self.round_trips.get() + 1);
        if read {
            http::send_idempotent(&self.settings.connection, &request)
        } else {
            http::send(&self.settings.connection, &request)
        }
    }

    /// Runs one transaction; a NOK is returned as `Ok(Err(nok))` for callers that map it.
    pub fn try_call(
        &self,
        program: &str,
        transaction: &str,
        inputs: &[(String, String)],
        maxrecs: Option<u32>,
    ) -> Result<Result<Vec<Record>, Nok>, Error> {
        self.try_call_with(program, transaction, inputs, maxrecs, Blanks::Keep)
    }

    fn try_call_with(
        &self,
        program: &str,
        transaction: &str,
        inputs: &[(String, String)],
        maxrecs: Option<u32>,
        blanks: Blanks,
    ) -> Result<Result<Vec<Record>, Nok>, Error> {
        let request = Request {
            method: Method::Get,
            path: self.path(program, transaction, inputs, maxrecs, blanks),
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
        };
        let what = format!("{program}/{transaction}");
        // A read changes nothing in M3, so a transport failure (a reset, a timeout, a lost
        // answer) is safe to repeat here; a write never is (the flow reads M3 back instead).
        let read = is_read(transaction);
        let attempts = if read { 1 + READ_RETRIES } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            match self.send(request.clone(), read) {
                Ok(response) => return parse_response(self.settings.api, &what, &response),
                Err(e @ Error::Transient(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::transient(format!("{what}: no attempt made"))))
    }

    /// Runs one transaction; a NOK becomes its classified error.
    pub fn call(
        &self,
        program: &str,
        transaction: &str,
        inputs: &[(String, String)],
        maxrecs: Option<u32>,
    ) -> Result<Vec<Record>, Error> {
        self.try_call(program, transaction, inputs, maxrecs)?
            .map_err(|nok| nok.classify())
    }

    /// A listing for a sync, its blank fields left out (`excludeempty`): an item record has
    /// about a hundred fields, most of them blank, so a page of 500 items is a third of the
    /// bytes to send, parse and map. A blank field and a missing one read the same to a
    /// mapping (both are empty).
    pub fn list(
        &self,
        program: &str,
        transaction: &str,
        inputs: &[(String, String)],
        maxrecs: Option<u32>,
    ) -> Result<Vec<Record>, Error> {
        self.try_call_with(program, transaction, inputs, maxrecs, Blanks::Omit)?
            .map_err(|nok| nok.classify())
    }

    /// One record from a Get-style transaction; no record at all is not-found.
    pub fn get_one(
        &self,
        program: &str,
        transaction: &str,
        inputs: &[(String, String)],
    ) -> Result<Record, Error> {
        self.call(program, transaction, inputs, Some(1))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("{program}/{transaction}: no record")))
    }

    /// Several transactions of one program in one `POST …/v2/execute`. Each result is that
    /// transaction's records or its NOK. The bulk call is not atomic (each transaction commits
    /// on its own; UNVERIFIED in Infor's documentation, the most plausible reading).
    pub fn bulk(
        &self,
        program: &str,
        transactions: &[(String, Vec<(String, String)>)],
    ) -> Result<Vec<Result<Vec<Record>, Nok>>, Error> {
        self.bulk_as(program, transactions, false)
    }

    /// [`Mi::bulk`] of reads only (Get*/Lst* transactions): changes nothing in M3, so the host
    /// may resend it after a 429/503 and a transport failure is tried again here.
    pub fn bulk_read(
        &self,
        program: &str,
        transactions: &[(String, Vec<(String, String)>)],
    ) -> Result<Vec<Result<Vec<Record>, Nok>>, Error> {
        if let Some((trn, _)) = transactions.iter().find(|(t, _)| !is_read(t)) {
            return Err(Error::fatal(format!(
                "{program}/{trn} is not a read: not sent as a read-only bulk"
            )));
        }
        let mut last = None;
        for _ in 0..=READ_RETRIES {
            match self.bulk_as(program, transactions, true) {
                Err(e @ Error::Transient(_)) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| Error::transient(format!("{program} bulk: no attempt made"))))
    }

    fn bulk_as(
        &self,
        program: &str,
        transactions: &[(String, Vec<(String, String)>)],
        read: bool,
    ) -> Result<Vec<Result<Vec<Record>, Nok>>, Error> {
        let s = &self.settings;
        let mut body = serde_json::Map::new();
        body.insert("program".into(), Json::String(program.into()));
        if let Some(c) = &s.cono {
            body.insert("cono".into(), Json::String(c.clone()));
        }
        if let Some(d) = &s.divi {
            body.insert("divi".into(), Json::String(d.clone()));
        }
        body.insert("excludeEmptyValues".into(), Json::Bool(false));
        body.insert("rightTrim".into(), Json::Bool(true));
        body.insert("maxReturnedRecords".into(), Json::from(0));
        let list: Vec<Json> = transactions
            .iter()
            .map(|(trn, fields)| {
                let record: serde_json::Map<String, Json> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                    .collect();
                serde_json::json!({"transaction": trn, "record": record})
            })
            .collect();
        body.insert("transactions".into(), Json::Array(list));
        let bytes = serde_json::to_vec(&Json::Object(body))
            .map_err(|e| Error::fatal(format!("encoding bulk request: {e}")))?;
        let request = Request {
            method: Method::Post,
            path: format!("{}/v2/execute", s.base_path),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: Some(bytes),
        };
        let what = format!("{program} bulk");
        let response = self.send(request, read)?;
        check_status(&what, &response)?;
        let answer: V2Answer = parse_json(&what, &response.body)?;
        let results = answer
            .results
            .ok_or_else(|| Error::fatal(format!("{what}: response has no results")))?;
        if results.len() != transactions.len() {
            return Err(Error::fatal(format!(
                "{what}: {} transactions sent, {} results returned",
                transactions.len(),
                results.len()
            )));
        }
        Ok(results
            .into_iter()
            .zip(transactions)
            .map(|(r, (trn, _))| r.into_records(&format!("{program}/{trn}")))
            .collect())
    }
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Statuses that are not an MI answer at all.
fn check_status(what: &str, response: &Response) -> Result<(), Error> {
    match response.status {
        200..=299 | 400 => Ok(()),
        // The host already renewed the token once and retried: the credentials are refused.
        401 | 403 => Err(Error::unauthorized(format!(
            "{what}: HTTP {} from the ION API gateway",
            response.status
        ))),
        404 => Err(Error::fatal(format!(
            "{what}: HTTP 404 (check the connection's base URL and the base_path setting)"
        ))),
        429 => {
            let retry_ms = header(response, "retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| s * 1000);
            Err(Error::rate_limited(retry_ms, format!("{what}: HTTP 429")))
        }
        408 | 500..=599 => Err(Error::transient(format!(
            "{what}: HTTP {}",
            response.status
        ))),
        s => Err(Error::fatal(format!("{what}: unexpected HTTP {s}"))),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body)
        .map_err(|e| Error::transient(format!("{what}: the response is not MI JSON ({e})")))
}

fn text(v: Option<&Json>) -> String {
    match v {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn nok_from(what: &str, obj: &Json, kind: &str, code: &str, field: &str, message: &str) -> Nok {
    nok_of(
        what,
        [
            obj.get(kind),
            obj.get(code),
            obj.get(field),
            obj.get(message),
        ],
    )
}

/// A NOK from its kind, code, field and message as M3 sent them (v1 or v2), trimmed.
fn nok_of(what: &str, [kind, code, field, message]: [Option<&Json>; 4]) -> Nok {
    Nok {
        transaction: what.to_string(),
        kind: text(kind).trim().to_string(),
        code: text(code).trim().to_string(),
        field: text(field).trim().to_string(),
        message: text(message).trim().to_string(),
    }
}

/// Parses one transaction's HTTP answer in the configured format.
pub fn parse_response(
    api: Api,
    what: &str,
    response: &Response,
) -> Result<Result<Vec<Record>, Nok>, Error> {
    check_status(what, response)?;
    match api {
        Api::V2 => {
            // HTTP 400: the error is at the top level (and in results[0]); HTTP 200: in results[0].
            let answer: V2Answer = parse_json(what, &response.body)?;
            if let Some(nok) = answer.nok(what) {
                return Ok(Err(nok));
            }
            let first = answer.results.and_then(|r| r.into_iter().next());
            match (response.status, first.map(|f| f.into_records(what))) {
                (_, Some(Err(nok))) => Ok(Err(nok)),
                (400, _) => Err(Error::fatal(format!(
                    "{what}: HTTP 400 without an MI error"
                ))),
                (_, Some(records)) => Ok(records),
                (_, None) => Ok(Ok(Vec::new())),
            }
        }
        Api::V1 => {
            if response.status == 400 {
                return Err(Error::fatal(format!("{what}: HTTP 400")));
            }
            let json: Json = parse_json(what, &response.body)?;
            // NOK at the top level; a list that failed part-way nests it under ErrorMessage
            // (KB 2159861): the partial records are not trusted.
            if json.get("@type").is_some() {
                return Ok(Err(nok_from(
                    what, &json, "@type", "@code", "@field", "Message",
                )));
            }
            if let Some(e) = json.get("ErrorMessage").filter(|e| e.is_object()) {
                return Ok(Err(nok_from(
                    what, e, "@type", "@code", "@field", "Message",
                )));
            }
            let records = json
                .get("MIRecord")
                .and_then(Json::as_array)
                .map(|rows| {
                    rows.iter()
                        .map(|row| {
                            row.get("NameValue")
                                .and_then(Json::as_array)
                                .map(|nvs| {
                                    nvs.iter()
                                        .filter_map(|nv| {
                                            let name = nv.get("Name")?.as_str()?;
                                            Some((
                                                name.to_string(),
                                                text(nv.get("Value")).trim_end().to_string(),
                                            ))
                                        })
                                        .collect()
                                })
                                .unwrap_or_default()
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Ok(records))
        }
    }
}

mod answer;
mod settings;
#[cfg(test)]
mod tests;
