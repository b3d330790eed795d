//! The one place the contract's generated types (`ferry:types`, `ferry:erp`, `ferry:quoting`, `ferry:transform` 1.0) and Ferry's domain types
//! meet. Adapters, the native mapping path and test-only paths all convert here; nothing else
//! in the host translates between the two.

use ferry_domain as domain;

use crate::CallError;
use crate::bindings::transform as mapping;
use crate::bindings::types as wit;
use crate::bindings::{erp, erp_1_1, erp_1_2, erp_1_3, quoting, quoting_1_1};

// ---- documents ----

impl From<wit::Value> for domain::Value {
    fn from(v: wit::Value) -> Self {
        match v {
            wit::Value::Text(s) => domain::Value::Text(s),
            wit::Value::Decimal(s) => domain::Value::Decimal(s),
            wit::Value::Integer(i) => domain::Value::Integer(i),
            wit::Value::Boolean(b) => domain::Value::Boolean(b),
            wit::Value::Date(s) => domain::Value::Date(s),
            wit::Value::Null => domain::Value::Null,
        }
    }
}

impl From<domain::Value> for wit::Value {
    fn from(v: domain::Value) -> Self {
        match v {
            domain::Value::Text(s) => wit::Value::Text(s),
            domain::Value::Decimal(s) => wit::Value::Decimal(s),
            domain::Value::Integer(i) => wit::Value::Integer(i),
            domain::Value::Boolean(b) => wit::Value::Boolean(b),
            domain::Value::Date(s) => wit::Value::Date(s),
            domain::Value::Null => wit::Value::Null,
        }
    }
}

impl From<wit::Field> for domain::Field {
    fn from(f: wit::Field) -> Self {
        domain::Field::new(f.name, f.value.into())
    }
}

impl From<domain::Field> for wit::Field {
    fn from(f: domain::Field) -> Self {
        wit::Field {
            name: f.name,
            value: f.value.into(),
        }
    }
}

fn vec_into<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

impl From<wit::Line> for domain::Line {
    fn from(l: wit::Line) -> Self {
        domain::Line {
            fields: vec_into(l.fields),
        }
    }
}

impl From<domain::Line> for wit::Line {
    fn from(l: domain::Line) -> Self {
        wit::Line {
            fields: vec_into(l.fields),
        }
    }
}

impl From<wit::Document> for domain::Document {
    fn from(d: wit::Document) -> Self {
        domain::Document {
            kind: d.kind,
            id: d.id,
            fields: vec_into(d.fields),
            lines: vec_into(d.lines),
        }
    }
}

impl From<domain::Document> for wit::Document {
    fn from(d: domain::Document) -> Self {
        wit::Document {
            kind: d.kind,
            id: d.id,
            fields: vec_into(d.fields),
            lines: vec_into(d.lines),
        }
    }
}

// ---- errors ----

impl From<wit::FieldError> for domain::FieldError {
    fn from(e: wit::FieldError) -> Self {
        domain::FieldError {
            field: e.field,
            line: e.line,
            message: e.message,
        }
    }
}

impl From<wit::Error> for domain::RoleError {
    fn from(e: wit::Error) -> Self {
        use domain::ErrorClass as C;
        match e {
            wit::Error::NotFound(m) => domain::RoleError::new(C::NotFound, m),
            wit::Error::Invalid(fields) => domain::RoleError::invalid(vec_into(fields)),
            wit::Error::Conflict(m) => domain::RoleError::new(C::Conflict, m),
            wit::Error::RateLimited(r) => {
                domain::RoleError::rate_limited(r.message, r.retry_after_ms)
            }
            wit::Error::Transient(m) => domain::RoleError::new(C::Transient, m),
            wit::Error::Unauthorized(m) => domain::RoleError::new(C::Unauthorized, m),
            wit::Error::Fatal(m) => domain::RoleError::new(C::Fatal, m),
            wit::Error::Unsupported(m) => domain::RoleError::new(C::Unsupported, m),
        }
    }
}

impl From<CallError> for domain::CallFailure {
    fn from(e: CallError) -> Self {
        use domain::CallFailureKind as K;
        let kind = match &e {
            CallError::Deadline { .. } => K::Deadline,
            CallError::Busy { .. } => K::Busy,
            CallError::MemoryLimit { .. }
            | CallError::Trap { .. }
            | CallError::Instantiate { .. }
            | CallError::WrongRole { .. } => K::Trap,
        };
        domain::CallFailure {
            kind,
            message: e.to_string(),
        }
    }
}

// ---- erp ----

impl From<domain::MatchCriteria> for wit::MatchCriteria {
    fn from(c: domain::MatchCriteria) -> Self {
        wit::MatchCriteria {
            email: c.email,
            name: c.name,
            phone: c.phone,
            external_ref: c.external_ref,
        }
    }
}

/// The ERP role's own records, one copy for each bindings module (1.2, and 1.1 for older
/// plugins): the records are distinct Rust types per module.
macro_rules! erp_records {
    ($erp:ident) => {
        impl From<$erp::OrderReceipt> for domain::OrderReceipt {
            fn from(r: $erp::OrderReceipt) -> Self {
                domain::OrderReceipt {
                    order_number: r.order_number,
                    reference: r.reference,
                    status: r.status,
                    line_numbers: r.line_numbers,
                }
            }
        }

        impl From<$erp::Price> for domain::Price {
            fn from(p: $erp::Price) -> Self {
                domain::Price {
                    item: p.item,
                    amount: p.amount,
                    currency: p.currency,
                    unit: p.unit,
                    min_quantity: p.min_quantity,
                }
            }
        }

        impl From<$erp::StockBalance> for domain::StockBalance {
            fn from(b: $erp::StockBalance) -> Self {
                domain::StockBalance {
                    warehouse: b.warehouse,
                    on_hand: b.on_hand,
                    allocatable: b.allocatable,
                    allocated: b.allocated,
                }
            }
        }
    };
}
erp_records!(erp);
erp_records!(erp_1_1);
erp_records!(erp_1_2);
erp_records!(erp_1_3);

/// 1.3's batched records, in every bindings module that has them.
macro_rules! erp_batched {
    ($erp:ident) => {
        impl From<$erp::ItemPrices> for domain::catalog::ItemPrices {
            fn from(p: $erp::ItemPrices) -> Self {
                domain::catalog::ItemPrices {
                    item: p.item,
                    list: p.list_price.map(domain::Price::from),
                    customer: p.customer_price.map(domain::Price::from),
                }
            }
        }

        impl From<$erp::ItemStock> for domain::catalog::ItemStock {
            fn from(s: $erp::ItemStock) -> Self {
                domain::catalog::ItemStock {
                    item: s.item,
                    balances: s
                        .balances
                        .into_iter()
                        .map(domain::StockBalance::from)
                        .collect(),
                }
            }
        }
    };
}
erp_batched!(erp);
erp_batched!(erp_1_3);

macro_rules! erp_invoice {
    ($erp:ident) => {
        impl From<$erp::Invoice> for domain::Invoice {
            fn from(i: $erp::Invoice) -> Self {
                domain::Invoice {
                    number: i.number,
                    date: i.date,
                    amount: i.amount,
                    currency: i.currency,
                }
            }
        }
    };
}
erp_invoice!(erp);
erp_invoice!(erp_1_2);
erp_invoice!(erp_1_3);

/// The contract's entity vocabulary (known names plus `other`) as the domain's open string.
fn entity_name(e: wit::Entity) -> String {
    match e {
        wit::Entity::Customer => "customer".into(),
        wit::Entity::Item => "item".into(),
        wit::Entity::Price => "price".into(),
        wit::Entity::Stock => "stock".into(),
        wit::Entity::Order => "order".into(),
        wit::Entity::Quote => "quote".into(),
        wit::Entity::Product => "product".into(),
        wit::Entity::Other(name) => name,
    }
}

fn action_name(a: wit::ChangeAction) -> String {
    match a {
        wit::ChangeAction::Created => "created".into(),
        wit::ChangeAction::Updated => "updated".into(),
        wit::ChangeAction::Deleted => "deleted".into(),
        wit::ChangeAction::StatusChanged => "status-changed".into(),
        wit::ChangeAction::Other(name) => name,
    }
}

impl From<wit::Change> for domain::Change {
    fn from(c: wit::Change) -> Self {
        domain::Change {
            entity: entity_name(c.entity),
            key: c.key,
            action: action_name(c.action),
            changed_at: c.changed_at,
            detail: vec_into(c.detail),
            // Contract 1.0 has no event id on a change.
            event_id: None,
        }
    }
}

/// The contract's timestamps are RFC 3339. A change whose `changed-at` is not is refused (the
/// inbox orders and deduplicates on it); see [`rfc3339_or_none`] for the informational ones.
pub(crate) fn check_changes(changes: &[domain::Change]) -> Result<(), domain::RoleError> {
    for c in changes {
        if let Some(at) = &c.changed_at
            && chrono::DateTime::parse_from_rfc3339(at).is_err()
        {
            return Err(domain::RoleError::new(
                domain::ErrorClass::Fatal,
                format!(
                    "the plugin's change to {} {} has changed-at '{at}', not an RFC 3339 \
                     timestamp",
                    c.entity, c.key
                ),
            ));
        }
    }
    Ok(())
}

/// `occurred-at` and `modified-at` only inform: one that is not RFC 3339 is dropped (and
/// logged) rather than passed on as if it were.
fn rfc3339_or_none(field: &str, at: Option<String>) -> Option<String> {
    let at = at?;
    if chrono::DateTime::parse_from_rfc3339(&at).is_ok() {
        return Some(at);
    }
    tracing::warn!(field, value = %at, "a plugin timestamp is not RFC 3339; dropped");
    None
}

// ---- quoting ----

impl From<domain::PageRequest> for wit::PageRequest {
    fn from(p: domain::PageRequest) -> Self {
        wit::PageRequest {
            cursor: p.cursor,
            limit: p.limit,
        }
    }
}

/// The quoting role's own records, one copy for each bindings module (1.2, and 1.1 for older
/// plugins).
macro_rules! quoting_records {
    ($quoting:ident) => {
        impl From<$quoting::QuoteSummary> for domain::QuoteSummary {
            fn from(q: $quoting::QuoteSummary) -> Self {
                domain::QuoteSummary {
                    id: q.id,
                    number: q.number,
                    revision: q.revision,
                    status: q.status,
                    modified_at: rfc3339_or_none("modified-at", q.modified_at),
                }
            }
        }

        impl From<$quoting::QuotePage> for domain::QuotePage {
            fn from(p: $quoting::QuotePage) -> Self {
                domain::QuotePage {
                    quotes: vec_into(p.quotes),
                    next: p.next,
                }
            }
        }

        impl From<domain::InboundWebhook> for $quoting::InboundWebhook {
            fn from(w: domain::InboundWebhook) -> Self {
                $quoting::InboundWebhook {
                    headers: w.headers,
                    body: w.body,
                }
            }
        }

        impl From<$quoting::QuoteEvent> for domain::QuoteEvent {
            fn from(e: $quoting::QuoteEvent) -> Self {
                domain::QuoteEvent {
                    event_id: e.event_id,
                    quote_id: e.quote_id,
                    event: e.event,
                    status: e.status,
                    occurred_at: rfc3339_or_none("occurred-at", e.occurred_at),
                }
            }
        }

        impl From<$quoting::UpsertReport> for domain::UpsertReport {
            fn from(r: $quoting::UpsertReport) -> Self {
                domain::UpsertReport {
                    inserted: r.inserted,
                    updated: r.updated,
                    unchanged: r.unchanged,
                }
            }
        }

        impl From<domain::Availability> for $quoting::Availability {
            fn from(a: domain::Availability) -> Self {
                $quoting::Availability {
                    product: a.product,
                    quantity: a.quantity,
                    warehouse: a.warehouse,
                }
            }
        }
    };
}
quoting_records!(quoting);
quoting_records!(quoting_1_1);

// ---- transform ----

impl From<domain::Context> for mapping::Context {
    fn from(c: domain::Context) -> Self {
        mapping::Context {
            tenant: c.tenant,
            settings: c.settings,
            ids: c.ids,
        }
    }
}

impl From<mapping::Context> for domain::Context {
    fn from(c: mapping::Context) -> Self {
        domain::Context {
            tenant: c.tenant,
            settings: c.settings,
            ids: c.ids,
        }
    }
}

impl From<mapping::Issue> for domain::Issue {
    fn from(i: mapping::Issue) -> Self {
        domain::Issue {
            severity: match i.severity {
                mapping::Severity::Error => domain::Severity::Error,
                mapping::Severity::Warning => domain::Severity::Warning,
            },
            rule: i.rule,
            field: i.field,
            line: i.line,
            message: i.message,
        }
    }
}

impl From<domain::Issue> for mapping::Issue {
    fn from(i: domain::Issue) -> Self {
        mapping::Issue {
            severity: match i.severity {
                domain::Severity::Error => mapping::Severity::Error,
                domain::Severity::Warning => mapping::Severity::Warning,
            },
            rule: i.rule,
            field: i.field,
            line: i.line,
            message: i.message,
        }
    }
}

impl From<mapping::Mapped> for domain::Mapped {
    fn from(m: mapping::Mapped) -> Self {
        domain::Mapped {
            document: m.document.into(),
            warnings: vec_into(m.warnings),
        }
    }
}

impl From<domain::Mapped> for mapping::Mapped {
    fn from(m: domain::Mapped) -> Self {
        mapping::Mapped {
            document: m.document.into(),
            warnings: vec_into(m.warnings),
        }
    }
}

impl From<mapping::FieldUsage> for domain::FieldUsage {
    fn from(u: mapping::FieldUsage) -> Self {
        domain::FieldUsage {
            kind: u.kind,
            reads: u.reads,
            writes: u.writes,
        }
    }
}

/// A transform's answer in domain terms: the mapped document, or the issues that stopped it.
pub(crate) fn mapping_result(
    r: Result<mapping::Mapped, Vec<mapping::Issue>>,
) -> Result<domain::Mapped, Vec<domain::Issue>> {
    r.map(Into::into).map_err(vec_into)
}

/// A domain mapping result as the contract's (the native mapping path, compared with a
/// component's answer in tests).
#[cfg(feature = "raw-contract")]
pub fn mapping_result_to_wit(
    r: Result<domain::Mapped, Vec<domain::Issue>>,
) -> Result<mapping::Mapped, Vec<mapping::Issue>> {
    r.map(Into::into).map_err(vec_into)
}

// ---- catalog (items, prices, stock, products) ----

impl From<wit::Page> for domain::DocumentPage {
    fn from(p: wit::Page) -> Self {
        domain::DocumentPage {
            documents: vec_into(p.documents),
            next: p.next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_be_rfc_3339() {
        let change = |at: &str| domain::Change {
            entity: "order".into(),
            key: "1000123".into(),
            action: "status-changed".into(),
            changed_at: Some(at.into()),
            detail: Vec::new(),
            event_id: None,
        };
        assert!(check_changes(&[change("2026-05-01T09:59:00Z")]).is_ok());
        assert!(check_changes(&[change("2026-05-01T11:59:00+02:00")]).is_ok());
        let refused = check_changes(&[change("2026-05-01 09:59")]).expect_err("refused");
        assert_eq!(refused.class, domain::ErrorClass::Fatal);
        assert!(refused.message.contains("2026-05-01 09:59"), "{refused:?}");

        let summary = |at: &str| quoting::QuoteSummary {
            id: "17".into(),
            number: "AAAQ1001".into(),
            revision: None,
            status: "Ready".into(),
            modified_at: Some(at.into()),
        };
        let kept = domain::QuoteSummary::from(summary("2026-05-01T09:59:00Z"));
        assert_eq!(kept.modified_at.as_deref(), Some("2026-05-01T09:59:00Z"));
        let dropped = domain::QuoteSummary::from(summary("2026-05-01"));
        assert_eq!(dropped.modified_at, None);
    }

    #[test]
    fn open_vocabularies_pass_unknown_names_through() {
        let change = domain::Change::from(wit::Change {
            entity: wit::Entity::Other("contact".into()),
            key: "C1".into(),
            action: wit::ChangeAction::Other("merged".into()),
            changed_at: None,
            detail: Vec::new(),
        });
        assert_eq!(
            (change.entity.as_str(), change.action.as_str()),
            ("contact", "merged")
        );
        let unsupported = domain::RoleError::from(wit::Error::Unsupported("no prices".into()));
        assert_eq!(unsupported.class, domain::ErrorClass::Unsupported);
    }

    #[test]
    fn documents_survive_the_round_trip_through_the_contract() {
        let doc = domain::Document {
            kind: "order".into(),
            id: Some("Q1".into()),
            fields: vec![
                domain::Field::new("CUNO", domain::Value::Text("C1".into())),
                domain::Field::new("ORDT", domain::Value::Date("2025-03-07".into())),
                domain::Field::new("X", domain::Value::Null),
            ],
            lines: vec![domain::Line {
                fields: vec![
                    domain::Field::new("ORQT", domain::Value::Decimal("4.5".into())),
                    domain::Field::new("N", domain::Value::Integer(-3)),
                    domain::Field::new("B", domain::Value::Boolean(true)),
                ],
            }],
        };
        let wit: wit::Document = doc.clone().into();
        assert_eq!(
            wit.lines[0].fields[0].value,
            wit::Value::Decimal("4.5".into())
        );
        assert_eq!(domain::Document::from(wit), doc);
    }

    #[test]
    fn each_contract_error_keeps_its_class_and_detail() {
        use domain::ErrorClass as C;
        let rate = domain::RoleError::from(wit::Error::RateLimited(wit::RateLimit {
            retry_after_ms: Some(1500),
            message: "slow down".into(),
        }));
        assert_eq!(
            (rate.class, rate.retry_after_ms, rate.to_string()),
            (
                C::RateLimited,
                Some(1500),
                "rate limited: slow down".to_string()
            )
        );
        let invalid = domain::RoleError::from(wit::Error::Invalid(vec![wit::FieldError {
            field: "ORQT".into(),
            line: Some(3),
            message: "'abc' is not a decimal".into(),
        }]));
        assert_eq!(
            invalid.to_string(),
            "invalid: lines[3].ORQT: 'abc' is not a decimal"
        );
        for (e, class) in [
            (wit::Error::NotFound("x".into()), C::NotFound),
            (wit::Error::Conflict("x".into()), C::Conflict),
            (wit::Error::Transient("x".into()), C::Transient),
            (wit::Error::Unauthorized("x".into()), C::Unauthorized),
            (wit::Error::Fatal("x".into()), C::Fatal),
        ] {
            assert_eq!(domain::RoleError::from(e).class, class);
        }
    }

    #[test]
    fn a_stopped_call_says_why_and_a_busy_tenant_is_told_apart() {
        use domain::CallFailureKind as K;
        let deadline = domain::CallFailure::from(CallError::Deadline { deadline_ms: 300 });
        assert_eq!(deadline.kind, K::Deadline);
        assert_eq!(
            deadline.message,
            "stopped: the call ran past its 300 ms deadline"
        );
        let busy = CallError::Busy {
            tenant: "acme".into(),
            queue_ms: 5,
        };
        assert_eq!(domain::CallFailure::from(busy).kind, K::Busy);
        let memory = CallError::MemoryLimit { limit_mib: 1 };
        assert_eq!(domain::CallFailure::from(memory).kind, K::Trap);
    }

    #[test]
    fn changes_name_entity_and_action_in_the_open_vocabulary() {
        let c = domain::Change::from(wit::Change {
            entity: wit::Entity::Order,
            key: "0000456".into(),
            action: wit::ChangeAction::StatusChanged,
            changed_at: None,
            detail: vec![],
        });
        assert_eq!(
            (c.entity.as_str(), c.action.as_str()),
            ("order", "status-changed")
        );
    }
}
