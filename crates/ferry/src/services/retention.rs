//! Audit retention: `ferry serve` deletes each tenant's audit entries older than its
//! `audit_retention_days`, at start and every hour. Several nodes pruning the same store is
//! harmless: the second finds nothing left to delete.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::config::FerryConfig;
use ferry_store::{Store, StoreError};

/// How often the server prunes.
pub const EVERY: Duration = Duration::from_secs(3600);

/// Prunes every tenant that has a retention, as of `now`; returns (tenant, entries deleted)
/// for each tenant pruned. A tenant without `audit_retention_days` keeps everything.
pub async fn prune(
    config: &FerryConfig,
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<Vec<(String, usize)>, StoreError> {
    let mut pruned = Vec::new();
    for (tenant, tc) in &config.tenants {
        let Some(days) = tc.audit_retention_days else {
            continue;
        };
        // A retention reaching before the calendar starts keeps everything.
        let Some(cutoff) = TimeDelta::try_days(i64::from(days.get()))
            .and_then(|keep| now.checked_sub_signed(keep))
        else {
            continue;
        };
        let before = cutoff.to_rfc3339_opts(SecondsFormat::Millis, true);
        pruned.push((tenant.clone(), store.prune_audit(tenant, &before).await?));
    }
    Ok(pruned)
}

/// `ferry serve`'s pruner: now, then every [`EVERY`].
pub async fn run(config: FerryConfig, store: std::sync::Arc<dyn Store>) {
    loop {
        match prune(&config, &*store, Utc::now()).await {
            Ok(done) => {
                for (tenant, n) in done.into_iter().filter(|(_, n)| *n > 0) {
                    tracing::info!(%tenant, "audit retention: deleted {n} entries");
                }
            }
            Err(e) => tracing::warn!("audit retention: pruning failed: {e}"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use ferry_store::{Audit, MemoryStore};

    #[test]
    fn audit_retention_days_must_be_a_positive_whole_number_of_days() {
        let parse = |value: &str| {
            FerryConfig::parse(
                &format!("[tenants.acme]\naudit_retention_days = {value}\n"),
                Path::new("."),
            )
        };
        for bad in ["0", "-3", "1.5", "\"30\"", "99999999999"] {
            let message = parse(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains("tenants.acme.audit_retention_days"),
                "{bad}: {message:?}"
            );
        }
        let config = parse("90").expect("config");
        assert_eq!(
            config.tenants["acme"].audit_retention_days.map(|d| d.get()),
            Some(90)
        );
        let config = FerryConfig::parse("[tenants.acme]\n", Path::new(".")).expect("config");
        assert_eq!(config.tenants["acme"].audit_retention_days, None);
    }

    #[tokio::test]
    async fn a_prune_tick_removes_only_that_tenants_entries_older_than_its_retention() {
        let config = FerryConfig::parse(
            "[tenants.acme]\naudit_retention_days = 30\n[tenants.globex]\n",
            Path::new("."),
        )
        .expect("config");
        let store = MemoryStore::new();
        for tenant in ["acme", "globex"] {
            store
                .audit(tenant, "quote-to-order", "1", "note", "old", &json!({}))
                .await
                .expect("audit");
        }
        // Entries carry times to the millisecond: a moment strictly between old and new.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let between = Utc::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        for tenant in ["acme", "globex"] {
            store
                .audit(tenant, "quote-to-order", "1", "note", "new", &json!({}))
                .await
                .expect("audit");
        }
        // 30 days after `between`: acme's cut-off falls between its two entries.
        let now = between + TimeDelta::days(30);
        let pruned = prune(&config, &store, now).await.expect("prune");
        assert_eq!(pruned, [("acme".to_string(), 1)]);
        let messages = |trail: Vec<ferry_store::AuditEntry>| {
            trail.into_iter().map(|e| e.message).collect::<Vec<_>>()
        };
        assert_eq!(
            messages(store.trail("acme", "1").await.expect("trail")),
            ["new"]
        );
        // No retention configured: kept forever.
        assert_eq!(
            messages(store.trail("globex", "1").await.expect("trail")),
            ["old", "new"]
        );
        // A second node pruning the same store finds nothing more.
        let again = prune(&config, &store, now).await.expect("prune");
        assert_eq!(again, [("acme".to_string(), 0)]);
    }
}
