//! Pause, resume and run-now per tenant and flow (job kind; the syncs' schedules are their
//! flows too). A paused flow's jobs are not claimed by any node's workers until resumed; intake,
//! pollers and schedules still store and queue work, so nothing is lost while paused. The
//! customer sync is no job (it runs in the process that starts it): paused, its schedule skips
//! its slots and run-now starts nothing. Run-now does at once what the flow's poller or
//! schedule would do at its next tick.

use serde::Serialize;

use super::customer_sync;
use super::{Context, ServiceError};
use crate::flows::prices::{self, PRICES_KIND, STOCK_KIND};
use crate::flows::{catalog, customers, now_ms, poller, quote_to_order, status};
use crate::tenant::TenantEnv;
use ferry_store::{Ingested, Pause};

/// Every flow an operator sees: pause and run-now take them, health lists them, the run and
/// dead-letter filters accept them (the one list; the others use it).
pub const FLOWS: [&str; 6] = [
    quote_to_order::KIND,
    catalog::KIND,
    status::KIND,
    PRICES_KIND,
    STOCK_KIND,
    customers::KIND,
];

fn known_flow(flow: &str) -> Result<(), ServiceError> {
    if FLOWS.contains(&flow) {
        Ok(())
    } else {
        Err(ServiceError::Input(format!(
            "unknown flow '{flow}' (one of {})",
            FLOWS.join(", ")
        )))
    }
}

/// Pauses the tenant's flow; `by`: the token that asked. Pausing a paused flow keeps it as is.
pub async fn pause(
    ctx: &Context,
    tenant: &str,
    flow: &str,
    by: Option<&str>,
) -> Result<Pause, ServiceError> {
    ctx.tenant(tenant)?;
    known_flow(flow)?;
    let store = ctx.open_store().await?;
    Ok(store.pause_flow(tenant, flow, by).await?)
}

/// Resumes the tenant's flow; false when it was not paused.
pub async fn resume(ctx: &Context, tenant: &str, flow: &str) -> Result<bool, ServiceError> {
    ctx.tenant(tenant)?;
    known_flow(flow)?;
    let store = ctx.open_store().await?;
    Ok(store.resume_flow(tenant, flow).await?)
}

/// The tenant's paused flows.
pub async fn pauses(ctx: &Context, tenant: &str) -> Result<Vec<Pause>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    Ok(store.pauses(Some(tenant)).await?)
}

/// What a run-now did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RunNow {
    pub flow: String,
    /// Jobs queued by it (a poll's new quotes or moved orders; 1 for a catalog sync, 0 when
    /// one is queued or running already; 1 for a price or stock sync, whose one job per tenant
    /// stands when already queued; 1 for a customer sync started, 0 when one runs already or
    /// the flow is paused).
    pub queued: usize,
    /// The flow is paused: what was queued waits for a resume.
    pub paused: bool,
}

/// Polls (quote-to-order: ready quotes; order-status: open orders), queues a catalog delta, a
/// price or a stock run, or starts a customer run in the background now, as the flow's poller
/// or schedule would at its next tick. Polls and customer runs need a server's context (its
/// plugins answer them).
pub async fn run_now(ctx: &Context, tenant: &str, flow: &str) -> Result<RunNow, ServiceError> {
    let config = ctx.tenant(tenant)?;
    known_flow(flow)?;
    let store = ctx.open_store().await?;
    let tenant_env = || -> Result<TenantEnv, ServiceError> {
        let registry = ctx.registry().ok_or_else(|| {
            ServiceError::Input("run-now polls through a running server's plugins".into())
        })?;
        TenantEnv::build(&ctx.config, tenant, registry)
            .map_err(|e| ServiceError::Input(format!("tenant '{tenant}': {e:#}")))
    };
    let paused = store
        .pauses(Some(tenant))
        .await?
        .iter()
        .any(|p| p.flow == flow);
    let queued = match flow {
        quote_to_order::KIND => poller::poll_once(&tenant_env()?.flow_tenant(), &*store)
            .await
            .map_err(|e| ServiceError::Input(format!("polling ready quotes failed: {e:#}")))?,
        status::KIND => status::poll_once(&tenant_env()?.flow_tenant(), &*store).await?,
        PRICES_KIND | STOCK_KIND => {
            let policy = if flow == PRICES_KIND {
                prices::Policy::Prices(config.sync.prices.clone())
            } else {
                prices::Policy::Stock(config.sync.stock.clone())
            };
            let options = prices::RunOptions::default();
            let queued = prices::queue(&*store, tenant, &policy, options).await?;
            usize::from(queued == Ingested::Queued)
        }
        customers::KIND if paused => 0,
        customers::KIND => {
            let policy = config.sync.customers.clone();
            customer_sync::check(&policy, &customers::RunOptions::default())?;
            let env = std::sync::Arc::new(tenant_env()?);
            usize::from(customer_sync::start(env, policy, store.clone()))
        }
        _ => {
            let queued =
                catalog::queue(&*store, tenant, catalog::Mode::Delta, &config.sync.catalog).await?;
            usize::from(queued == Ingested::Queued)
        }
    };
    tracing::info!(%tenant, %flow, queued, paused, at = now_ms(), "run now");
    Ok(RunNow {
        flow: flow.to_string(),
        queued,
        paused,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use ferry_store::{Jobs, MemoryStore, NewJob};

    #[tokio::test]
    async fn a_paused_flow_keeps_its_queued_job_until_resumed_and_run_now_queues_a_catalog_sync() {
        let store = Arc::new(MemoryStore::new());
        let ctx = Context::acme_on(store.clone());
        let job = NewJob {
            tenant: "acme",
            kind: quote_to_order::KIND,
            key: "17",
            checkpoint: serde_json::json!({}),
        };
        store.enqueue(job, 0).await.expect("enqueue");
        let paused = pause(&ctx, "acme", quote_to_order::KIND, Some("t1"))
            .await
            .expect("pause");
        assert_eq!(paused.paused_by.as_deref(), Some("t1"));
        assert!(
            store
                .claim("w", 5, 1000, now_ms())
                .await
                .expect("claim")
                .is_empty()
        );
        assert_eq!(pauses(&ctx, "acme").await.expect("pauses").len(), 1);

        // A run-now on another flow queues its job at once (the catalog delta).
        let ran = run_now(&ctx, "acme", catalog::KIND).await.expect("run now");
        assert_eq!((ran.queued, ran.paused), (1, false));
        let claims = store.claim("w", 5, 1000, now_ms()).await.expect("claim");
        assert_eq!(claims.len(), 1);
        assert_eq!(claims[0].job.kind, catalog::KIND);

        assert!(
            resume(&ctx, "acme", quote_to_order::KIND)
                .await
                .expect("resume")
        );
        let claims = store.claim("w", 5, 1000, now_ms()).await.expect("claim");
        assert_eq!(claims[0].job.key, "17");

        // Unknown flows and tenants are refused.
        assert!(matches!(
            pause(&ctx, "acme", "nope", None).await,
            Err(ServiceError::Input(_))
        ));
        assert!(matches!(
            pause(&ctx, "globex", quote_to_order::KIND, None).await,
            Err(ServiceError::UnknownTenant { .. })
        ));
        // A quote poll needs the server's plugins.
        assert!(matches!(
            run_now(&ctx, "acme", quote_to_order::KIND).await,
            Err(ServiceError::Input(_))
        ));
    }

    #[tokio::test]
    async fn a_paused_price_sync_run_now_waits_for_its_resume_and_health_lists_it() {
        let store = Arc::new(MemoryStore::new());
        let ctx = Context::acme_on(store.clone());
        pause(&ctx, "acme", PRICES_KIND, None).await.expect("pause");
        let ran = run_now(&ctx, "acme", PRICES_KIND).await.expect("run now");
        assert_eq!((ran.queued, ran.paused), (1, true));
        assert!(
            store
                .claim("w", 5, 1000, now_ms())
                .await
                .expect("claim")
                .is_empty()
        );
        let health = super::super::health::tenant_health(&ctx, "acme")
            .await
            .expect("health");
        let price = health
            .iter()
            .find(|f| f.flow == PRICES_KIND)
            .expect("price-sync listed");
        assert_eq!((price.queued, price.paused_at.is_some()), (1, true));

        assert!(resume(&ctx, "acme", PRICES_KIND).await.expect("resume"));
        let claims = store.claim("w", 5, 1000, now_ms()).await.expect("claim");
        assert_eq!(claims.len(), 1);
        assert_eq!(
            (claims[0].job.kind.as_str(), claims[0].job.key.as_str()),
            (PRICES_KIND, "prices")
        );

        // Stock's run-now queues its own job; a paused customer sync starts nothing.
        let stock = run_now(&ctx, "acme", STOCK_KIND).await.expect("run now");
        assert_eq!((stock.queued, stock.paused), (1, false));
        pause(&ctx, "acme", customers::KIND, None)
            .await
            .expect("pause");
        let ran = run_now(&ctx, "acme", customers::KIND)
            .await
            .expect("run now");
        assert_eq!((ran.queued, ran.paused), (0, true));
    }
}
