//! Pause, resume and run-now per tenant and flow (job kind; the catalog sync's schedule is its
//! flow too). A paused flow's jobs are not claimed by any node's workers until resumed; intake,
//! pollers and schedules still store and queue work, so nothing is lost while paused. Run-now
//! does at once what the flow's poller or schedule would do at its next tick.

use serde::Serialize;

use super::{Context, ServiceError};
use crate::flows::{catalog, now_ms, poller, quote_to_order, status};
use crate::tenant::TenantEnv;
use ferry_store::Pause;

/// The flows an operator can pause and run now.
pub const FLOWS: [&str; 3] = [quote_to_order::KIND, catalog::KIND, status::KIND];

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
    /// one is queued or running already).
    pub queued: usize,
    /// The flow is paused: what was queued waits for a resume.
    pub paused: bool,
}

/// Polls (quote-to-order: ready quotes; order-status: open orders) or queues a catalog delta
/// now, as the flow's poller or schedule would at its next tick. Needs a server's context (its
/// plugins answer the polls).
pub async fn run_now(ctx: &Context, tenant: &str, flow: &str) -> Result<RunNow, ServiceError> {
    let config = ctx.tenant(tenant)?;
    known_flow(flow)?;
    let store = ctx.open_store().await?;
    let flow_tenant = || -> Result<ferry_flows::Tenant, ServiceError> {
        let registry = ctx.registry().ok_or_else(|| {
            ServiceError::Input("run-now polls through a running server's plugins".into())
        })?;
        let env = TenantEnv::build(&ctx.config, tenant, registry)
            .map_err(|e| ServiceError::Input(format!("tenant '{tenant}': {e:#}")))?;
        Ok(env.flow_tenant())
    };
    let queued = match flow {
        quote_to_order::KIND => poller::poll_once(&flow_tenant()?, &*store)
            .await
            .map_err(|e| ServiceError::Input(format!("polling ready quotes failed: {e:#}")))?,
        status::KIND => status::poll_once(&flow_tenant()?, &*store).await?,
        _ => {
            let queued =
                catalog::queue(&*store, tenant, catalog::Mode::Delta, &config.sync.catalog).await?;
            usize::from(queued == ferry_store::Ingested::Queued)
        }
    };
    let paused = store
        .pauses(Some(tenant))
        .await?
        .iter()
        .any(|p| p.flow == flow);
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
    use crate::config::FerryConfig;
    use ferry_store::{Jobs, MemoryStore, NewJob};

    fn ctx(store: Arc<MemoryStore>) -> Context {
        let config =
            FerryConfig::parse("[tenants.acme]\n", std::path::Path::new(".")).expect("config");
        Context::from_config(config, std::path::Path::new("unused")).with_store(store)
    }

    #[tokio::test]
    async fn a_paused_flow_keeps_its_queued_job_until_resumed_and_run_now_queues_a_catalog_sync() {
        let store = Arc::new(MemoryStore::new());
        let ctx = ctx(store.clone());
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
}
