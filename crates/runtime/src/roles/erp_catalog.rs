//! The ERP's catalog calls (items, prices, stock) over a `ferry:erp` plugin. The per-item
//! exports are `@unstable(feature = sync)` and every `ferry:erp` 1.x has them: a plugin built
//! against 1.2, 1.1 or 1.0 is called through its own bindings (`erp_call!`), so its catalog
//! syncs too. The batched `get-item-prices` / `get-stocks` are 1.3's: a 1.3 plugin answers
//! them in one call per batch; an older one is asked once per item instead
//! (`ferry_domain::catalog::{prices_one_by_one, stocks_one_by_one}`), never instantiated for
//! a function it lacks. 1.4's `list-stocks-changed` is answered "cannot tell" (`None`) for an
//! older plugin without running it: the stock sync then reads every item.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::catalog::{ItemPrices, ItemStock, prices_one_by_one, stocks_one_by_one};
use ferry_domain::{DocumentPage, ErpCatalog, PageRequest, Price, RoleResult, StockBalance};

use super::erp::erp_call;
use super::versions::{ErpBindings, answer_with, erp_bindings};
use super::{PluginSource, guest_call};
use crate::bindings::types as wit;

pub(super) struct ErpCatalogAdapter {
    source: Arc<dyn PluginSource>,
}

impl ErpCatalogAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

#[async_trait]
impl ErpCatalog for ErpCatalogAdapter {
    async fn list_items(&self, page: &PageRequest) -> RoleResult<DocumentPage> {
        let page = wit::PageRequest::from(page.clone());
        erp_call!(&self.source, call_list_items(&page) => DocumentPage::from)
    }

    async fn list_items_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        let (since, page) = (since.to_string(), wit::PageRequest::from(page.clone()));
        erp_call!(&self.source, call_list_items_changed(&since, &page) => DocumentPage::from)
    }

    async fn get_item_price(&self, item: &str) -> RoleResult<Price> {
        let item = item.to_string();
        erp_call!(&self.source, call_get_item_price(&item) => Price::from)
    }

    async fn get_stock(&self, item: &str) -> RoleResult<Vec<StockBalance>> {
        let item = item.to_string();
        erp_call!(&self.source, call_get_stock(&item)
            => |found: Vec<_>| found.into_iter().map(StockBalance::from).collect())
    }

    async fn get_customer_price(
        &self,
        item: &str,
        customer: &str,
        quantity: &str,
    ) -> RoleResult<Price> {
        let (item, customer, quantity) =
            (item.to_string(), customer.to_string(), quantity.to_string());
        erp_call!(&self.source, call_get_customer_price(&item, &customer, &quantity) => Price::from)
    }

    async fn get_item_prices(
        &self,
        items: &[String],
        customer: Option<&str>,
    ) -> RoleResult<Vec<ItemPrices>> {
        let (owned, customer) = (items.to_vec(), customer.map(str::to_string));
        erp_call!(
            &self.source,
            [V1_3 => erp_v1_3, Current => erp],
            call_get_item_prices(&owned, customer.as_deref())
                => |found: Vec<_>| found.into_iter().map(ItemPrices::from).collect(),
            else prices_one_by_one(self, items, customer.as_deref()).await
        )
    }

    async fn get_stocks(
        &self,
        items: &[String],
        warehouses: &[String],
    ) -> RoleResult<Vec<ItemStock>> {
        let (owned, whs) = (items.to_vec(), warehouses.to_vec());
        erp_call!(
            &self.source,
            [V1_3 => erp_v1_3, Current => erp],
            call_get_stocks(&owned, &whs)
                => |found: Vec<_>| found.into_iter().map(ItemStock::from).collect(),
            else stocks_one_by_one(self, items, warehouses).await
        )
    }

    /// Since `ferry:erp` 1.4: an older plugin is not instantiated (`None`: cannot tell).
    async fn list_stocks_changed(
        &self,
        since: &str,
        warehouses: &[String],
    ) -> RoleResult<Option<Vec<ItemStock>>> {
        let (since, whs) = (since.to_string(), warehouses.to_vec());
        erp_call!(
            &self.source,
            [Current => erp],
            call_list_stocks_changed(&since, &whs)
                => |found: Option<Vec<crate::bindings::erp::ItemStock>>| {
                    found.map(|f| f.into_iter().map(ItemStock::from).collect())
                },
            else Ok(None)
        )
    }
}
