//! A tenant with alerts for the Alerts tests (service, admin API, console): acme's
//! dead-letters rule holds (quote 17 is dead), its hold-age rule is clear (quote 18 was held
//! just now); globex has no alerts. And each rule kind's settings as written.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::settings;
use crate::config::FerryConfig;
use crate::config::alerts::{AlertRule, Span};
use crate::flows::quote_to_order::KIND;
use ferry_store::{MemoryStore, NewJob, Outcome, Store, clock_ms};

/// acme: a dead-letters rule named `dead` and a hold-age rule, sent to a webhook and by
/// e-mail; globex: no alerts.
pub const CONFIG: &str = r#"
[tenants.acme.alerts]
webhook = { env = "ACME_ALERT_WEBHOOK" }
email_to = ["ops@acme.example"]
smtp = { host = "127.0.0.1", port = 2525, tls = "none", from = "ferry@acme.example" }

[[tenants.acme.alerts.rules]]
rule = "dead-letters"
name = "dead"

[[tenants.acme.alerts.rules]]
rule = "hold-age"
older_than = "2h"

[tenants.globex]
"#;

pub fn config(dir: &Path) -> FerryConfig {
    FerryConfig::parse(CONFIG, dir).expect("config")
}

/// A store where acme's quote 17 went dead ("M3 refused the order") and quote 18 was held
/// ("unknown customer"), both just now.
pub async fn store() -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let runs = [
        (
            "17",
            Outcome::Dead {
                error: "M3 refused the order".into(),
            },
        ),
        (
            "18",
            Outcome::Hold {
                reason: "unknown customer".into(),
            },
        ),
    ];
    for (key, outcome) in runs {
        let job = NewJob {
            tenant: "acme",
            kind: KIND,
            key,
            checkpoint: json!({ "quote_id": key }),
        };
        store.enqueue(job, clock_ms()).await.expect("enqueue");
        let claim = store
            .claim("w", 1, 60_000, clock_ms())
            .await
            .expect("claim")
            .pop()
            .expect("the job");
        store
            .finish(&claim, outcome, clock_ms())
            .await
            .expect("finish");
    }
    store
}

/// Stores acme's sent-state as the server keeps it: `{"rule": {"channel": true}}`.
pub async fn sent(store: &dyn Store, state: &serde_json::Value) {
    crate::alerts::store_sent(store, "acme", state)
        .await
        .expect("sent-state");
}

#[test]
fn each_rule_kind_shows_its_settings_as_written() {
    let span = |s| Span(Duration::from_secs(s));
    let cases = [
        (
            AlertRule::FailureRate {
                name: None,
                window: span(900),
                percent: 20,
                min_runs: 5,
                flow: Some("quote-to-order".into()),
            },
            "window = 15m, percent = 20, min_runs = 5, flow = quote-to-order",
        ),
        (
            AlertRule::DeadLetters {
                name: None,
                above: 3,
            },
            "above = 3",
        ),
        (
            AlertRule::HoldAge {
                name: None,
                older_than: span(7200),
            },
            "older_than = 2h",
        ),
        (
            AlertRule::QuoteNotOrdered {
                name: None,
                after: span(1800),
            },
            "after = 30m",
        ),
        (
            AlertRule::CatalogNotSynced {
                name: None,
                after: span(86_400),
            },
            "after = 1d",
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(settings(&rule), expected, "{}", rule.kind());
    }
}
