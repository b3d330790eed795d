//! What flows ask the roles about orders, quotes and customers besides documents.

use serde::{Deserialize, Serialize};

/// What the ERP says about an order it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReceipt {
    /// Read as `order-number` too: the form checkpoints were first written in.
    #[serde(alias = "order-number")]
    pub order_number: String,
    /// The idempotency reference the order was created with (M3: CUOR).
    pub reference: String,
    pub status: String,
    /// Per-line outcome in the order's line order (e.g. M3 PONR), when known.
    #[serde(default, alias = "line-numbers")]
    pub line_numbers: Vec<String>,
}

/// An invoice the ERP raised for an order (M3: OIS350MI/LstAllInvByCO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The number the customer sees (M3: the extended invoice number).
    pub number: String,
    /// ISO 8601 calendar date (`2026-12-03`).
    pub date: String,
    /// The invoice total as a decimal string, when the ERP gives it.
    pub amount: Option<String>,
    pub currency: Option<String>,
}

/// How to find a record when the key is unknown; all given criteria must match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MatchCriteria {
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub external_ref: Option<String>,
}

/// Opaque cursor paging: pass back `next` until it is none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteSummary {
    pub id: String,
    pub number: String,
    pub revision: Option<String>,
    pub status: String,
    pub modified_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuotePage {
    pub quotes: Vec<QuoteSummary>,
    pub next: Option<String>,
}
