//! The ERP's catalog calls (items, prices, stock) over a `ferry:erp` plugin. These exports are
//! `@unstable(feature = sync)`: every plugin the 1.2 bindings accept has them.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{DocumentPage, ErpCatalog, PageRequest, Price, RoleResult, StockBalance};

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
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_list_items(s, &page)))
    }

    async fn list_items_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        let (since, page) = (since.to_string(), wit::PageRequest::from(page.clone()));
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_list_items_changed(s, &since, &page)))
    }

    async fn get_item_price(&self, item: &str) -> RoleResult<Price> {
        let item = item.to_string();
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_get_item_price(s, &item)))
    }

    async fn get_stock(&self, item: &str) -> RoleResult<Vec<StockBalance>> {
        let item = item.to_string();
        let found: Vec<crate::bindings::erp::StockBalance> =
            answer(guest_call!(&self.source, Erp, erp, |b, s| b
                .ferry_erp_erp()
                .call_get_stock(s, &item)))?;
        Ok(found.into_iter().map(StockBalance::from).collect())
    }
}
