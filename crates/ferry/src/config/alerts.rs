//! `[tenants.T.alerts]`: the rules `ferry serve` evaluates for one tenant and where it sends
//! what it finds (a Slack/Teams-compatible webhook, e-mail over SMTP). Everything is checked at
//! parse (a rule without its threshold, an address that isn't one, e-mail without a server,
//! credentials over an unencrypted connection to another host); secrets (the webhook URL,
//! which carries its own token, and the SMTP password) are given by reference and read when
//! an alert is sent.
//!
//! ```toml
//! [tenants.acme.alerts]
//! every = "1m"                                  # how often the rules are evaluated
//! webhook = { env = "ACME_ALERT_WEBHOOK" }     # Slack/Teams incoming-webhook URL
//! email_to = ["ops@acme.example"]
//!
//! [tenants.acme.alerts.smtp]
//! host = "mail.acme.example"
//! from = "ferry@acme.example"
//! username = "ferry"
//! password = { env = "ACME_SMTP_PASSWORD" }
//!
//! [[tenants.acme.alerts.rules]]
//! rule = "dead-letters"                         # more than `above` open dead letters
//! [[tenants.acme.alerts.rules]]
//! rule = "quote-not-ordered"                    # approved, no ERP order `after` later
//! after = "30m"
//! ```

use std::collections::BTreeSet;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::SecretRef;

/// A span of time written as a number and a unit: `"30s"`, `"15m"`, `"2h"`, `"1d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl FromStr for Span {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        ferry_flows::slots::span(text).map(Span)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.as_secs();
        match s {
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3_600 == 0 => write!(f, "{}h", s / 3_600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

/// One rule: what must hold for the alert to fire. It is sent when the rule starts holding
/// and again ("resolved") when it stops.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AlertRule {
    /// Of the jobs that ended (done or dead) in the last `window`, at least `percent` went
    /// dead, counted once at least `min_runs` ended.
    FailureRate {
        name: Option<String>,
        window: Span,
        percent: u8,
        #[serde(default = "default_min_runs")]
        min_runs: u32,
        /// Only this job kind (`quote-to-order`, `catalog-sync`, `order-status`); all if unset.
        flow: Option<String>,
    },
    /// More than `above` dead letters are open (not yet retried).
    DeadLetters {
        name: Option<String>,
        #[serde(default)]
        above: u32,
    },
    /// A job has been held for longer than `older_than`.
    HoldAge {
        name: Option<String>,
        older_than: Span,
    },
    /// A quote was approved and no ERP order exists `after` later: its quote-to-order job is
    /// not done that long after it arrived (queued, running, held or dead).
    QuoteNotOrdered { name: Option<String>, after: Span },
    /// No catalog sync finished in the last `after` (since `ferry serve` started, if none
    /// ever did).
    CatalogNotSynced { name: Option<String>, after: Span },
}

fn default_min_runs() -> u32 {
    5
}

impl AlertRule {
    /// The rule's kind as written (`rule = "…"`).
    pub fn kind(&self) -> &'static str {
        match self {
            AlertRule::FailureRate { .. } => "failure-rate",
            AlertRule::DeadLetters { .. } => "dead-letters",
            AlertRule::HoldAge { .. } => "hold-age",
            AlertRule::QuoteNotOrdered { .. } => "quote-not-ordered",
            AlertRule::CatalogNotSynced { .. } => "catalog-not-synced",
        }
    }

    /// The name alerts carry: the one given, else the kind.
    pub fn name(&self) -> &str {
        let given = match self {
            AlertRule::FailureRate { name, .. }
            | AlertRule::DeadLetters { name, .. }
            | AlertRule::HoldAge { name, .. }
            | AlertRule::QuoteNotOrdered { name, .. }
            | AlertRule::CatalogNotSynced { name, .. } => name.as_deref(),
        };
        given.unwrap_or(self.kind())
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network); default port 25.
    None,
    /// Upgraded with STARTTLS, refused if the server can't; default port 587.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS); default port 465.
    Tls,
}

/// `[tenants.T.alerts.smtp]`: the server alerts are mailed through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: 25, 587 or 465 by `tls`.
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    /// The sender address.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<SecretRef>,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }
}

/// `[tenants.T.alerts]`, checked (see [`RawAlerts`] for the keys).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawAlerts")]
pub struct TenantAlerts {
    /// How often the rules are evaluated (and failed deliveries retried).
    pub every: Duration,
    /// Each delivery (one webhook call, one e-mail) is given up after this long.
    pub timeout: Duration,
    pub webhook: Option<SecretRef>,
    pub email_to: Vec<String>,
    pub smtp: Option<SmtpConfig>,
    pub rules: Vec<AlertRule>,
}

impl Default for TenantAlerts {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            webhook: None,
            email_to: Vec::new(),
            smtp: None,
            rules: Vec::new(),
        }
    }
}

impl TenantAlerts {
    /// Whether anything is to be evaluated and sent somewhere.
    pub fn active(&self) -> bool {
        !self.rules.is_empty() && (self.webhook.is_some() || !self.email_to.is_empty())
    }
}

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    every: Option<Span>,
    timeout_ms: Option<u64>,
    webhook: Option<SecretRef>,
    #[serde(default)]
    email_to: Vec<String>,
    smtp: Option<SmtpConfig>,
    #[serde(default)]
    rules: Vec<AlertRule>,
}

/// The longest a delivery may take: beyond it a dead endpoint would stall every later alert.
const MAX_TIMEOUT_MS: u64 = 120_000;

impl TryFrom<RawAlerts> for TenantAlerts {
    type Error = String;

    fn try_from(raw: RawAlerts) -> Result<Self, String> {
        let defaults = TenantAlerts::default();
        let timeout = match raw.timeout_ms {
            Some(0) => return Err("timeout_ms = 0: no delivery could ever finish".into()),
            Some(ms) if ms > MAX_TIMEOUT_MS => {
                return Err(format!(
                    "timeout_ms = {ms}: more than {MAX_TIMEOUT_MS} ms would stall every later alert"
                ));
            }
            Some(ms) => Duration::from_millis(ms),
            None => defaults.timeout,
        };
        for to in &raw.email_to {
            lettre::Address::from_str(to.trim())
                .map_err(|e| format!("email_to: '{to}' is not an e-mail address ({e})"))?;
        }
        if !raw.email_to.is_empty() && raw.smtp.is_none() {
            return Err(
                "email_to needs a server to send through: add [tenants.<tenant>.alerts.smtp] with host and from".into(),
            );
        }
        if let Some(smtp) = &raw.smtp {
            check_smtp(smtp)?;
        }
        if !raw.rules.is_empty() && raw.webhook.is_none() && raw.email_to.is_empty() {
            return Err("rules are given but nowhere to send them: set webhook or email_to".into());
        }
        let mut names = BTreeSet::new();
        for rule in &raw.rules {
            check_rule(rule)?;
            if !names.insert(rule.name()) {
                return Err(format!(
                    "two rules are named '{}': give each its own `name`",
                    rule.name()
                ));
            }
        }
        Ok(TenantAlerts {
            every: raw.every.map_or(defaults.every, |s| s.0),
            timeout,
            webhook: raw.webhook,
            email_to: raw.email_to.iter().map(|s| s.trim().to_string()).collect(),
            smtp: raw.smtp,
            rules: raw.rules,
        })
    }
}

fn check_smtp(smtp: &SmtpConfig) -> Result<(), String> {
    if smtp.host.trim().is_empty() {
        return Err("smtp.host is empty".into());
    }
    lettre::Address::from_str(smtp.from.trim())
        .map_err(|e| format!("smtp.from: '{}' is not an e-mail address ({e})", smtp.from))?;
    match (&smtp.username, &smtp.password) {
        (Some(_), None) | (None, Some(_)) => {
            return Err("smtp: give both username and password, or neither".into());
        }
        (Some(_), Some(_)) if smtp.tls == SmtpTls::None && !loopback(&smtp.host) => {
            return Err(format!(
                "smtp: tls = \"none\" would send the password to {} in clear: use tls = \"starttls\" or \"tls\"",
                smtp.host
            ));
        }
        _ => {}
    }
    Ok(())
}

fn loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn check_rule(rule: &AlertRule) -> Result<(), String> {
    let name = rule.name();
    if name.trim().is_empty() || name.len() > 64 {
        return Err("a rule's name must be 1 to 64 characters".into());
    }
    if let AlertRule::FailureRate { percent, .. } = rule
        && !(1..=100).contains(percent)
    {
        return Err(format!(
            "rule '{name}': percent = {percent} must be 1 to 100"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TenantAlerts, String> {
        toml::from_str::<TenantAlerts>(text).map_err(|e| e.message().to_string())
    }

    #[test]
    fn every_rule_kind_parses_with_its_figures() {
        let a = parse(
            r#"
            every = "30s"
            webhook = { env = "HOOK" }
            email_to = ["ops@acme.example"]
            smtp = { host = "127.0.0.1", port = 2525, tls = "none", from = "ferry@acme.example" }
            [[rules]]
            rule = "failure-rate"
            window = "15m"
            percent = 20
            flow = "quote-to-order"
            [[rules]]
            rule = "dead-letters"
            [[rules]]
            rule = "hold-age"
            older_than = "2h"
            [[rules]]
            rule = "quote-not-ordered"
            after = "30m"
            [[rules]]
            rule = "catalog-not-synced"
            name = "catalog"
            after = "1d"
            "#,
        )
        .expect("parses");
        assert_eq!(a.every, Duration::from_secs(30));
        assert!(a.active());
        let names: Vec<_> = a.rules.iter().map(AlertRule::name).collect();
        assert_eq!(
            names,
            [
                "failure-rate",
                "dead-letters",
                "hold-age",
                "quote-not-ordered",
                "catalog"
            ]
        );
        assert_eq!(
            a.rules[0],
            AlertRule::FailureRate {
                name: None,
                window: Span(Duration::from_secs(900)),
                percent: 20,
                min_runs: 5,
                flow: Some("quote-to-order".into()),
            }
        );
        assert_eq!(a.smtp.as_ref().map(SmtpConfig::port), Some(2525));
    }

    #[test]
    fn nonsense_is_refused_with_its_reason() {
        let cases = [
            (
                "webhook = { env = \"H\" }\n[[rules]]\nrule = \"hold-age\"\n",
                "missing field `older_than`",
            ),
            (
                "webhook = { env = \"H\" }\n[[rules]]\nrule = \"hold-age\"\nolder_than = \"2 weeks\"\n",
                "unit 'weeks'",
            ),
            (
                "webhook = { env = \"H\" }\n[[rules]]\nrule = \"dead-letter\"\n",
                "unknown variant `dead-letter`",
            ),
            (
                "webhook = { env = \"H\" }\n[[rules]]\nrule = \"dead-letters\"\nabove = 1\nbelow = 2\n",
                "unknown field `below`",
            ),
            (
                "[[rules]]\nrule = \"dead-letters\"\n",
                "nowhere to send them",
            ),
            ("email_to = [\"ops@acme.example\"]\n", "needs a server"),
            (
                "email_to = [\"not an address\"]\nsmtp = { host = \"h\", from = \"f@h.example\" }\n",
                "is not an e-mail address",
            ),
            (
                "webhook = \"https://hooks.example/T000/B000/XXXX\"\n",
                "never inline",
            ),
            (
                "smtp = { host = \"mail.example\", tls = \"none\", from = \"f@h.example\", username = \"u\", password = { env = \"P\" } }\n",
                "in clear",
            ),
            (
                "webhook = { env = \"H\" }\n[[rules]]\nrule = \"dead-letters\"\n[[rules]]\nrule = \"dead-letters\"\nabove = 5\n",
                "two rules are named 'dead-letters'",
            ),
            (
                "webhook = { env = \"H\" }\n[[rules]]\nrule = \"failure-rate\"\nwindow = \"1h\"\npercent = 0\n",
                "must be 1 to 100",
            ),
            ("timeout_ms = 0\n", "timeout_ms = 0"),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.contains(expected), "{text}\n=> {err}");
        }
    }

    #[test]
    fn credentials_over_plain_smtp_are_allowed_to_a_local_relay_only() {
        let local = "smtp = { host = \"127.0.0.1\", tls = \"none\", from = \"f@h.example\", username = \"u\", password = { env = \"P\" } }\n";
        let a = parse(local).expect("a relay on this host");
        assert!(!a.active(), "no rules: nothing to evaluate");
    }
}
