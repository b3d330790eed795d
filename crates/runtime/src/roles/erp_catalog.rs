//! The ERP's catalog calls (items, prices, stock) over a `ferry:erp` plugin. The per-item
//! exports are `@unstable(feature = sync)` and every `ferry:erp` 1.x has them: a plugin built
//! against 1.2, 1.1 or 1.0 is called through its own bindings (`erp_call!`), so its catalog
//! syncs too. The batched `get-item-prices` / `get-stocks` are 1.3's: a 1.3 plugin answers
//! them in one call per batch; an older one is asked once per item instead
//! (`ferry_domain::catalog::{prices_one_by_one, stocks_one_by_one}`), never instantiated for
//! a function it lacks.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::catalog::{ItemPrices, ItemStock, prices_one_by_one, stocks_one_by_one};
use ferry_domain::{DocumentPage, ErpCatalog, PageRequest, Price, RoleResult, StockBalance};

use super::erp::erp_call;
use super::versions::{ErpBindings, answer_with, erp_bindings};
use super::{PluginSource, answer, guest_call};
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
        if erp_bindings(&self.source) != ErpBindings::Current {
            return prices_one_by_one(self, items, customer).await;
        }
        let (items, customer) = (items.to_vec(), customer.map(str::to_string));
        let found: Vec<crate::bindings::erp::ItemPrices> =
            answer(guest_call!(&self.source, Erp, erp, |b, s| b
                .ferry_erp_erp()
                .call_get_item_prices(s, &items, customer.as_deref())))?;
        Ok(found.into_iter().map(ItemPrices::from).collect())
    }

    async fn get_stocks(
        &self,
        items: &[String],
        warehouses: &[String],
    ) -> RoleResult<Vec<ItemStock>> {
        if erp_bindings(&self.source) != ErpBindings::Current {
            return stocks_one_by_one(self, items, warehouses).await;
        }
        let (items, warehouses) = (items.to_vec(), warehouses.to_vec());
        let found: Vec<crate::bindings::erp::ItemStock> =
            answer(guest_call!(&self.source, Erp, erp, |b, s| b
                .ferry_erp_erp()
                .call_get_stocks(s, &items, &warehouses)))?;
        Ok(found.into_iter().map(ItemStock::from).collect())
    }
}
