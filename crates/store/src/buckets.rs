//! Token buckets several nodes draw from: a rate limit that belongs to something outside Ferry
//! (M3 limits a tenant, not a node) holds across every node on one database. Nodes take tokens
//! in small blocks and pace their own use of them, so the database sees one round trip per
//! block, not per request.

use async_trait::async_trait;

use crate::StoreError;

/// A shared bucket's shape: refilled at `rate_per_sec`, holding at most `burst` tokens (a new
/// bucket starts full).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketShape {
    pub rate_per_sec: f64,
    pub burst: f64,
}

#[async_trait]
pub trait Buckets: Send + Sync {
    /// Takes up to `want` whole tokens from the bucket `key` now (on the database's clock, so
    /// the nodes' clocks need not agree); how many it got (0: empty, ask again later).
    /// `None`: this backend keeps no shared buckets (one node: its local bucket is the limit).
    async fn take_tokens(
        &self,
        key: &str,
        shape: BucketShape,
        want: u32,
    ) -> Result<Option<u32>, StoreError>;
}
