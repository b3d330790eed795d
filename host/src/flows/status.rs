//! Order status back to the quote: polled from the ERP (`get-order-status`) or pushed by ERP
//! events, and written to the quote (`set-status`) in the tenant's words.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::describe;
use super::quote_to_order::KIND;
use crate::store::{JobStore, OrderRow};
use crate::tenant::TenantEnv;

/// Polls open orders forever at the tenant's interval (nothing when it is 0).
pub async fn poll_order_status(env: Arc<TenantEnv>, store: Arc<dyn JobStore>) {
    let interval = env.policy.status_poll_secs;
    if interval == 0 {
        return;
    }
    loop {
        if let Err(e) = poll_once(&env, store.as_ref()).await {
            tracing::warn!(tenant = %env.name, "order status poll failed: {e}");
        }
        tokio::time::sleep(Duration::from_secs(interval)).await;
    }
}

/// One pass over open orders; returns how many quotes got a new status.
pub async fn poll_once(env: &TenantEnv, store: &dyn JobStore) -> anyhow::Result<usize> {
    let mut changed = 0;
    for order in store.open_orders(&env.name, &env.policy.final_statuses)? {
        if refresh(env, store, &order).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Reads the order's status from the ERP and, when it moved, writes it to the quote.
pub async fn refresh(
    env: &TenantEnv,
    store: &dyn JobStore,
    order: &OrderRow,
) -> anyhow::Result<bool> {
    let receipt = call!(env, Erp, erp, |e, s| e
        .ferry_plugin_erp()
        .call_get_order_status(s, &order.order_number))
    .map_err(|e| anyhow::anyhow!(describe(&e)))?;
    if receipt.status == order.status {
        return Ok(false);
    }
    let text = env
        .policy
        .status_names
        .get(&receipt.status)
        .cloned()
        .unwrap_or_else(|| format!("ERP status {}", receipt.status));
    call!(env, Quoting, quoting, |q, s| q
        .ferry_plugin_quoting()
        .call_set_status(s, &order.quote_id, &text))
    .map_err(|e| anyhow::anyhow!(describe(&e)))?;
    store.set_order_status(&env.name, &order.quote_id, &receipt.status)?;
    store.audit(
        &env.name,
        KIND,
        &order.quote_id,
        "status",
        &format!(
            "ERP order {} status {} → {}; quote status set to '{text}'",
            order.order_number, order.status, receipt.status
        ),
        &json!({ "order": order.order_number, "status": receipt.status }),
    )?;
    Ok(true)
}
