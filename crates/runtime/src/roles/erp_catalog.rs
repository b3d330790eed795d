//! The ERP's catalog calls (items, prices, stock) over a `ferry:erp` plugin. These exports are
//! `@unstable(feature = sync)` and every `ferry:erp` 1.x has them: a plugin built against 1.1
//! or 1.0 is called through the 1.1 bindings (`erp_call!`), so its catalog syncs too.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{DocumentPage, ErpCatalog, PageRequest, Price, RoleResult, StockBalance};

use super::erp::erp_call;
use super::versions::{answer_with, predates};
use super::{PluginSource, guest_call};
use crate::Role;
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
}
