//! The ERP role over a `ferry:erp` plugin. A 1.3 plugin is called through the newest
//! bindings, a 1.2 one through 1.2's; a plugin built against 1.0 or 1.1 through the 1.1
//! bindings (1.0's interface is 1.1's), and the function it lacks (`list-order-invoices`) is
//! answered `unsupported` without instantiating it. 1.3's batched catalog calls are served
//! per item for older plugins, 1.4's stock delta is `unsupported` for them (`erp_catalog.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{
    Change, Document, Erp, FieldError, Invoice, Line, MatchCriteria, OrderReceipt, RoleResult,
};

use super::convert::check_changes;
use super::versions::{ErpBindings, answer_with, erp_bindings, older, unsupported};
use super::{PluginSource, guest_call};
use crate::Role;
use crate::bindings::types as wit;

pub(super) struct ErpAdapter {
    source: Arc<dyn PluginSource>,
}

impl ErpAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

/// Calls one `ferry:erp` export through the bindings that serve the plugin; `=> conv` converts
/// the plugin's own answer (its record types differ per bindings). Without a list, every 1.x
/// has the export; with `[Version => call, ...]` only those bindings do, and `else` answers
/// for a plugin built against an older contract without instantiating it.
macro_rules! erp_call {
    ($source:expr, $method:ident($($arg:expr),*)) => {
        erp_call!($source, $method($($arg),*) => |answer| answer)
    };
    ($source:expr, $method:ident($($arg:expr),*) => $conv:expr) => {
        erp_call!(
            $source,
            [V1_1 => erp_v1_1, V1_2 => erp_v1_2, V1_3 => erp_v1_3, Current => erp],
            $method($($arg),*) => $conv,
            else unreachable!("every erp binding is listed")
        )
    };
    ($source:expr, [$($version:ident => $call:ident),+], $method:ident $args:tt => $conv:expr, else $older:expr) => {{
        let source: &Arc<dyn PluginSource> = $source;
        #[allow(unreachable_patterns)]
        match erp_bindings(source) {
            $(ErpBindings::$version => answer_with(
                guest_call!(source, Erp, $call, |b, s| erp_call!(@invoke b, s, $method $args)),
                $conv,
            ),)+
            _ => $older,
        }
    }};
    (@invoke $bindings:ident, $store:ident, $method:ident($($arg:expr),*)) => {
        $bindings.ferry_erp_erp().$method($store, $($arg),*)
    };
}

pub(super) use erp_call;

#[async_trait]
impl Erp for ErpAdapter {
    async fn find_customers(&self, criteria: &MatchCriteria) -> RoleResult<Vec<Document>> {
        let criteria = wit::MatchCriteria::from(criteria.clone());
        erp_call!(&self.source, call_find_customers(&criteria)
            => |found: Vec<wit::Document>| found.into_iter().map(Document::from).collect())
    }

    async fn create_customer(&self, customer: &Document) -> RoleResult<String> {
        let customer = wit::Document::from(customer.clone());
        erp_call!(&self.source, call_create_customer(&customer))
    }

    async fn validate_order(&self, order: &Document) -> RoleResult<Vec<FieldError>> {
        let order = wit::Document::from(order.clone());
        erp_call!(&self.source, call_validate_order(&order)
            => |found: Vec<wit::FieldError>| found.into_iter().map(FieldError::from).collect())
    }

    async fn find_order(
        &self,
        reference: &str,
        customer: Option<&str>,
    ) -> RoleResult<Option<OrderReceipt>> {
        let (reference, customer) = (reference.to_string(), customer.map(str::to_string));
        erp_call!(&self.source, call_find_order(&reference, customer.as_deref())
            => |found| found.map(OrderReceipt::from))
    }

    async fn begin_order(&self, header: &Document, reference: &str) -> RoleResult<String> {
        let (header, reference) = (wit::Document::from(header.clone()), reference.to_string());
        erp_call!(&self.source, call_begin_order(&header, &reference))
    }

    async fn add_order_lines(&self, draft: &str, lines: &[Line]) -> RoleResult<()> {
        let draft = draft.to_string();
        let lines: Vec<wit::Line> = lines.iter().cloned().map(wit::Line::from).collect();
        erp_call!(&self.source, call_add_order_lines(&draft, &lines))
    }

    async fn confirm_order(&self, draft: &str) -> RoleResult<OrderReceipt> {
        let draft = draft.to_string();
        erp_call!(&self.source, call_confirm_order(&draft) => OrderReceipt::from)
    }

    async fn get_order_status(&self, order_number: &str) -> RoleResult<OrderReceipt> {
        let number = order_number.to_string();
        erp_call!(&self.source, call_get_order_status(&number) => OrderReceipt::from)
    }

    async fn parse_event(&self, content_type: &str, payload: &[u8]) -> RoleResult<Vec<Change>> {
        let (content_type, payload) = (content_type.to_string(), payload.to_vec());
        let changes: Vec<Change> = erp_call!(&self.source, call_parse_event(&content_type, &payload) => |changes: Vec<wit::Change>| changes.into_iter().map(Change::from).collect())?;
        check_changes(&changes)?;
        Ok(changes)
    }

    /// Since `ferry:erp` 1.2: an older plugin is not instantiated, the answer is `unsupported`.
    async fn list_order_invoices(&self, order_number: &str) -> RoleResult<Vec<Invoice>> {
        let number = order_number.to_string();
        erp_call!(
            &self.source,
            [V1_2 => erp_v1_2, V1_3 => erp_v1_3, Current => erp],
            call_list_order_invoices(&number)
                => |found: Vec<_>| found.into_iter().map(Invoice::from).collect(),
            else match older(&self.source, Role::Erp) {
                Some(old) => Err(unsupported(&old, "list-order-invoices", "1.2.0")),
                None => Err(no_plugin_now()),
            }
        )
    }
}

/// The plugin was swapped between two looks at it: the call is tried again.
fn no_plugin_now() -> ferry_domain::RoleFailure {
    ferry_domain::RoleError::new(
        ferry_domain::ErrorClass::Transient,
        "the erp plugin changed during the call",
    )
    .into()
}
