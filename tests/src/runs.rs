//! A run as the admin API shows it (issue 13's run detail), for the tests that check what a
//! run recorded: its steps and the plugin calls each made.

use serde_json::Value;

use crate::holds::tenant_token;
use crate::stack::{Stack, TENANT};

/// `GET /api/v1/tenants/T/runs/RUN[?flow=FLOW]` with a new tenant token: the run's detail.
pub fn run_detail(stack: &Stack, run: &str, flow: Option<&str>) -> Value {
    let mut url = format!("{}/api/v1/tenants/{TENANT}/runs/{run}", stack.ferry_url());
    if let Some(flow) = flow {
        url.push_str(&format!("?flow={flow}"));
    }
    reqwest::blocking::Client::new()
        .get(&url)
        .bearer_auth(tenant_token(stack))
        .send()
        .expect("GET run")
        .error_for_status()
        .expect("200")
        .json()
        .expect("json")
}

/// Every plugin call of every step of a run's detail.
pub fn plugin_calls(detail: &Value) -> Vec<&Value> {
    detail["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["calls"].as_array().into_iter().flatten())
        .collect()
}

/// Whether a call sent a request whose path contains `part`.
pub fn requested(call: &Value, part: &str) -> bool {
    call["exchanges"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["path"].as_str().is_some_and(|p| p.contains(part)))
}
