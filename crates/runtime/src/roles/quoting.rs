//! The quoting role over a `ferry:quoting` plugin. A 1.2 plugin is called through the 1.2
//! bindings; a plugin built against 1.0 or 1.1 through the 1.1 bindings (1.0's interface is
//! 1.1's), and the function it lacks (`set-invoice`) is answered `unsupported` without
//! instantiating it.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{
    Document, InboundWebhook, PageRequest, QuoteEvent, QuotePage, Quoting, RoleResult,
};

use super::versions::{answer_with, older, predates, unsupported};
use super::{PluginSource, answer, guest_call};
use crate::Role;
use crate::bindings::types as wit;
use crate::bindings::{quoting as wit_quoting, quoting_1_1 as wit_quoting_1_1};

pub(super) struct QuotingAdapter {
    source: Arc<dyn PluginSource>,
}

impl QuotingAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

/// Calls one export that every `ferry:quoting` 1.x has, through the bindings that serve the
/// plugin; `=> conv` converts the plugin's own answer (its record types differ per bindings).
macro_rules! quoting_call {
    ($source:expr, $method:ident($($arg:expr),*)) => {
        quoting_call!($source, $method($($arg),*) => |answer| answer)
    };
    ($source:expr, $method:ident($($arg:expr),*) => $conv:expr) => {{
        let source: &Arc<dyn PluginSource> = $source;
        if predates(source, Role::Quoting) {
            answer_with(
                guest_call!(source, Quoting, quoting_v1_1, |b, s| b
                    .ferry_quoting_quoting()
                    .$method(s, $($arg),*)),
                $conv,
            )
        } else {
            answer_with(
                guest_call!(source, Quoting, quoting, |b, s| b
                    .ferry_quoting_quoting()
                    .$method(s, $($arg),*)),
                $conv,
            )
        }
    }};
}

pub(super) use quoting_call;

#[async_trait]
impl Quoting for QuotingAdapter {
    async fn parse_webhook(&self, webhook: &InboundWebhook) -> RoleResult<QuoteEvent> {
        // The webhook record is the role's own, so each bindings version has its type.
        if predates(&self.source, Role::Quoting) {
            let webhook = wit_quoting_1_1::InboundWebhook::from(webhook.clone());
            return answer(guest_call!(&self.source, Quoting, quoting_v1_1, |b, s| b
                .ferry_quoting_quoting()
                .call_parse_webhook(s, &webhook)));
        }
        // On a warm instance when one waits (`warm.rs`): intake calls this once per webhook.
        let webhook = wit_quoting::InboundWebhook::from(webhook.clone());
        answer(guest_call!(
            &self.source,
            Quoting,
            quoting_webhook,
            |b, s| b.ferry_quoting_quoting().call_parse_webhook(s, &webhook)
        ))
    }

    async fn list_ready_quotes(&self, page: &PageRequest) -> RoleResult<QuotePage> {
        let page = wit::PageRequest::from(page.clone());
        quoting_call!(&self.source, call_list_ready_quotes(&page) => QuotePage::from)
    }

    async fn get_quote(&self, id: &str) -> RoleResult<Document> {
        let id = id.to_string();
        quoting_call!(&self.source, call_get_quote(&id) => Document::from)
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
        quoting_call!(
            &self.source,
            call_mark_transferred(&id, &number, status.as_deref())
        )
    }

    async fn set_status(&self, id: &str, status: &str) -> RoleResult<()> {
        let (id, status) = (id.to_string(), status.to_string());
        quoting_call!(&self.source, call_set_status(&id, &status))
    }

    /// Since `ferry:quoting` 1.2: an older plugin is not instantiated, the answer is
    /// `unsupported`.
    async fn set_invoice(&self, id: &str, number: &str, date: &str) -> RoleResult<()> {
        if let Some(old) = older(&self.source, Role::Quoting) {
            return Err(unsupported(&old, "set-invoice", "1.2.0"));
        }
        let (id, number, date) = (id.to_string(), number.to_string(), date.to_string());
        answer(guest_call!(&self.source, Quoting, quoting, |b, s| b
            .ferry_quoting_quoting()
            .call_set_invoice(s, &id, &number, &date)))
    }
}
