//! A tenant's runs and audit trail as JSON lines (the admin API's export and `ferry export`).
//! Runs are every job of every flow with its checkpoint; the audit is every entry of those
//! jobs' keys, each line naming its tenant and key.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Context, ServiceError};

/// `since` as the store's timestamps spell it (RFC 3339, UTC, milliseconds), so it compares
/// as text; an input that is not RFC 3339 is refused.
pub fn since(since: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(s) = since.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(s)
        .map_err(|e| ServiceError::Input(format!("since {s:?} is not RFC 3339: {e}")))?;
    Ok(Some(
        at.with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    ))
}

/// Every job of the tenant changed at or after `since`, in id order, one object each.
pub async fn runs(
    ctx: &Context,
    tenant: &str,
    since: Option<&str>,
) -> Result<Vec<Value>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    Ok(store
        .jobs(Some(tenant), None)
        .await?
        .into_iter()
        .filter(|j| since.is_none_or(|s| j.updated_at.as_str() >= s))
        .map(|j| serde_json::to_value(&j).unwrap_or(Value::Null))
        .collect())
}

/// Every audit entry about the tenant's jobs' keys at or after `since`, oldest first.
pub async fn audit(
    ctx: &Context,
    tenant: &str,
    since: Option<&str>,
) -> Result<Vec<Value>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let mut keys: Vec<String> = store
        .jobs(Some(tenant), None)
        .await?
        .into_iter()
        .map(|j| j.key)
        .collect();
    // A key shared by two flows has one trail (the store keeps trails per key).
    keys.sort();
    keys.dedup();
    let mut lines = Vec::new();
    for key in keys {
        for e in store.trail(tenant, &key).await? {
            if since.is_none_or(|s| e.at.as_str() >= s) {
                lines.push((
                    e.at.clone(),
                    json!({
                        "tenant": tenant, "key": key, "at": e.at, "job_id": e.job_id,
                        "step": e.step, "message": e.message, "data": e.data,
                    }),
                ));
            }
        }
    }
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(lines.into_iter().map(|(_, v)| v).collect())
}
