//! Calls any export of any world from JSON, for `ferry plugin run`: arguments are converted by
//! the function's own WIT types, results back to JSON. Flows use the typed bindings, but for
//! the customer sync, which calls its roles by name.
//!
//! JSON shapes: records are objects (kebab-case field names), variants `{"case": payload}` or
//! `"case"` without payload, enums strings, options `null` or the value, results
//! `{"ok": ..}` / `{"err": ..}`, lists and tuples arrays, `list<u8>` also a UTF-8 string.

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use wasmtime::component::{Type, Val};

use super::call::CallError;
use super::engine::Runtime;
use super::grants::Grants;
use super::plugin::Plugin;

#[derive(Debug, thiserror::Error)]
pub enum DynamicError {
    #[error("{0}")]
    Call(#[from] CallError),
    #[error("the plugin exports no function '{call}' (it has: {available})")]
    NoSuchCall { call: String, available: String },
    #[error("input: {0}")]
    Input(String),
}

impl Runtime {
    /// Runs `call` (a function of the plugin's role export, e.g. `map-document` or `get-item`)
    /// with arguments from `input` (an object keyed by parameter name). Returns the result as
    /// JSON, e.g. `{"ok": {...}}` or `{"err": {"not-found": "..."}}`.
    pub async fn call_json(
        &self,
        plugin: &Plugin,
        grants: Arc<Grants>,
        call: &str,
        input: &Json,
    ) -> Result<Json, DynamicError> {
        let interface = plugin
            .report
            .exports
            .iter()
            .find(|e| super::contract::role_export(&e.name).is_some())
            .map(|e| (e.name.clone(), e.functions.clone()))
            .ok_or_else(|| {
                DynamicError::Input("the plugin exports none of ferry's roles".into())
            })?;
        if !interface.1.iter().any(|f| f == call) {
            return Err(DynamicError::NoSuchCall {
                call: call.to_string(),
                available: interface.1.join(", "),
            });
        }
        // Inside a run's journal (a flow calling by name, like the customer sync), the call and
        // its exchanges go to the run detail as a typed call's do.
        let recording = ferry_domain::journal::recording();
        let started = std::time::Instant::now();
        let mut store = self.new_store(grants);
        if recording {
            store.data_mut().exchanges = Some(Vec::new());
        }
        let deadline_ms = self.settings.call_deadline_ms;
        let pre = plugin.pre.instance_pre();
        let instance =
            pre.instantiate_async(&mut store)
                .await
                .map_err(|e| CallError::Instantiate {
                    message: format!("{e:#}"),
                })?;
        let iface = instance
            .get_export_index(&mut store, None, &interface.0)
            .ok_or_else(|| DynamicError::Input(format!("export {} missing", interface.0)))?;
        let func_index = instance
            .get_export_index(&mut store, Some(&iface), call)
            .ok_or_else(|| DynamicError::Input(format!("function {call} missing")))?;
        let func = instance
            .get_func(&mut store, func_index)
            .ok_or_else(|| DynamicError::Input(format!("{call} is not a function")))?;
        let ty = func.ty(&store);
        let mut params = Vec::new();
        for (name, pty) in ty.params() {
            let arg = input.get(name).unwrap_or(&Json::Null);
            params
                .push(to_val(arg, &pty).map_err(|e| DynamicError::Input(format!("{name}: {e}")))?);
        }
        let mut results = vec![Val::Bool(false); ty.results().len()];
        let outcome = func.call_async(&mut store, &params, &mut results).await;
        let mut finished = super::call::PluginCall::from_store(store, deadline_ms);
        let exchanges = finished.take_exchanges();
        let call_result = finished.finish(outcome);
        if recording && let Some((role, _)) = super::contract::role_export(&interface.0) {
            super::roles::journal(
                role,
                plugin.digest.clone(),
                plugin.report.version.clone(),
                started.elapsed(),
                call_result.as_ref().err(),
                exchanges,
            );
        }
        call_result?;
        Ok(match results.as_slice() {
            [] => Json::Null,
            [one] => to_json(one),
            many => Json::Array(many.iter().map(to_json).collect()),
        })
    }
}

fn to_val(j: &Json, ty: &Type) -> Result<Val, String> {
    let expected = |what: &str| format!("expected {what}, found {j}");
    Ok(match ty {
        Type::Bool => Val::Bool(j.as_bool().ok_or_else(|| expected("a boolean"))?),
        Type::S8 | Type::S16 | Type::S32 | Type::S64 => {
            let n = j.as_i64().ok_or_else(|| expected("an integer"))?;
            match ty {
                Type::S8 => Val::S8(i8::try_from(n).map_err(|e| e.to_string())?),
                Type::S16 => Val::S16(i16::try_from(n).map_err(|e| e.to_string())?),
                Type::S32 => Val::S32(i32::try_from(n).map_err(|e| e.to_string())?),
                _ => Val::S64(n),
            }
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => {
            let n = j
                .as_u64()
                .ok_or_else(|| expected("a non-negative integer"))?;
            match ty {
                Type::U8 => Val::U8(u8::try_from(n).map_err(|e| e.to_string())?),
                Type::U16 => Val::U16(u16::try_from(n).map_err(|e| e.to_string())?),
                Type::U32 => Val::U32(u32::try_from(n).map_err(|e| e.to_string())?),
                _ => Val::U64(n),
            }
        }
        Type::Char => {
            let s = j.as_str().ok_or_else(|| expected("a character"))?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(expected("exactly one character")),
            }
        }
        Type::String => Val::String(j.as_str().ok_or_else(|| expected("a string"))?.to_string()),
        Type::List(list) => {
            let elem = list.ty();
            if let (Type::U8, Some(s)) = (&elem, j.as_str()) {
                return Ok(Val::List(s.bytes().map(Val::U8).collect()));
            }
            let items = j.as_array().ok_or_else(|| expected("an array"))?;
            Val::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| to_val(v, &elem).map_err(|e| format!("[{i}]: {e}")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Record(record) => {
            let obj = j.as_object().ok_or_else(|| expected("an object"))?;
            let mut fields = Vec::new();
            for field in record.fields() {
                let v = obj.get(field.name).unwrap_or(&Json::Null);
                fields.push((
                    field.name.to_string(),
                    to_val(v, &field.ty).map_err(|e| format!(".{}: {e}", field.name))?,
                ));
            }
            if let Some(extra) = obj
                .keys()
                .find(|k| !record.fields().any(|f| f.name == k.as_str()))
            {
                return Err(format!("unknown field '{extra}'"));
            }
            Val::Record(fields)
        }
        Type::Tuple(tuple) => {
            let items = j.as_array().ok_or_else(|| expected("an array"))?;
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return Err(format!(
                    "expected {} elements, found {}",
                    types.len(),
                    items.len()
                ));
            }
            Val::Tuple(
                items
                    .iter()
                    .zip(&types)
                    .map(|(v, t)| to_val(v, t))
                    .collect::<Result<_, _>>()?,
            )
        }
        Type::Variant(variant) => {
            let (name, payload) = case_of(j).ok_or_else(|| expected("a variant case"))?;
            let case = variant
                .cases()
                .find(|c| c.name == name)
                .ok_or_else(|| format!("unknown case '{name}'"))?;
            let payload = match (case.ty, payload) {
                (Some(t), Some(p)) => Some(Box::new(to_val(p, &t)?)),
                (Some(_), None) => return Err(format!("case '{name}' needs a payload")),
                (None, _) => None,
            };
            Val::Variant(name.to_string(), payload)
        }
        Type::Enum(en) => {
            let s = j.as_str().ok_or_else(|| expected("a string"))?;
            if !en.names().any(|n| n == s) {
                return Err(format!(
                    "unknown case '{s}' (one of: {})",
                    en.names().collect::<Vec<_>>().join(", ")
                ));
            }
            Val::Enum(s.to_string())
        }
        Type::Option(opt) => match j {
            Json::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(to_val(v, &opt.ty())?))),
        },
        Type::Result(res) => {
            let (name, payload) =
                case_of(j).ok_or_else(|| expected("{\"ok\": ..} or {\"err\": ..}"))?;
            let ty = match name {
                "ok" => res.ok(),
                "err" => res.err(),
                other => return Err(format!("expected ok or err, found '{other}'")),
            };
            let inner = match (ty, payload) {
                (Some(t), Some(p)) => Some(Box::new(to_val(p, &t)?)),
                _ => None,
            };
            Val::Result(if name == "ok" { Ok(inner) } else { Err(inner) })
        }
        Type::Flags(_) | Type::Own(_) | Type::Borrow(_) | Type::Float32 | Type::Float64 => {
            return Err(format!("{ty:?} parameters are not supported by plugin run"));
        }
        other => {
            return Err(format!(
                "{other:?} parameters are not supported by plugin run"
            ));
        }
    })
}

/// `"case"` or `{"case": payload}`.
fn case_of(j: &Json) -> Option<(&str, Option<&Json>)> {
    match j {
        Json::String(s) => Some((s.as_str(), None)),
        Json::Object(obj) if obj.len() == 1 => {
            obj.iter().next().map(|(k, v)| (k.as_str(), Some(v)))
        }
        _ => None,
    }
}

fn to_json(v: &Val) -> Json {
    match v {
        Val::Bool(b) => json!(b),
        Val::S8(n) => json!(n),
        Val::S16(n) => json!(n),
        Val::S32(n) => json!(n),
        Val::S64(n) => json!(n),
        Val::U8(n) => json!(n),
        Val::U16(n) => json!(n),
        Val::U32(n) => json!(n),
        Val::U64(n) => json!(n),
        Val::Float32(n) => json!(n),
        Val::Float64(n) => json!(n),
        Val::Char(c) => json!(c.to_string()),
        Val::String(s) => json!(s),
        Val::List(items) => {
            // list<u8> that is valid UTF-8 reads better as a string.
            if !items.is_empty() && items.iter().all(|i| matches!(i, Val::U8(_))) {
                let bytes: Vec<u8> = items
                    .iter()
                    .filter_map(|i| if let Val::U8(b) = i { Some(*b) } else { None })
                    .collect();
                if let Ok(s) = String::from_utf8(bytes) {
                    return json!(s);
                }
            }
            Json::Array(items.iter().map(to_json).collect())
        }
        Val::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        Val::Tuple(items) => Json::Array(items.iter().map(to_json).collect()),
        Val::Variant(name, payload) => match payload {
            Some(p) => json!({ name: to_json(p) }),
            None => json!(name),
        },
        Val::Enum(name) => json!(name),
        Val::Option(opt) => opt.as_ref().map(|v| to_json(v)).unwrap_or(Json::Null),
        Val::Result(res) => match res {
            Ok(v) => json!({ "ok": v.as_ref().map(|v| to_json(v)).unwrap_or(Json::Null) }),
            Err(v) => json!({ "err": v.as_ref().map(|v| to_json(v)).unwrap_or(Json::Null) }),
        },
        Val::Flags(names) => json!(names),
        other => json!(format!("{other:?}")),
    }
}
