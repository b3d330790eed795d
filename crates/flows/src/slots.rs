//! Schedules every flow shares: an `every` setting read as an interval, and the loop that
//! wakes at each of its slots (multiples of the interval since the epoch) and runs a tick
//! there; the tick takes the slot's lease in the store, so one node of many runs it.

use std::sync::Arc;
use std::time::Duration;

use ferry_store::{Store, StoreError};

use super::now_ms;

/// A schedule's `every` (`"15m"`: see [`span`]) as an interval; none when unset; `Err` says
/// what is wrong with it. Shared by every sync's policy.
pub fn interval(every: Option<&str>) -> Result<Option<Duration>, String> {
    match every {
        None => Ok(None),
        Some(every) => span(every)
            .map(Some)
            .map_err(|e| format!("every = {e} (leave it out for none)")),
    }
}

/// A span of time written as a number and a unit (`s`, `m`, `h`, `d`): `"30s"`, `"15m"`,
/// `"2h"`, `"1d"`. `Err` says what is wrong with it; none is no span.
pub fn span(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("\"{t}\" is not a number and a unit (\"15m\")"))?;
    let secs = match unit.trim() {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3_600),
        "d" => n.saturating_mul(86_400),
        other => return Err(format!("\"{t}\": unit '{other}' is not s, m, h or d")),
    };
    if secs == 0 {
        return Err(format!("\"{t}\" is no time at all"));
    }
    Ok(Duration::from_secs(secs))
}

/// The schedule loop every sync shares: wakes at each of `every`'s slots and calls `tick`
/// (which takes the slot's lease and queues the run when this node got it), forever.
pub async fn every_slot<F, Fut>(
    tenant: &str,
    name: &str,
    every: Duration,
    store: Arc<dyn Store>,
    node: &str,
    tick: F,
) where
    F: Fn(Arc<dyn Store>, i64) -> Fut,
    Fut: std::future::Future<Output = Result<bool, StoreError>>,
{
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    loop {
        let now = now_ms();
        let slot = now.div_euclid(every_ms).saturating_add(1);
        let wait = slot.saturating_mul(every_ms).saturating_sub(now);
        tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
        log_tick(tenant, name, slot, node, tick(store.clone(), slot).await);
    }
}

/// [`every_slot`], starting with the slot it is in now (a poll that should not wait a whole
/// interval after a start).
pub async fn every_slot_from_now<F, Fut>(
    tenant: &str,
    name: &str,
    every: Duration,
    store: Arc<dyn Store>,
    node: &str,
    tick: F,
) where
    F: Fn(Arc<dyn Store>, i64) -> Fut,
    Fut: std::future::Future<Output = Result<bool, StoreError>>,
{
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    let slot = now_ms().div_euclid(every_ms);
    log_tick(tenant, name, slot, node, tick(store.clone(), slot).await);
    every_slot(tenant, name, every, store, node, tick).await;
}

fn log_tick(tenant: &str, name: &str, slot: i64, node: &str, ticked: Result<bool, StoreError>) {
    match ticked {
        Ok(true) => {}
        Ok(false) => tracing::debug!(%tenant, slot, %node, "{name} slot taken by another node"),
        Err(e) => tracing::warn!(%tenant, "the scheduled {name} failed: {e}"),
    }
}
