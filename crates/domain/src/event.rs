//! Events the outside systems push: parsed by their role, stored in the inbox, turned into jobs.

use serde::{Deserialize, Serialize};

use crate::document::Field;

/// A webhook as it arrived (the host has checked its shared secret already).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundWebhook {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A quoting system's event about one quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteEvent {
    /// Unique per delivery of one change; the inbox deduplicates on it.
    pub event_id: String,
    pub quote_id: String,
    /// What happened, in the quoting system's words ("DocumentStatusChanged").
    pub event: String,
    pub status: Option<String>,
    pub occurred_at: Option<String>,
}

/// A change notification: enough to know what to fetch, not the entity itself. Entity and
/// action are open vocabularies ("customer", "item", "order", ...; "created", "updated",
/// "deleted", "status-changed", ...): a new kind of change is not a breaking change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub entity: String,
    pub key: String,
    pub action: String,
    /// When the source system said the change happened (RFC 3339), if it did.
    pub changed_at: Option<String>,
    /// Small extras the source carried (e.g. a new order status), in native names.
    pub detail: Vec<Field>,
    /// The source's id for the event (a BOD id), when it has one: the inbox deduplicates on it.
    #[serde(default)]
    pub event_id: Option<String>,
}
