//! Shadow runs: a candidate plugin version runs beside the active one on live events; what
//! each would have produced is recorded here (never sent), so the two can be compared before
//! the candidate is promoted. One live shadow per (tenant, role); ended ones are kept with
//! their records for the report.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value as Json;

use crate::StoreError;

/// A shadow: `digest` ran beside `live_digest` for `tenant`'s `role` from `started_at`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Shadow {
    pub id: i64,
    pub tenant: String,
    pub role: String,
    pub digest: String,
    /// The component active when the shadow started.
    pub live_digest: String,
    pub started_at: String,
    /// None while it runs.
    pub ended_at: Option<String>,
    /// How it ended: `promoted`, `stopped`, `replaced`.
    pub outcome: Option<String>,
}

/// What the live version and the shadow produced for one call of one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShadowRecord {
    pub shadow_id: i64,
    /// What was asked (a transform's kind, e.g. `quote-to-order`).
    pub kind: String,
    /// The run it came from (the flow's job key, e.g. the quote id).
    pub key: String,
    pub live: Json,
    pub shadow: Json,
    pub agree: bool,
    pub recorded_at: String,
}

#[async_trait]
pub trait Shadows: Send + Sync {
    /// Starts a shadow of `digest` for the tenant's role, ending (`replaced`) any live one.
    async fn start_shadow(
        &self,
        tenant: &str,
        role: &str,
        digest: &str,
        live_digest: &str,
    ) -> Result<Shadow, StoreError>;

    /// Ends the live shadow of the tenant's role with `outcome`; None when there was none.
    async fn end_shadow(
        &self,
        tenant: &str,
        role: &str,
        outcome: &str,
    ) -> Result<Option<Shadow>, StoreError>;

    /// Every shadow (one tenant's, or all), live or ended, newest first.
    async fn shadows(&self, tenant: Option<&str>) -> Result<Vec<Shadow>, StoreError>;

    /// Records one comparison; a later record for the same (shadow, kind, key) replaces it
    /// (a retried run is compared once, on its latest try).
    async fn record_shadow(&self, record: &ShadowRecord) -> Result<(), StoreError>;

    /// A shadow's records, by key then kind.
    async fn shadow_records(&self, shadow_id: i64) -> Result<Vec<ShadowRecord>, StoreError>;
}
