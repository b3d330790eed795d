//! The quoting system's product table over a `ferry:quoting` plugin. These exports are
//! `@unstable(feature = sync)`: every plugin the 1.2 bindings accept has them.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{Availability, Document, QuotingCatalog, RoleResult, UpsertReport};

use super::{PluginSource, answer, guest_call};
use crate::bindings::quoting as wit_quoting;
use crate::bindings::types as wit;

pub(super) struct QuotingCatalogAdapter {
    source: Arc<dyn PluginSource>,
}

impl QuotingCatalogAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

#[async_trait]
impl QuotingCatalog for QuotingCatalogAdapter {
    async fn upsert_products(&self, products: &[Document]) -> RoleResult<UpsertReport> {
        let products: Vec<wit::Document> = products.iter().cloned().map(Into::into).collect();
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_upsert_products(s, &products)))
    }

    async fn set_availability(&self, items: &[Availability]) -> RoleResult<u32> {
        let items: Vec<wit_quoting::Availability> = items.iter().cloned().map(Into::into).collect();
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_set_availability(s, &items)))
    }
}
