//! The ERP role over a `ferry:erp` plugin (1.0 or 1.1: the interface is the same).

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{
    Change, Document, Erp, FieldError, Line, MatchCriteria, OrderReceipt, RoleResult,
};

use super::convert::check_changes;
use super::{PluginSource, answer, guest_call};
use crate::bindings::erp;
use crate::bindings::types as wit;

pub(super) struct ErpAdapter {
    source: Arc<dyn PluginSource>,
}

impl ErpAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

#[async_trait]
impl Erp for ErpAdapter {
    async fn find_customers(&self, criteria: &MatchCriteria) -> RoleResult<Vec<Document>> {
        let criteria = wit::MatchCriteria::from(criteria.clone());
        let found: Vec<wit::Document> = answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_find_customers(s, &criteria)))?;
        Ok(found.into_iter().map(Document::from).collect())
    }

    async fn create_customer(&self, customer: &Document) -> RoleResult<String> {
        let customer = wit::Document::from(customer.clone());
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_create_customer(s, &customer)))
    }

    async fn validate_order(&self, order: &Document) -> RoleResult<Vec<FieldError>> {
        let order = wit::Document::from(order.clone());
        let problems: Vec<wit::FieldError> =
            answer(guest_call!(&self.source, Erp, erp, |b, s| b
                .ferry_erp_erp()
                .call_validate_order(s, &order)))?;
        Ok(problems.into_iter().map(FieldError::from).collect())
    }

    async fn find_order(
        &self,
        reference: &str,
        customer: Option<&str>,
    ) -> RoleResult<Option<OrderReceipt>> {
        let (reference, customer) = (reference.to_string(), customer.map(str::to_string));
        let found: Option<erp::OrderReceipt> =
            answer(guest_call!(&self.source, Erp, erp, |b, s| b
                .ferry_erp_erp()
                .call_find_order(s, &reference, customer.as_deref())))?;
        Ok(found.map(OrderReceipt::from))
    }

    async fn begin_order(&self, header: &Document, reference: &str) -> RoleResult<String> {
        let (header, reference) = (wit::Document::from(header.clone()), reference.to_string());
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_begin_order(s, &header, &reference)))
    }

    async fn add_order_lines(&self, draft: &str, lines: &[Line]) -> RoleResult<()> {
        let draft = draft.to_string();
        let lines: Vec<wit::Line> = lines.iter().cloned().map(wit::Line::from).collect();
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_add_order_lines(s, &draft, &lines)))
    }

    async fn confirm_order(&self, draft: &str) -> RoleResult<OrderReceipt> {
        let draft = draft.to_string();
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_confirm_order(s, &draft)))
    }

    async fn get_order_status(&self, order_number: &str) -> RoleResult<OrderReceipt> {
        let number = order_number.to_string();
        answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_get_order_status(s, &number)))
    }

    async fn parse_event(&self, content_type: &str, payload: &[u8]) -> RoleResult<Vec<Change>> {
        let (content_type, payload) = (content_type.to_string(), payload.to_vec());
        let changes: Vec<wit::Change> = answer(guest_call!(&self.source, Erp, erp, |b, s| b
            .ferry_erp_erp()
            .call_parse_event(s, &content_type, &payload)))?;
        let changes: Vec<Change> = changes.into_iter().map(Change::from).collect();
        check_changes(&changes)?;
        Ok(changes)
    }
}
