//! A tenant's alerts as an operator reads them (`[tenants.T.alerts]`): each configured rule
//! with its settings, what it reads against the store now (holding or clear, the figures, the
//! jobs concerned), and per channel whether that channel was last sent it FIRING (the
//! server's sent-state, kept in the store; none: nothing sent yet).
//!
//! Evaluated here on demand with the very rules `ferry serve` evaluates every `every`; nothing
//! is sent from here and the sent-state is only read.

use serde::Serialize;

use super::{Context, ServiceError};
use crate::alerts::{self, Sent, rules};
use crate::config::alerts::{AlertRule, TenantAlerts};
use ferry_store::clock_ms;

/// One channel alerts are sent to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AlertChannel {
    /// `webhook` or `email` (the id the sent-state keeps).
    pub id: String,
    /// Where it goes, without a secret: the webhook URL's reference (`{ env = "…" }`), or the
    /// addresses and the SMTP server.
    pub target: String,
}

/// Whether one channel was last sent a rule firing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ChannelState {
    pub channel: String,
    /// True: last sent FIRING (not yet resolved); false: nothing sent or last sent RESOLVED.
    pub firing: bool,
}

/// One configured rule and what it reads now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RuleStatus {
    /// The rule's name (its kind unless named).
    pub name: String,
    /// `failure-rate`, `dead-letters`, `hold-age`, `quote-not-ordered`, `catalog-not-synced`.
    pub kind: String,
    /// Its settings as configured (`window = 15m, percent = 20, min_runs = 5`).
    pub settings: String,
    /// Whether it holds now (the alert fires).
    pub holds: bool,
    /// The figures and the threshold, in one line.
    pub summary: String,
    /// The first few jobs concerned, when it holds.
    pub examples: Vec<String>,
    /// Per configured channel, what it was last sent.
    pub channels: Vec<ChannelState>,
}

/// A tenant's alerts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TenantAlertsStatus {
    pub tenant: String,
    /// False: the tenant has no rules (nothing is evaluated nor sent).
    pub configured: bool,
    /// How often `ferry serve` evaluates the rules, in seconds.
    pub every_secs: u64,
    pub channels: Vec<AlertChannel>,
    pub rules: Vec<RuleStatus>,
}

/// Every rule of `tenant`, evaluated now, with what each channel was last sent.
pub async fn tenant_alerts(
    ctx: &Context,
    tenant: &str,
) -> Result<TenantAlertsStatus, ServiceError> {
    let config = &ctx.tenant(tenant)?.alerts;
    let channels = channels(config);
    if config.rules.is_empty() {
        return Ok(TenantAlertsStatus {
            tenant: tenant.to_string(),
            configured: false,
            every_secs: config.every.as_secs(),
            channels,
            rules: Vec::new(),
        });
    }
    let store = ctx.open_store().await?;
    let sent = Sent::read(store.as_ref(), &ctx.data_dir, tenant).await?;
    let now = clock_ms();
    // The catalog rule counts from when this server started evaluating, as its evaluator does.
    let started = alerts::started_ms().unwrap_or(now);
    let mut rules = Vec::with_capacity(config.rules.len());
    for rule in &config.rules {
        let reading = rules::evaluate(store.as_ref(), tenant, rule, now, started).await?;
        rules.push(RuleStatus {
            name: rule.name().to_string(),
            kind: rule.kind().to_string(),
            settings: settings(rule),
            holds: reading.holds,
            summary: reading.summary,
            examples: reading.examples,
            channels: channels
                .iter()
                .map(|c| ChannelState {
                    channel: c.id.clone(),
                    firing: sent.firing(rule.name(), &c.id),
                })
                .collect(),
        });
    }
    Ok(TenantAlertsStatus {
        tenant: tenant.to_string(),
        configured: true,
        every_secs: config.every.as_secs(),
        channels,
        rules,
    })
}

/// The configured channels, in the order alerts are sent to them.
fn channels(config: &TenantAlerts) -> Vec<AlertChannel> {
    alerts::channel_ids(config)
        .into_iter()
        .map(|id| {
            let target = match (id, &config.webhook, &config.smtp) {
                ("webhook", Some(url), _) => format!("URL from {url}"),
                ("email", _, Some(smtp)) => format!(
                    "{} via {}:{}",
                    config.email_to.join(", "),
                    smtp.host.trim(),
                    smtp.port()
                ),
                _ => String::new(),
            };
            AlertChannel {
                id: id.to_string(),
                target,
            }
        })
        .collect()
}

/// A rule's thresholds as its keys are written in the config.
pub fn settings(rule: &AlertRule) -> String {
    match rule {
        AlertRule::FailureRate {
            window,
            percent,
            min_runs,
            flow,
            ..
        } => {
            let mut text = format!("window = {window}, percent = {percent}, min_runs = {min_runs}");
            if let Some(f) = flow {
                text.push_str(&format!(", flow = {f}"));
            }
            text
        }
        AlertRule::DeadLetters { above, .. } => format!("above = {above}"),
        AlertRule::HoldAge { older_than, .. } => format!("older_than = {older_than}"),
        AlertRule::QuoteNotOrdered { after, .. } | AlertRule::CatalogNotSynced { after, .. } => {
            format!("after = {after}")
        }
    }
}

/// A tenant with alerts holding and clear, for the Alerts tests.
#[cfg(test)]
#[path = "alerts_tests.rs"]
pub(crate) mod fixture;
