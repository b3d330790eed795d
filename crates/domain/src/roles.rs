//! The roles flows are written against. The runtime implements each with an adapter over the
//! tenant's active plugin (one per contract version); tests implement them with in-memory
//! fakes. Only the calls a flow makes are here: a contract function no flow calls yet has no
//! method until one does.

use std::sync::Arc;

use async_trait::async_trait;

use crate::document::{Document, Line};
use crate::error::{ErrorClass, FieldError, RoleError, RoleFailure};
use crate::event::{Change, InboundWebhook, QuoteEvent};
use crate::order::{Invoice, MatchCriteria, OrderReceipt, PageRequest, QuotePage};
use crate::transform::{Context, Issue, Mapped};

pub type RoleResult<T> = Result<T, RoleFailure>;

/// The ERP (Infor M3 is one implementation). Documents are in the ERP's native field names.
#[async_trait]
pub trait Erp: Send + Sync {
    async fn find_customers(&self, criteria: &MatchCriteria) -> RoleResult<Vec<Document>>;
    /// Not idempotent: the flow records an intent first and reads back after a crash.
    async fn create_customer(&self, customer: &Document) -> RoleResult<String>;
    /// Problems the ERP would refuse the order for; empty when it can be created.
    async fn validate_order(&self, order: &Document) -> RoleResult<Vec<FieldError>>;
    /// The order carrying `reference` (the idempotency reference, M3's CUOR), if any.
    async fn find_order(
        &self,
        reference: &str,
        customer: Option<&str>,
    ) -> RoleResult<Option<OrderReceipt>>;
    /// Opens a draft order (M3: a batch head) for `reference`, reusing one already open for it.
    async fn begin_order(&self, header: &Document, reference: &str) -> RoleResult<String>;
    /// Makes the draft hold exactly `lines` (adds the ones it lacks): idempotent.
    async fn add_order_lines(&self, draft: &str, lines: &[Line]) -> RoleResult<()>;
    async fn confirm_order(&self, draft: &str) -> RoleResult<OrderReceipt>;
    async fn get_order_status(&self, order_number: &str) -> RoleResult<OrderReceipt>;
    /// Parses an event payload the ERP pushed (M3: an OAGIS BOD from ION) into changes.
    async fn parse_event(&self, content_type: &str, payload: &[u8]) -> RoleResult<Vec<Change>>;
    /// The invoices raised for the order so far, oldest first (a read). `Unsupported` from a
    /// plugin built before `ferry:erp` 1.2, and from an implementation that lacks it.
    async fn list_order_invoices(&self, order_number: &str) -> RoleResult<Vec<Invoice>> {
        let _ = order_number;
        Err(unsupported("list-order-invoices"))
    }
}

fn unsupported(function: &str) -> RoleFailure {
    RoleError::new(
        ErrorClass::Unsupported,
        format!("this role has no {function}"),
    )
    .into()
}

/// The quoting system (QuoteWerks is one implementation).
#[async_trait]
pub trait Quoting: Send + Sync {
    async fn parse_webhook(&self, webhook: &InboundWebhook) -> RoleResult<QuoteEvent>;
    /// Quotes in the tenant's "ready to transfer" status not transferred yet.
    async fn list_ready_quotes(&self, page: &PageRequest) -> RoleResult<QuotePage>;
    async fn get_quote(&self, id: &str) -> RoleResult<Document>;
    /// Writes the ERP's order number back and sets the "transferred" status: idempotent.
    async fn mark_transferred(
        &self,
        id: &str,
        order_number: &str,
        status: Option<&str>,
    ) -> RoleResult<()>;
    /// Idempotent.
    async fn set_status(&self, id: &str, status: &str) -> RoleResult<()>;
    /// Writes the ERP's invoice number and date (ISO 8601) onto the quote: idempotent.
    /// `Unsupported` from a plugin built before `ferry:quoting` 1.2, and from an implementation
    /// that lacks it.
    async fn set_invoice(&self, id: &str, number: &str, date: &str) -> RoleResult<()> {
        let _ = (id, number, date);
        Err(unsupported("set-invoice"))
    }
}

/// A transform: maps one system's document to another's. Pure.
#[async_trait]
pub trait Transform: Send + Sync {
    /// Maps a document of the named kind; `Err(issues)` when an error-severity issue was found.
    async fn map_document(
        &self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> RoleResult<Result<Mapped, Vec<Issue>>>;

    /// Maps many documents of one kind, an answer per input in order (a catalog page). The
    /// same answers as [`map_document`](Self::map_document) on each; an implementation may
    /// save per-call work (the plugin host makes the calls in one task on one instance). A
    /// failure of any call fails the whole batch.
    async fn map_documents(
        &self,
        kind: &str,
        inputs: &[Document],
        context: &Context,
    ) -> RoleResult<Vec<Result<Mapped, Vec<Issue>>>> {
        map_each(self, kind, inputs, context).await
    }
}

/// [`Transform::map_documents`] as one [`Transform::map_document`] per input.
pub async fn map_each<T: Transform + ?Sized>(
    transform: &T,
    kind: &str,
    inputs: &[Document],
    context: &Context,
) -> RoleResult<Vec<Result<Mapped, Vec<Issue>>>> {
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        out.push(transform.map_document(kind, input, context).await?);
    }
    Ok(out)
}

/// One tenant's roles, as a flow gets them.
#[derive(Clone)]
pub struct Roles {
    pub erp: Arc<dyn Erp>,
    pub quoting: Arc<dyn Quoting>,
    pub transform: Arc<dyn Transform>,
    pub erp_catalog: Arc<dyn crate::catalog::ErpCatalog>,
    pub quoting_catalog: Arc<dyn crate::catalog::QuotingCatalog>,
}
