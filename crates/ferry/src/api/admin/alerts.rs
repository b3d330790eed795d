//! A tenant's alert rules (`[tenants.T.alerts]`), each evaluated now, with what each channel
//! was last sent.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AdminState, Caller, ErrorBody, from_service};
use crate::api::ApiError;
use crate::services::alerts::{self, AlertChannel, ChannelState, RuleStatus, TenantAlertsStatus};

/// A channel alerts are sent to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertChannelView {
    /// `webhook` or `email`.
    pub id: String,
    /// Where it goes, never a secret: the webhook URL's reference, or the addresses and the
    /// SMTP server.
    pub target: String,
}

impl From<AlertChannel> for AlertChannelView {
    fn from(c: AlertChannel) -> Self {
        AlertChannelView {
            id: c.id,
            target: c.target,
        }
    }
}

/// What one channel was last sent for a rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelStateView {
    /// `webhook` or `email`.
    pub channel: String,
    /// True: last sent FIRING (not resolved since); false: nothing sent, or last sent
    /// RESOLVED.
    pub firing: bool,
}

impl From<ChannelState> for ChannelStateView {
    fn from(c: ChannelState) -> Self {
        ChannelStateView {
            channel: c.channel,
            firing: c.firing,
        }
    }
}

/// One rule, evaluated now.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertRuleView {
    /// The rule's name (its kind unless named).
    pub name: String,
    /// `failure-rate`, `dead-letters`, `hold-age`, `quote-not-ordered` or `catalog-not-synced`.
    pub kind: String,
    /// Its thresholds as configured (`window = 15m, percent = 20, min_runs = 5`).
    pub settings: String,
    /// Whether it holds now (the alert fires).
    pub holds: bool,
    /// The figures and the threshold, in one line.
    pub summary: String,
    /// The first few jobs concerned, when it holds.
    pub examples: Vec<String>,
    /// Per configured channel, what it was last sent.
    pub channels: Vec<ChannelStateView>,
}

impl From<RuleStatus> for AlertRuleView {
    fn from(r: RuleStatus) -> Self {
        AlertRuleView {
            name: r.name,
            kind: r.kind,
            settings: r.settings,
            holds: r.holds,
            summary: r.summary,
            examples: r.examples,
            channels: r.channels.into_iter().map(Into::into).collect(),
        }
    }
}

/// A tenant's alerts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantAlertsView {
    pub tenant: String,
    /// False: no rules are configured (`[tenants.T.alerts]`); nothing is evaluated or sent.
    pub configured: bool,
    /// How often the server evaluates the rules, in seconds.
    pub every_secs: u64,
    pub channels: Vec<AlertChannelView>,
    pub rules: Vec<AlertRuleView>,
}

impl From<TenantAlertsStatus> for TenantAlertsView {
    fn from(a: TenantAlertsStatus) -> Self {
        TenantAlertsView {
            tenant: a.tenant,
            configured: a.configured,
            every_secs: a.every_secs,
            channels: a.channels.into_iter().map(Into::into).collect(),
            rules: a.rules.into_iter().map(Into::into).collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/alerts", tag = "alerts",
    params(("tenant" = String, Path, description = "Tenant name")),
    responses(
        (status = 200, description = "Each configured alert rule with its settings, evaluated now (holding or clear, summary, examples), and per channel whether it was last sent FIRING", body = TenantAlertsView),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such tenant for this token", body = ErrorBody)))]
pub async fn alerts(
    State(state): State<AdminState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<TenantAlertsView>, ApiError> {
    caller.tenant(&state, &tenant)?;
    let status = alerts::tenant_alerts(&state.ctx, &tenant)
        .await
        .map_err(from_service)?;
    Ok(Json(status.into()))
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
