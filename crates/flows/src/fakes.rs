//! In-memory fakes of the roles for flow tests: an ERP that keeps customers, drafts and orders
//! the way M3 does (a draft per reference, lines added up to what the call names, orders
//! found by reference once confirmed), a quoting system with quotes and write-backs, and a
//! transform with fixed quote -> customer / quote -> order rules. Any call can be scripted to
//! fail, before its effect or after it (the answer lost: the effect happened).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use ferry_domain::{
    CallFailure, CallFailureKind, Change, Context, Document, Erp, ErrorClass, Field, FieldError,
    InboundWebhook, Issue, Line, Mapped, MatchCriteria, OrderReceipt, PageRequest, QuoteEvent,
    QuotePage, QuoteSummary, Quoting, RoleError, RoleFailure, RoleResult, Roles, Severity,
    Transform, Value,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

pub fn role_error(class: ErrorClass, message: &str) -> RoleFailure {
    RoleFailure::Error(RoleError::new(class, message))
}

pub fn no_plugin() -> RoleFailure {
    RoleFailure::Call(CallFailure {
        kind: CallFailureKind::NoPlugin,
        message: "tenant 'acme' has no active erp plugin".into(),
    })
}

/// When a scripted failure strikes.
pub enum Fail {
    /// The call fails and changes nothing.
    Before(RoleFailure),
    /// The call takes effect, then its answer is lost with this error (an in-doubt write).
    After(RoleFailure),
    /// This call goes through (to script a failure for a later one).
    Pass,
}

/// Scripted failures per call name, and the log of calls made (`"confirm_order D1"`).
#[derive(Default)]
pub struct Script {
    failures: Mutex<HashMap<&'static str, VecDeque<Fail>>>,
    calls: Mutex<Vec<String>>,
}

impl Script {
    /// The next call to `call` fails as `fail`.
    pub fn fail(&self, call: &'static str, fail: Fail) {
        lock(&self.failures)
            .entry(call)
            .or_default()
            .push_back(fail);
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// How many calls named `call` were made.
    pub fn count(&self, call: &str) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|c| c.split(' ').next() == Some(call))
            .count()
    }

    /// Logs the call and runs `effect` unless a failure is scripted before it.
    pub fn run<T>(
        &self,
        call: &'static str,
        arg: &str,
        effect: impl FnOnce() -> RoleResult<T>,
    ) -> RoleResult<T> {
        lock(&self.calls).push(format!("{call} {arg}").trim().to_string());
        let scripted = lock(&self.failures)
            .get_mut(call)
            .and_then(VecDeque::pop_front);
        match scripted {
            None | Some(Fail::Pass) => effect(),
            Some(Fail::Before(e)) => Err(e),
            Some(Fail::After(e)) => {
                // The effect's own answer is what gets lost.
                let _ = effect();
                Err(e)
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FakeOrder {
    pub draft: String,
    pub header: Document,
    pub lines: Vec<Line>,
    pub confirmed: Option<OrderReceipt>,
}

/// An ERP in memory.
#[derive(Default)]
pub struct FakeErp {
    pub script: Script,
    /// Customers, each with `email` and `name` fields.
    pub customers: Mutex<Vec<Document>>,
    /// Problems `validate_order` answers with.
    pub problems: Mutex<Vec<FieldError>>,
    /// Line values the ERP does not know, as (field, value): `validate_order` refuses each line
    /// carrying one (an unknown part number), as M3's item check does.
    pub unknown: Mutex<Vec<(String, String)>>,
    /// Orders by reference.
    pub orders: Mutex<HashMap<String, FakeOrder>>,
}

impl FakeErp {
    pub fn add_customer(&self, id: &str, email: &str, name: &str) {
        lock(&self.customers).push(Document {
            kind: "customer".into(),
            id: Some(id.into()),
            fields: vec![
                Field::new("email", text(email)),
                Field::new("name", text(name)),
            ],
            lines: vec![],
        });
    }

    pub fn order(&self, reference: &str) -> Option<FakeOrder> {
        lock(&self.orders).get(reference).cloned()
    }

    fn reference_of(&self, draft: &str) -> RoleResult<String> {
        lock(&self.orders)
            .iter()
            .find(|(_, o)| o.draft == draft)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| role_error(ErrorClass::NotFound, "no such draft"))
    }
}

fn field_matches(doc: &Document, name: &str, want: Option<&String>) -> bool {
    match want {
        None => true,
        Some(want) => doc
            .get(name)
            .and_then(Value::as_text)
            .is_some_and(|v| v.eq_ignore_ascii_case(want)),
    }
}

#[async_trait]
impl Erp for FakeErp {
    async fn find_customers(&self, criteria: &MatchCriteria) -> RoleResult<Vec<Document>> {
        let arg = criteria
            .email
            .clone()
            .or(criteria.name.clone())
            .unwrap_or_default();
        self.script.run("find_customers", &arg, || {
            Ok(lock(&self.customers)
                .iter()
                .filter(|c| field_matches(c, "email", criteria.email.as_ref()))
                .filter(|c| field_matches(c, "name", criteria.name.as_ref()))
                .cloned()
                .collect())
        })
    }

    async fn create_customer(&self, customer: &Document) -> RoleResult<String> {
        self.script.run("create_customer", "", || {
            let mut customers = lock(&self.customers);
            let id = format!("C{}", customers.len() + 1);
            let mut created = customer.clone();
            created.id = Some(id.clone());
            customers.push(created);
            Ok(id)
        })
    }

    async fn validate_order(&self, order: &Document) -> RoleResult<Vec<FieldError>> {
        self.script.run("validate_order", "", || {
            let mut found = lock(&self.problems).clone();
            for (i, line) in order.lines.iter().enumerate() {
                for (field, value) in lock(&self.unknown).iter() {
                    if line.get(field).and_then(Value::as_text) == Some(value.as_str()) {
                        found.push(FieldError {
                            field: field.clone(),
                            line: u32::try_from(i).ok(),
                            message: format!("{value} does not exist"),
                        });
                    }
                }
            }
            Ok(found)
        })
    }

    async fn find_order(
        &self,
        reference: &str,
        _: Option<&str>,
    ) -> RoleResult<Option<OrderReceipt>> {
        self.script.run("find_order", reference, || {
            Ok(lock(&self.orders)
                .get(reference)
                .and_then(|o| o.confirmed.clone()))
        })
    }

    async fn begin_order(&self, header: &Document, reference: &str) -> RoleResult<String> {
        self.script.run("begin_order", reference, || {
            let mut orders = lock(&self.orders);
            let n = orders.len() + 1;
            // Like M3's batch head: one open draft per reference, reused.
            let order = orders
                .entry(reference.to_string())
                .or_insert_with(|| FakeOrder {
                    draft: format!("D{n}"),
                    header: header.clone(),
                    ..FakeOrder::default()
                });
            Ok(order.draft.clone())
        })
    }

    async fn add_order_lines(&self, draft: &str, lines: &[Line]) -> RoleResult<()> {
        let reference = self.reference_of(draft)?;
        self.script.run(
            "add_order_lines",
            &format!("{draft} {}", lines.len()),
            || {
                let mut orders = lock(&self.orders);
                let order = orders
                    .get_mut(&reference)
                    .ok_or_else(|| role_error(ErrorClass::NotFound, "no such draft"))?;
                // Idempotent: keep what the draft holds, add the lines it lacks.
                let held = order.lines.len();
                order.lines.extend(lines.iter().skip(held).cloned());
                Ok(())
            },
        )
    }

    async fn confirm_order(&self, draft: &str) -> RoleResult<OrderReceipt> {
        let reference = self.reference_of(draft)?;
        self.script.run("confirm_order", draft, || {
            let mut orders = lock(&self.orders);
            let confirmed = orders.values().filter(|o| o.confirmed.is_some()).count();
            let order = orders
                .get_mut(&reference)
                .ok_or_else(|| role_error(ErrorClass::NotFound, "no such draft"))?;
            let receipt = OrderReceipt {
                order_number: format!("ORD{}", confirmed + 1),
                reference: reference.clone(),
                status: "22".into(),
                line_numbers: (1..=order.lines.len()).map(|n| n.to_string()).collect(),
            };
            order.confirmed = Some(receipt.clone());
            Ok(receipt)
        })
    }

    async fn get_order_status(&self, order_number: &str) -> RoleResult<OrderReceipt> {
        self.script.run("get_order_status", order_number, || {
            lock(&self.orders)
                .values()
                .filter_map(|o| o.confirmed.clone())
                .find(|r| r.order_number == order_number)
                .ok_or_else(|| role_error(ErrorClass::NotFound, "no such order"))
        })
    }

    async fn parse_event(&self, _: &str, _: &[u8]) -> RoleResult<Vec<Change>> {
        self.script.run("parse_event", "", || {
            Err(role_error(ErrorClass::Unsupported, "not in this fake"))
        })
    }
}

/// A quoting system in memory.
#[derive(Default)]
pub struct FakeQuoting {
    pub script: Script,
    pub quotes: Mutex<HashMap<String, Document>>,
    /// Ready quotes, served `limit` at a time.
    pub ready: Mutex<Vec<QuoteSummary>>,
    /// `(quote, order number, status)` per `mark_transferred`.
    pub transferred: Mutex<Vec<(String, String, Option<String>)>>,
    /// `(quote, status)` per `set_status`.
    pub statuses: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl Quoting for FakeQuoting {
    async fn parse_webhook(&self, _: &InboundWebhook) -> RoleResult<QuoteEvent> {
        self.script.run("parse_webhook", "", || {
            Err(role_error(ErrorClass::Unsupported, "not in this fake"))
        })
    }

    async fn list_ready_quotes(&self, page: &PageRequest) -> RoleResult<QuotePage> {
        let from: usize = page.cursor.as_deref().unwrap_or("0").parse().unwrap_or(0);
        self.script.run("list_ready_quotes", &from.to_string(), || {
            let ready = lock(&self.ready);
            let limit = usize::try_from(page.limit).unwrap_or(usize::MAX).max(1);
            let quotes: Vec<QuoteSummary> = ready.iter().skip(from).take(limit).cloned().collect();
            let next =
                (from + quotes.len() < ready.len()).then(|| (from + quotes.len()).to_string());
            Ok(QuotePage { quotes, next })
        })
    }

    async fn get_quote(&self, id: &str) -> RoleResult<Document> {
        self.script.run("get_quote", id, || {
            lock(&self.quotes)
                .get(id)
                .cloned()
                .ok_or_else(|| role_error(ErrorClass::NotFound, "no such quote"))
        })
    }

    async fn mark_transferred(
        &self,
        id: &str,
        order_number: &str,
        status: Option<&str>,
    ) -> RoleResult<()> {
        self.script.run("mark_transferred", id, || {
            lock(&self.transferred).push((
                id.into(),
                order_number.into(),
                status.map(str::to_string),
            ));
            Ok(())
        })
    }

    async fn set_status(&self, id: &str, status: &str) -> RoleResult<()> {
        self.script.run("set_status", id, || {
            lock(&self.statuses).push((id.into(), status.into()));
            Ok(())
        })
    }
}

/// A transform with two fixed rules:
/// - `quote-to-customer`: id from `CustomerKey`; `email` and `match:email` from `Email`,
///   `name` and `match:name` from `Company`;
/// - `quote-to-order`: id (the reference) from `DocNo`, `CUNO` from the context's customer,
///   `WHLO` from the `warehouse` setting; each line's `PartNo` → `ITNO` and `Qty` → `ORQT`,
///   which must be a number (else an error issue naming the source line).
#[derive(Default)]
pub struct FakeTransform {
    pub script: Script,
    /// Warnings every mapping answers with.
    pub warnings: Mutex<Vec<Issue>>,
}

fn copy(from: &Document, name: &str, to: &str) -> Option<Field> {
    from.get(name).map(|v| Field::new(to, v.clone()))
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn quote_to_order(input: &Document, context: &Context) -> Result<Document, Vec<Issue>> {
    let mut issues = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in input.lines.iter().enumerate() {
        let qty = match line.get("Qty") {
            Some(Value::Text(q) | Value::Decimal(q)) => q.clone(),
            _ => String::new(),
        };
        if qty.parse::<f64>().is_err() {
            issues.push(Issue {
                severity: Severity::Error,
                rule: Some("lines.ORQT".into()),
                field: "ORQT".into(),
                line: u32::try_from(i).ok(),
                message: format!("'{qty}' is not a decimal"),
            });
            continue;
        }
        let mut fields = Vec::new();
        fields.extend(line.get("PartNo").map(|v| Field::new("ITNO", v.clone())));
        fields.push(Field::new("ORQT", Value::Decimal(qty)));
        lines.push(Line { fields });
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let mut fields = Vec::new();
    if let Some(c) = lookup(&context.ids, "customer") {
        fields.push(Field::new("CUNO", text(c)));
    }
    if let Some(w) = lookup(&context.settings, "warehouse") {
        fields.push(Field::new("WHLO", text(w)));
    }
    Ok(Document {
        kind: "order".into(),
        id: input
            .get("DocNo")
            .and_then(Value::as_text)
            .map(str::to_string),
        fields,
        lines,
    })
}

fn quote_to_customer(input: &Document) -> Document {
    Document {
        kind: "customer".into(),
        id: input
            .get("CustomerKey")
            .and_then(Value::as_text)
            .map(str::to_string),
        fields: [
            copy(input, "Email", "email"),
            copy(input, "Company", "name"),
            copy(input, "Email", "match:email"),
            copy(input, "Company", "match:name"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        lines: vec![],
    }
}

#[async_trait]
impl Transform for FakeTransform {
    async fn map_document(
        &self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> RoleResult<Result<Mapped, Vec<Issue>>> {
        self.script.run("map_document", kind, || {
            let document = match kind {
                "quote-to-customer" => Ok(quote_to_customer(input)),
                "quote-to-order" => quote_to_order(input, context),
                "item-to-product" => Ok(crate::catalog_fakes::item_to_product(input)),
                other => Err(vec![Issue {
                    severity: Severity::Error,
                    rule: None,
                    field: "kind".into(),
                    line: None,
                    message: format!("no mapping for '{other}'"),
                }]),
            };
            Ok(document.map(|document| Mapped {
                document,
                warnings: lock(&self.warnings).clone(),
            }))
        })
    }
}

/// One tenant's fake roles, kept for inspection after they are handed to a flow.
#[derive(Default, Clone)]
pub struct Fakes {
    pub erp: Arc<FakeErp>,
    pub quoting: Arc<FakeQuoting>,
    pub transform: Arc<FakeTransform>,
    pub items: Arc<crate::catalog_fakes::FakeItems>,
    pub products: Arc<crate::catalog_fakes::FakeProducts>,
}

impl Fakes {
    pub fn roles(&self) -> Roles {
        Roles {
            erp: self.erp.clone(),
            quoting: self.quoting.clone(),
            transform: self.transform.clone(),
            erp_catalog: self.items.clone(),
            quoting_catalog: self.products.clone(),
        }
    }

    /// A quote with `lines` lines (part `P{n}`, quantity n), its customer `K1`
    /// (`k1@example.com`, "Kay Corp").
    pub fn add_quote(&self, id: &str, doc_no: &str, lines: usize) {
        let quote = Document {
            kind: "quote".into(),
            id: Some(id.into()),
            fields: vec![
                Field::new("DocNo", text(doc_no)),
                Field::new("CustomerKey", text("K1")),
                Field::new("Email", text("k1@example.com")),
                Field::new("Company", text("Kay Corp")),
            ],
            lines: (1..=lines)
                .map(|n| Line {
                    fields: vec![
                        Field::new("PartNo", text(&format!("P{n}"))),
                        Field::new("Qty", Value::Decimal(n.to_string())),
                    ],
                })
                .collect(),
        };
        lock(&self.quoting.quotes).insert(id.into(), quote);
    }

    /// Sets one field of line `index` of quote `id`.
    pub fn set_line_field(&self, id: &str, index: usize, name: &str, value: Value) {
        if let Some(line) = lock(&self.quoting.quotes)
            .get_mut(id)
            .and_then(|q| q.lines.get_mut(index))
        {
            line.fields.retain(|f| f.name != name);
            line.fields.push(Field::new(name, value));
        }
    }
}
