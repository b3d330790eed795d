//! The catalog roles: what the catalog, price and stock flows call on the ERP (items, prices,
//! stock) and on the quoting system (its product table). Finer than [`crate::Erp`] and
//! [`crate::Quoting`] so that a flow names only what it uses and a fake implements only that.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::order::PageRequest;
use crate::roles::RoleResult;

/// One page of documents; pass `next` back as the cursor until it is none.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DocumentPage {
    pub documents: Vec<Document>,
    pub next: Option<String>,
}

/// An item's price; amounts and quantities are decimals as strings ("12.50").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub item: String,
    pub amount: String,
    pub currency: Option<String>,
    pub unit: Option<String>,
    /// The price holds for this quantity and up, when the ERP tiers prices.
    pub min_quantity: Option<String>,
}

/// An item's balance in one warehouse (decimals as strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockBalance {
    pub warehouse: String,
    pub on_hand: String,
    pub allocatable: String,
    pub allocated: Option<String>,
}

/// What an upsert of products did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpsertReport {
    pub inserted: u32,
    pub updated: u32,
    pub unchanged: u32,
}

/// A product's available quantity (a decimal as a string), per warehouse when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub product: String,
    pub quantity: String,
    pub warehouse: Option<String>,
}

/// The ERP's item master, prices and stock (reads only).
#[async_trait]
pub trait ErpCatalog: Send + Sync {
    /// Every item, in key order, a page at a time.
    async fn list_items(&self, page: &PageRequest) -> RoleResult<DocumentPage>;
    /// Items changed since `since` (RFC 3339 or a date), oldest change first.
    async fn list_items_changed(&self, since: &str, page: &PageRequest)
    -> RoleResult<DocumentPage>;
    async fn get_item_price(&self, item: &str) -> RoleResult<Price>;
    async fn get_stock(&self, item: &str) -> RoleResult<Vec<StockBalance>>;
}

/// The quoting system's product table.
#[async_trait]
pub trait QuotingCatalog: Send + Sync {
    /// Inserts or updates by the product's key: idempotent (a repeat counts as unchanged).
    async fn upsert_products(&self, products: &[Document]) -> RoleResult<UpsertReport>;
    /// Sets (never adds) each product's availability; returns how many were updated.
    async fn set_availability(&self, items: &[Availability]) -> RoleResult<u32>;
}
