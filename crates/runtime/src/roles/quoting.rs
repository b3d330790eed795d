//! The quoting role over a `ferry:quoting` plugin (1.0 or 1.1: the interface is the same).

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{
    Document, InboundWebhook, PageRequest, QuoteEvent, QuotePage, Quoting, RoleResult,
};

use super::{PluginSource, answer, guest_call};
use crate::bindings::quoting as wit_quoting;
use crate::bindings::types as wit;

pub(super) struct QuotingAdapter {
    source: Arc<dyn PluginSource>,
}

impl QuotingAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

#[async_trait]
impl Quoting for QuotingAdapter {
    async fn parse_webhook(&self, webhook: &InboundWebhook) -> RoleResult<QuoteEvent> {
        let webhook = wit_quoting::InboundWebhook::from(webhook.clone());
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_parse_webhook(s, &webhook)))
    }

    async fn list_ready_quotes(&self, page: &PageRequest) -> RoleResult<QuotePage> {
        let page = wit::PageRequest::from(page.clone());
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_list_ready_quotes(s, &page)))
    }

    async fn get_quote(&self, id: &str) -> RoleResult<Document> {
        let id = id.to_string();
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_get_quote(s, &id)))
    }

    async fn mark_transferred(
        &self,
        id: &str,
        order_number: &str,
        status: Option<&str>,
    ) -> RoleResult<()> {
        let (id, number, status) = (
            id.to_string(),
            order_number.to_string(),
            status.map(str::to_string),
        );
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_mark_transferred(s, &id, &number, status.as_deref())))
    }

    async fn set_status(&self, id: &str, status: &str) -> RoleResult<()> {
        let (id, status) = (id.to_string(), status.to_string());
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_set_status(s, &id, &status)))
    }
}
