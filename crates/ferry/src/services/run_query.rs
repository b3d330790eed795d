//! Finding runs: by flow, status and time range, beside the tenant and the business-key search
//! of [`journeys::search`](super::journeys::search). A run is in a time range when its life
//! overlaps it: created at or before `to`, last changed at or after `from`.

pub mod detail;
pub mod search;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

use super::journeys::{self, Journey};
use super::{Context, ServiceError};
use crate::flows::quote_to_order::KIND;
use ferry_store::{Job, JobState};

/// The flow filter's value for every flow.
pub const ANY_FLOW: &str = "any";

/// Which runs: None flow is quote-to-order (the runs people search by quote number).
#[derive(Debug, Default, Clone)]
pub struct RunQuery {
    pub state: Option<JobState>,
    /// A job kind, [`ANY_FLOW`], or None for quote-to-order.
    pub flow: Option<String>,
    /// RFC 3339 UTC with milliseconds, as rows carry it ([`instant`] makes one).
    pub from: Option<String>,
    pub to: Option<String>,
    /// A quote number or id, order reference, ERP order number, a job key, a line's item,
    /// a customer (number or part of the name) or an ERP event's (BOD's) id ([`search`]).
    pub text: Option<String>,
}

/// A time as a person or a form gives it (`2026-12-03T10:00:00Z`, `2026-12-03T10:00` as a
/// browser's datetime input sends it, read as UTC, or a bare date), as rows compare it.
pub fn instant(text: Option<&str>, name: &str) -> Result<Option<String>, ServiceError> {
    let Some(s) = text.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").map(|t| t.and_utc()))
        .or_else(|_| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        })
        .map_err(|_| {
            ServiceError::Input(format!(
                "{name} {s:?} is not a time (2026-12-03T10:00:00Z, 2026-12-03T10:00 UTC or 2026-12-03)"
            ))
        })?;
    Ok(Some(at.to_rfc3339_opts(SecondsFormat::Millis, true)))
}

/// A flow filter as given: empty is quote-to-order; an unknown flow is an input error.
pub fn flow(text: Option<&str>) -> Result<Option<String>, ServiceError> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(f) if f == ANY_FLOW || super::controls::FLOWS.contains(&f) => Ok(Some(f.to_string())),
        Some(f) => Err(ServiceError::Input(format!(
            "unknown flow {f:?}: one of {}, or {ANY_FLOW}",
            super::controls::FLOWS.join(", ")
        ))),
    }
}

/// The tenant's runs the query matches, in id order.
pub async fn find(ctx: &Context, tenant: &str, q: &RunQuery) -> Result<Vec<Job>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let flow = q.flow.as_deref().unwrap_or(KIND);
    let search = match q.text.as_deref() {
        Some(t) => Some(search::Search::new(&*store, tenant, t).await?),
        None => None,
    };
    Ok(store
        .jobs(Some(tenant), q.state)
        .await?
        .into_iter()
        .filter(|j| flow == ANY_FLOW || j.kind == flow)
        .filter(|j| q.from.as_deref().is_none_or(|f| j.updated_at.as_str() >= f))
        .filter(|j| q.to.as_deref().is_none_or(|t| j.created_at.as_str() <= t))
        .filter(|j| search.as_ref().is_none_or(|s| s.matches(j)))
        .collect())
}

/// One run of any flow by its key (a quote-to-order run also by its quote number).
pub async fn trace(
    ctx: &Context,
    tenant: &str,
    flow: Option<&str>,
    run: &str,
) -> Result<Journey, ServiceError> {
    let flow = flow.filter(|f| !f.is_empty() && *f != KIND && *f != ANY_FLOW);
    let Some(flow) = flow else {
        return journeys::trace(ctx, tenant, run).await;
    };
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let job = store
        .job(tenant, flow, run)
        .await?
        .ok_or_else(|| ServiceError::NoQuote {
            tenant: tenant.to_string(),
            quote: run.to_string(),
        })?;
    let trail = store.trail(tenant, &job.key).await?;
    Ok(Journey {
        quote_id: job.key.clone(),
        quote_number: None,
        job,
        trail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_people_and_forms_give_them_and_compared_as_rows_carry_them() {
        let at = |s: &str| instant(Some(s), "from").expect("a time");
        assert_eq!(
            at("2026-12-03T10:00:00+01:00").as_deref(),
            Some("2026-12-03T09:00:00.000Z")
        );
        assert_eq!(
            at("2026-12-03T10:00").as_deref(),
            Some("2026-12-03T10:00:00.000Z")
        );
        assert_eq!(
            at("2026-12-03").as_deref(),
            Some("2026-12-03T00:00:00.000Z")
        );
        assert_eq!(instant(Some("  "), "from").expect("empty"), None);
        assert!(
            matches!(instant(Some("yesterday"), "from"), Err(ServiceError::Input(m)) if m.contains("from"))
        );
        assert!(flow(Some("nope")).is_err());
        assert_eq!(flow(Some("any")).expect("any").as_deref(), Some(ANY_FLOW));
    }
}
