//! The quoting system's product table over a `ferry:quoting` plugin. These exports are
//! `@unstable(feature = sync)` and every `ferry:quoting` 1.x has them: a plugin built against
//! 1.1 or 1.0 is called through the 1.1 bindings (`quoting_call!`).

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{Availability, Document, QuotingCatalog, RoleResult, UpsertReport};

use super::quoting::quoting_call;
use super::versions::{answer_with, predates};
use super::{PluginSource, guest_call};
use crate::Role;
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
        quoting_call!(&self.source, call_upsert_products(&products) => UpsertReport::from)
    }

    async fn set_availability(&self, items: &[Availability]) -> RoleResult<u32> {
        // The record's Rust type differs per bindings: converted in the branch that calls.
        let items = items.to_vec();
        quoting_call!(
            &self.source,
            call_set_availability(&items.into_iter().map(Into::into).collect::<Vec<_>>())
        )
    }
}
