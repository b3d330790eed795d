//! Alerts (`[tenants.T.alerts]`): `ferry serve` evaluates each tenant's rules every `every`
//! against the store (failure rate over a window, dead-letter depth, hold age, and what did
//! not happen: an approved quote with no ERP order, no catalog sync) and sends an alert to
//! each configured channel when a rule starts holding, and again ("resolved") when it stops.
//!
//! What each channel was last sent per rule is kept in the store (beside the sync cursors),
//! so a holding rule is not sent again every tick nor after a restart, and a rule that
//! cleared while the server was down is still resolved. A failed delivery is logged at WARN
//! and tried again next tick; nothing here stops the server.
//!
//! Nodes sharing a store take turns: each tick is a slot of the tenant's `alerts` schedule
//! ([`Schedules::take_slot`](ferry_store::Schedules::take_slot)), evaluated by the one node
//! that takes it, which reads what was sent (by whichever node) just before. So an alert is
//! sent once per cluster, not once per node.

pub mod deliver;
pub mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ferry_store::{Store, StoreError, clock_ms};

use crate::config::FerryConfig;
use crate::config::alerts::{AlertRule, TenantAlerts};
use deliver::{Channel, Deliver, Email, Webhook};
use rules::Reading;

/// One alert as sent: a rule of a tenant that started holding (`firing`) or stopped.
#[derive(Debug, Clone)]
pub struct Alert {
    pub tenant: String,
    /// The rule's name (its kind unless named).
    pub rule: String,
    pub kind: &'static str,
    pub firing: bool,
    pub reading: Reading,
}

impl Alert {
    fn word(&self) -> &'static str {
        if self.firing { "FIRING" } else { "RESOLVED" }
    }

    /// `[ferry] FIRING acme dead-letters`
    pub fn subject(&self) -> String {
        format!("[ferry] {} {} {}", self.word(), self.tenant, self.rule)
    }

    /// The message: state, tenant, rule, figures, then the jobs concerned, one a line.
    pub fn text(&self) -> String {
        // ASCII only: mail then goes as plain 7-bit text, readable in any client.
        let kind = if self.rule == self.kind {
            String::new()
        } else {
            format!(" ({})", self.kind)
        };
        let mut text = format!(
            "[{}] tenant {}, rule {}{kind}: {}",
            self.word(),
            self.tenant,
            self.rule,
            self.reading.summary
        );
        for example in &self.reading.examples {
            text.push_str("\n- ");
            text.push_str(example);
        }
        text
    }
}

/// What each channel was last sent, per rule: true = firing. Absent = resolved (nothing
/// to say yet).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sent(BTreeMap<String, BTreeMap<String, bool>>);

impl Sent {
    /// Whether `channel` was last sent `rule` firing (the Alerts screen shows it).
    pub(crate) fn firing(&self, rule: &str, channel: &str) -> bool {
        self.0
            .get(rule)
            .and_then(|c| c.get(channel))
            .copied()
            .unwrap_or(false)
    }

    fn set(&mut self, rule: &str, channel: &str, firing: bool) {
        let rules = self.0.entry(rule.to_string()).or_default();
        if firing {
            rules.insert(channel.to_string(), true);
        } else {
            rules.remove(channel);
        }
        if rules.is_empty() {
            self.0.remove(rule);
        }
    }

    /// Reads the state kept in `path`; a missing or unreadable file is a fresh start.
    pub(crate) fn load(path: &Path) -> Sent {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("alerts: ignoring {} ({e}): starting afresh", path.display());
                Sent::default()
            }),
            Err(_) => Sent::default(),
        }
    }

    /// What was sent for `tenant` by any node: the store's copy; before a node first kept it
    /// there, the file an older binary kept in `data_dir` (so an upgrade sends nothing twice).
    pub(crate) async fn read(
        store: &dyn Store,
        data_dir: &Path,
        tenant: &str,
    ) -> Result<Sent, StoreError> {
        Ok(match store.cursor(tenant, SENT_STREAM).await? {
            Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(%tenant, "alerts: ignoring the stored sent-state ({e}): starting afresh");
                Sent::default()
            }),
            None => Sent::load(&state_file(data_dir, tenant)),
        })
    }

    async fn write(&self, store: &dyn Store, tenant: &str) -> Result<(), StoreError> {
        let text = serde_json::to_string(self).unwrap_or_default();
        store.set_cursor(tenant, SENT_STREAM, &text).await
    }

    #[cfg(test)]
    fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self).unwrap_or_default())
    }
}

/// Stores `state` as `tenant`'s sent-state, as a node would after sending (for tests).
#[cfg(test)]
pub(crate) async fn store_sent(
    store: &dyn Store,
    tenant: &str,
    state: &serde_json::Value,
) -> Result<(), StoreError> {
    store
        .set_cursor(tenant, SENT_STREAM, &state.to_string())
        .await
}

/// The store key (a cursor stream) of a tenant's sent-state.
const SENT_STREAM: &str = "alerts/sent";

/// The tenant's alert schedule: one slot per tick, taken by one node.
const SCHEDULE: &str = "alerts";

/// One tenant's rules and channels, and what was sent.
pub struct Evaluator<C> {
    pub tenant: String,
    pub rules: Vec<AlertRule>,
    pub channels: Vec<C>,
    pub sent: Sent,
    /// When evaluation started (the catalog rule's reference before any sync).
    pub started_ms: i64,
}

impl<C: Deliver> Evaluator<C> {
    pub fn new(tenant: &str, rules: Vec<AlertRule>, channels: Vec<C>, sent: Sent) -> Self {
        Self {
            tenant: tenant.to_string(),
            rules,
            channels,
            sent,
            started_ms: clock_ms(),
        }
    }

    /// Evaluates every rule at `now_ms` and sends each channel what changed since it was
    /// last sent. Returns the alerts sent (per channel, in order), so a caller knows whether
    /// the state moved.
    pub async fn tick(&mut self, store: &dyn Store, now_ms: i64) -> Vec<(String, Alert)> {
        let mut delivered = Vec::new();
        for rule in &self.rules {
            let reading = match rules::evaluate(store, &self.tenant, rule, now_ms, self.started_ms)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(tenant = %self.tenant, rule = rule.name(), "alert rule not evaluated: {e}");
                    continue;
                }
            };
            let alert = Alert {
                tenant: self.tenant.clone(),
                rule: rule.name().to_string(),
                kind: rule.kind(),
                firing: reading.holds,
                reading,
            };
            for channel in &self.channels {
                if self.sent.firing(&alert.rule, channel.id()) == alert.firing {
                    continue;
                }
                match channel.send(&alert).await {
                    Ok(()) => {
                        tracing::info!(tenant = %alert.tenant, rule = %alert.rule, channel = channel.id(), "alert {}: {}", alert.word(), alert.reading.summary);
                        self.sent.set(&alert.rule, channel.id(), alert.firing);
                        delivered.push((channel.id().to_string(), alert.clone()));
                    }
                    Err(e) => tracing::warn!(
                        tenant = %alert.tenant, rule = %alert.rule, channel = channel.id(),
                        "alert {} not delivered (tried again next tick): {e}", alert.word()
                    ),
                }
            }
        }
        // Rules no longer configured are forgotten.
        let names: std::collections::BTreeSet<&str> =
            self.rules.iter().map(AlertRule::name).collect();
        self.sent.0.retain(|rule, _| names.contains(rule.as_str()));
        delivered
    }
}

/// This node's turn at the tick `now_ms` falls in (slots of `every_ms`): `None` when another
/// node took that slot; otherwise the rules are evaluated against what was sent by any node
/// and the alerts sent are returned, the new sent-state stored.
pub(crate) async fn take_turn<C: Deliver>(
    ev: &mut Evaluator<C>,
    store: &dyn Store,
    data_dir: &Path,
    node: &str,
    now_ms: i64,
    every_ms: i64,
) -> Result<Option<Vec<(String, Alert)>>, StoreError> {
    let slot = now_ms / every_ms.max(1);
    if !store.take_slot(&ev.tenant, SCHEDULE, slot, node).await? {
        return Ok(None);
    }
    ev.sent = Sent::read(store, data_dir, &ev.tenant).await?;
    let before = ev.sent.clone();
    let delivered = ev.tick(store, now_ms).await;
    if ev.sent != before {
        ev.sent.write(store, &ev.tenant).await?;
    }
    Ok(Some(delivered))
}

/// The ids of the channels a tenant's config names, in the order they are sent to (the ids
/// [`Deliver::id`] gives them, and the sent-state keeps).
pub(crate) fn channel_ids(alerts: &TenantAlerts) -> Vec<&'static str> {
    let mut ids = Vec::new();
    if alerts.webhook.is_some() {
        ids.push("webhook");
    }
    if alerts.smtp.is_some() && !alerts.email_to.is_empty() {
        ids.push("email");
    }
    ids
}

/// The channels a tenant's config names.
fn channels(config: &FerryConfig, alerts: &TenantAlerts) -> Vec<Channel> {
    let mut channels = Vec::new();
    if let Some(url) = &alerts.webhook {
        match Webhook::new(url.clone(), config.base_dir.clone(), alerts.timeout) {
            Ok(w) => channels.push(Channel::Webhook(w)),
            Err(e) => tracing::warn!("alerts: no webhook channel: {e}"),
        }
    }
    if let Some(smtp) = &alerts.smtp
        && !alerts.email_to.is_empty()
    {
        channels.push(Channel::Email(Email {
            smtp: smtp.clone(),
            to: alerts.email_to.clone(),
            base: config.base_dir.clone(),
            timeout: alerts.timeout,
        }));
    }
    channels
}

/// Where a tenant's sent-state is kept.
pub(crate) fn state_file(data_dir: &Path, tenant: &str) -> PathBuf {
    data_dir.join("alerts").join(format!("{tenant}.json"))
}

/// When this process started evaluating alerts (set by [`run`]).
static STARTED_MS: OnceLock<i64> = OnceLock::new();

/// When this process's evaluators started (the catalog rule's reference before any sync);
/// None when it evaluates none.
pub(crate) fn started_ms() -> Option<i64> {
    STARTED_MS.get().copied()
}

/// Evaluates every tenant's rules until the task is dropped (`ferry serve` spawns it once);
/// `node` takes its turns with the other nodes on the store.
pub async fn run(config: FerryConfig, data_dir: PathBuf, store: Arc<dyn Store>, node: String) {
    STARTED_MS.get_or_init(clock_ms);
    let mut tasks = tokio::task::JoinSet::new();
    for (tenant, tc) in &config.tenants {
        let alerts = &tc.alerts;
        if !alerts.active() {
            continue;
        }
        let channels = channels(&config, alerts);
        let names: Vec<&str> = channels.iter().map(Deliver::id).collect();
        tracing::info!(
            %tenant,
            "alerts: {} rules every {} s to {}",
            alerts.rules.len(),
            alerts.every.as_secs(),
            names.join(", ")
        );
        let mut evaluator = Evaluator::new(tenant, alerts.rules.clone(), channels, Sent::default());
        let (store, data_dir, node) = (store.clone(), data_dir.clone(), node.clone());
        let every_ms = i64::try_from(alerts.every.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        tasks.spawn(async move {
            loop {
                let now = clock_ms();
                if let Err(e) =
                    take_turn(&mut evaluator, store.as_ref(), &data_dir, &node, now, every_ms).await
                {
                    tracing::warn!(tenant = %evaluator.tenant, "alerts: not evaluated this tick: {e}");
                }
                // Every node wakes at the next slot's start, so they compete for it at once.
                let wait = every_ms - clock_ms().rem_euclid(every_ms);
                tokio::time::sleep(std::time::Duration::from_millis(wait.unsigned_abs())).await;
            }
        });
    }
    // Dropping this future (the server stopping) aborts the tenants' loops with it.
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests;
