//! The catalog roles: what the catalog, price and stock flows call on the ERP (items, prices,
//! stock) and on the quoting system (its product table). Finer than [`crate::Erp`] and
//! [`crate::Quoting`] so that a flow names only what it uses and a fake implements only that.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::error::{ErrorClass, RoleError, RoleFailure};
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

/// One item's prices for the catalog: its list price, and a reference customer's price when
/// one was asked for (none: the ERP has no such item, or no price for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPrices {
    pub item: String,
    pub list: Option<Price>,
    pub customer: Option<Price>,
}

/// One item's balances, a warehouse each (empty: not stocked anywhere asked, or unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemStock {
    pub item: String,
    pub balances: Vec<StockBalance>,
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

    /// What `customer` pays for `quantity` of `item`. None by default: the ERP does not say.
    async fn get_customer_price(
        &self,
        item: &str,
        customer: &str,
        _quantity: &str,
    ) -> RoleResult<Price> {
        Err(RoleError::new(
            ErrorClass::Unsupported,
            format!("no customer prices here (item {item}, customer {customer})"),
        )
        .into())
    }

    /// Many items' prices, one entry per item in order. By default one call per item
    /// ([`prices_one_by_one`]); an ERP that batches overrides it.
    async fn get_item_prices(
        &self,
        items: &[String],
        customer: Option<&str>,
    ) -> RoleResult<Vec<ItemPrices>> {
        prices_one_by_one(self, items, customer).await
    }

    /// Many items' stock, one entry per item in order, only `warehouses` when not empty. By
    /// default one call per item ([`stocks_one_by_one`]).
    async fn get_stocks(
        &self,
        items: &[String],
        warehouses: &[String],
    ) -> RoleResult<Vec<ItemStock>> {
        stocks_one_by_one(self, items, warehouses).await
    }

    /// The items whose stock changed since `since` (RFC 3339), each with all its balances in
    /// `warehouses` (empty: the ERP's choice), in one answer; it may hold more items than changed,
    /// never fewer. `None`: this ERP cannot tell what changed, and the caller reads every item
    /// (the default).
    async fn list_stocks_changed(
        &self,
        _since: &str,
        _warehouses: &[String],
    ) -> RoleResult<Option<Vec<ItemStock>>> {
        Ok(None)
    }
}

/// A not-found answer as none; any other failure stands.
fn found<T>(r: RoleResult<T>) -> RoleResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(RoleFailure::Error(e)) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`ErpCatalog::get_item_prices`] as one `get_item_price` (and one `get_customer_price`, for
/// quantity 1) per item: the host's answer for an ERP plugin built before the batched call.
pub async fn prices_one_by_one<C: ErpCatalog + ?Sized>(
    erp: &C,
    items: &[String],
    customer: Option<&str>,
) -> RoleResult<Vec<ItemPrices>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let list = found(erp.get_item_price(item).await)?;
        let customer = match customer {
            Some(c) => found(erp.get_customer_price(item, c, "1").await)?,
            None => None,
        };
        out.push(ItemPrices {
            item: item.clone(),
            list,
            customer,
        });
    }
    Ok(out)
}

/// [`ErpCatalog::get_stocks`] as one `get_stock` per item, kept to `warehouses` when given.
pub async fn stocks_one_by_one<C: ErpCatalog + ?Sized>(
    erp: &C,
    items: &[String],
    warehouses: &[String],
) -> RoleResult<Vec<ItemStock>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut balances = found(erp.get_stock(item).await)?.unwrap_or_default();
        if !warehouses.is_empty() {
            balances.retain(|b| warehouses.iter().any(|w| w.trim() == b.warehouse.trim()));
        }
        out.push(ItemStock {
            item: item.clone(),
            balances,
        });
    }
    Ok(out)
}

/// The quoting system's product table.
#[async_trait]
pub trait QuotingCatalog: Send + Sync {
    /// Inserts or updates by the product's key: idempotent (a repeat counts as unchanged).
    async fn upsert_products(&self, products: &[Document]) -> RoleResult<UpsertReport>;
    /// Sets (never adds) each product's availability; returns how many were updated.
    async fn set_availability(&self, items: &[Availability]) -> RoleResult<u32>;
}
