//! A run's steps as the run detail shows them: from the trail entries the flow writes with
//! each step's plugin calls (`ferry_flows`' `flows/src/calls.rs`), per step its attempts,
//! how long it took, the plugins that served it (name and version read from the component by
//! digest) and the HTTP requests they sent, already masked when stored.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::services::Context;
use ferry_domain::journal::{Exchange, PluginCall};
use ferry_store::AuditEntry;

/// Digest characters shown (enough to tell components apart).
const DIGEST_PREFIX: usize = 12;

/// One step the run worked on, with every attempt's calls.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepView {
    pub step: String,
    /// When the step was first worked on (its first calls' entry).
    pub at: String,
    /// Attempts that worked on it (failed ones included).
    pub attempts: usize,
    pub failed_attempts: usize,
    /// Time spent on it, all attempts.
    pub duration_ms: u64,
    pub calls: Vec<CallView>,
}

/// One plugin call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    /// The job's attempt it was made in.
    pub attempt: i64,
    /// Whether that attempt failed.
    pub failed: bool,
    pub role: String,
    pub plugin: PluginRef,
    pub duration_ms: u64,
    /// Why the host stopped it (deadline, memory, trap), if it did.
    pub stopped: Option<String>,
    pub exchanges: Vec<ExchangeView>,
    /// Requests past the per-call cap, not kept.
    pub exchanges_dropped: u32,
}

/// The component that served a call.
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct PluginRef {
    /// Its own name and version (`component-name`, `version` metadata), when it carries them.
    pub name: Option<String>,
    pub version: Option<String>,
    /// The first 12 characters of its sha256.
    pub digest: String,
    /// The role package version it was built against.
    pub contract: Option<String>,
}

/// One HTTP request and its answer; secrets were masked before they were stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExchangeView {
    pub connection: String,
    pub method: String,
    pub path: String,
    /// `[name, value]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl From<Exchange> for ExchangeView {
    fn from(e: Exchange) -> Self {
        ExchangeView {
            connection: e.connection,
            method: e.method,
            path: e.path,
            request_headers: e.request_headers,
            request_body: e.request_body,
            status: e.status,
            response_body: e.response_body,
            error: e.error,
            duration_ms: e.duration_ms,
        }
    }
}

/// The steps of a trail, in the order they were first worked on. A job that runs again and
/// again under one key (a tenant's catalog sync) names each run in its entries: only the
/// newest run's count.
pub fn steps(ctx: &Context, trail: &[AuditEntry]) -> Vec<StepView> {
    let mut plugins: HashMap<String, PluginRef> = HashMap::new();
    let mut steps: Vec<StepView> = Vec::new();
    let run_of = |e: &AuditEntry| {
        e.data
            .get("run")
            .and_then(|r| r.as_str())
            .map(str::to_owned)
    };
    let newest = trail
        .iter()
        .rev()
        .find(|e| e.data.get("calls").is_some())
        .and_then(run_of);
    for entry in trail {
        let Some(calls) = entry.data.get("calls") else {
            continue;
        };
        if newest.is_some() && run_of(entry) != newest {
            continue;
        }
        let Ok(calls) = serde_json::from_value::<Vec<PluginCall>>(calls.clone()) else {
            continue;
        };
        let attempt = entry.data["attempt"].as_i64().unwrap_or(0);
        let failed = entry.data["failed"].as_bool().unwrap_or(false);
        let duration = entry.data["duration_ms"].as_u64().unwrap_or(0);
        let i = match steps.iter().position(|s| s.step == entry.step) {
            Some(i) => i,
            None => {
                steps.push(StepView {
                    step: entry.step.clone(),
                    at: entry.at.clone(),
                    attempts: 0,
                    failed_attempts: 0,
                    duration_ms: 0,
                    calls: Vec::new(),
                });
                steps.len() - 1
            }
        };
        let step = &mut steps[i];
        // A step committed in chunks (an order's lines) writes one entry per chunk, all in
        // the same attempt.
        if step.calls.last().is_none_or(|c| c.attempt != attempt) || failed {
            step.attempts += 1;
        }
        step.failed_attempts += usize::from(failed);
        step.duration_ms += duration;
        for call in calls {
            let plugin = plugins
                .entry(call.digest.clone())
                .or_insert_with(|| plugin_ref(ctx, &call))
                .clone();
            step.calls.push(CallView {
                attempt,
                failed,
                role: call.role,
                plugin,
                duration_ms: call.duration_ms,
                stopped: call.stopped,
                exchanges: call.exchanges.into_iter().map(ExchangeView::from).collect(),
                exchanges_dropped: call.exchanges_dropped,
            });
        }
    }
    steps
}

/// What the registry's copy of the component says it is (name and version unknown without
/// one, or when the component carries none).
fn plugin_ref(ctx: &Context, call: &PluginCall) -> PluginRef {
    let meta = ctx
        .registry()
        .and_then(|r| r.blob(&call.digest).ok())
        .map(|bytes| crate::services::metadata::read(&bytes))
        .unwrap_or_default();
    PluginRef {
        name: meta.name,
        version: meta.version,
        digest: call.digest.chars().take(DIGEST_PREFIX).collect(),
        contract: call.contract.clone(),
    }
}

/// Trail entries as the quote-to-order flow writes them after a step's plugin calls, with
/// a secret in every place a connector could put one (for the handler tests).
#[cfg(test)]
pub(crate) mod seed {
    use ferry_domain::journal::{Exchange, PluginCall};
    use ferry_store::Audit;
    use serde_json::json;

    pub const DIGEST: &str = "0123456789abcdef0123456789abcdef";

    /// One attempt at `step` of run `key`: one erp call that sent `transaction` to M3.
    pub async fn step(
        store: &dyn Audit,
        (tenant, key): (&str, &str),
        step: &str,
        (attempt, failed): (i64, bool),
        transaction: &str,
        secret: &str,
    ) {
        let mut exchange = Exchange::request(
            "m3",
            "GET",
            &format!("m3api-rest/v2/execute/OIS100MI/{transaction}?CUNO=C1&password={secret}"),
            &[("X-Api-Key".into(), secret.into())],
            Some(format!(r#"{{"client_secret": "{secret}"}}"#).as_bytes()),
        );
        exchange.answered(
            200,
            format!(r#"{{"results": [{{"ORNO": "1000042"}}], "access_token": "{secret}"}}"#)
                .as_bytes(),
        );
        let call = PluginCall {
            role: "erp".into(),
            digest: DIGEST.into(),
            contract: Some("1.3.0".into()),
            duration_ms: 12,
            stopped: None,
            exchanges: vec![exchange],
            exchanges_dropped: 0,
        };
        let data = json!({
            "attempt": attempt,
            "duration_ms": 15,
            "failed": failed,
            "calls": [call],
            "calls_dropped": 0,
        });
        store
            .audit(
                tenant,
                "quote-to-order",
                key,
                step,
                "1 plugin call(s)",
                &data,
            )
            .await
            .expect("audit");
    }
}
