//! A connection's request rate limit. The outside system limits the tenant, not the node
//! (M3's gateway counts a tenant's calls per second): on a store several nodes share, every
//! send draws from one bucket in the database, taken in small blocks (one round trip per
//! block, not per request) and spent at the local pace. On a store of one node (SQLite,
//! memory) the local bucket is the whole limit.
//!
//! Which store the buckets live in is the process's: `ferry serve` names it once at start
//! ([`share_buckets`]); until then (and in tools that never do) the local bucket alone holds.

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use ferry_store::{BucketShape, Buckets};

/// The store whose buckets every connection of this process draws from.
static SHARED: OnceLock<RwLock<Option<Arc<dyn Buckets>>>> = OnceLock::new();

/// Makes every rate-limited connection of this process draw from `store`'s buckets (a
/// store without shared buckets leaves the local ones in charge).
pub fn share_buckets(store: Arc<dyn Buckets>) {
    let slot = SHARED.get_or_init(|| RwLock::new(None));
    if let Ok(mut g) = slot.write() {
        *g = Some(store);
    }
}

fn shared() -> Option<Arc<dyn Buckets>> {
    SHARED.get()?.read().ok()?.clone()
}

/// How a block of shared tokens is sized: about this much of a second's worth, so a node
/// holds little the others can't have, and unspent tokens lapse after as long.
const BLOCK_SECS: f64 = 0.1;

/// One connection's limit: `rate_per_sec` sends per second with bursts of `burst`.
pub struct RateLimit {
    key: String,
    shape: BucketShape,
    block: u32,
    state: Mutex<Local>,
    /// One task at a time asks the database for a block; the others wait for its answer.
    fetching: tokio::sync::Mutex<()>,
}

struct Local {
    /// The local bucket: paces this node's sends (the smoothing) and is the limit alone when
    /// no bucket is shared.
    tokens: f64,
    at: Instant,
    /// Shared tokens taken and not yet spent, and when they lapse.
    held: u32,
    held_until: Instant,
}

enum Next {
    Go,
    Wait(Duration),
    Fetch,
}

impl RateLimit {
    /// `key` names the limited thing across nodes (`tenant/connection`).
    pub fn new(key: String, rate_per_sec: f64, burst: u32) -> Self {
        let rate = rate_per_sec.max(0.001);
        let burst = f64::from(burst.max(1));
        let block = ((rate * BLOCK_SECS).ceil() as u32).clamp(1, burst as u32);
        let now = Instant::now();
        Self {
            key,
            shape: BucketShape {
                rate_per_sec: rate,
                burst,
            },
            block,
            state: Mutex::new(Local {
                tokens: burst,
                at: now,
                held: 0,
                held_until: now,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits until one more send may go (cancel-safe: dropping the future takes nothing).
    pub async fn acquire(&self) {
        loop {
            match self.next(shared().is_some()) {
                Next::Go => return,
                Next::Wait(d) => tokio::time::sleep(d).await,
                Next::Fetch => self.fetch().await,
            }
        }
    }

    fn next(&self, is_shared: bool) -> Next {
        let Ok(mut s) = self.state.lock() else {
            return Next::Go;
        };
        let now = Instant::now();
        let rate = self.shape.rate_per_sec;
        s.tokens = (s.tokens + now.duration_since(s.at).as_secs_f64() * rate).min(self.shape.burst);
        s.at = now;
        if s.tokens < 1.0 {
            return Next::Wait(Duration::from_secs_f64((1.0 - s.tokens) / rate));
        }
        if is_shared {
            if now >= s.held_until {
                s.held = 0;
            }
            if s.held == 0 {
                return Next::Fetch;
            }
            s.held -= 1;
        }
        s.tokens -= 1.0;
        Next::Go
    }

    /// Takes a block from the shared bucket (unless another task just did).
    async fn fetch(&self) {
        let _one = self.fetching.lock().await;
        if self.state.lock().is_ok_and(|s| s.held > 0) {
            return;
        }
        let Some(store) = shared() else { return };
        let got = store.take_tokens(&self.key, self.shape, self.block).await;
        let lapse = Duration::from_secs_f64(
            BLOCK_SECS.max(f64::from(self.block) / self.shape.rate_per_sec),
        );
        match got {
            Ok(Some(n)) if n > 0 => {
                if let Ok(mut s) = self.state.lock() {
                    s.held = n;
                    s.held_until = Instant::now() + lapse;
                }
            }
            // Empty (the other nodes spent it): ask again when one token has come back.
            Ok(Some(_)) => {
                tokio::time::sleep(Duration::from_secs_f64(1.0 / self.shape.rate_per_sec)).await;
            }
            // No shared buckets here after all: the local bucket is the limit.
            Ok(None) => {
                if let Ok(mut s) = self.state.lock() {
                    s.held = u32::MAX;
                    s.held_until = Instant::now() + Duration::from_secs(3_600);
                }
            }
            // The database is away: the local limit holds meanwhile (sends fail anyway
            // without it), and the next block is asked for after one block's time.
            Err(e) => {
                tracing::warn!(key = %self.key, "shared rate bucket unavailable: {e}");
                if let Ok(mut s) = self.state.lock() {
                    s.held = self.block;
                    s.held_until = Instant::now() + lapse;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decisions, not the clock: a burst goes at once, the next send waits about one
    /// token's time, and a shared bucket is asked before any send draws on it.
    #[test]
    fn the_local_bucket_lets_its_burst_go_then_waits_a_tokens_time() {
        let limit = RateLimit::new("t/m3".into(), 10.0, 2);
        assert!(matches!(limit.next(false), Next::Go));
        assert!(matches!(limit.next(false), Next::Go));
        match limit.next(false) {
            Next::Wait(d) => assert!(
                d > Duration::from_millis(50) && d <= Duration::from_millis(100),
                "{d:?}"
            ),
            _ => panic!("a third send within the burst's instant must wait"),
        }
        let shared = RateLimit::new("t/m3".into(), 10.0, 2);
        assert!(matches!(shared.next(true), Next::Fetch));
        if let Ok(mut s) = shared.state.lock() {
            s.held = 1;
            s.held_until = Instant::now() + Duration::from_secs(60);
        }
        assert!(matches!(shared.next(true), Next::Go));
        assert!(
            matches!(shared.next(true), Next::Fetch),
            "the block is spent"
        );
    }
}
