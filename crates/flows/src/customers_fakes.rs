//! In-memory fakes of both sides' customer calls: an M3 customer master (numbers from 10001,
//! CRS610MI field names, a change date per customer) and QuoteWerks customers (Sold-to
//! field names), each stamped when changed and counting the writes it was asked for.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use ferry_domain::names::company_key;
use ferry_domain::{
    Document, DocumentPage, ErrorClass, Field, MatchCriteria, PageRequest, RoleError, RoleResult,
    Value,
};

use super::{ErpCustomers, QuotingCustomers};

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn text(doc: &Document, name: &str) -> String {
    doc.get(name)
        .and_then(Value::as_text)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A customer document from (field, value) pairs.
pub fn customer(id: Option<&str>, fields: &[(&str, &str)]) -> Document {
    Document {
        kind: "customer".into(),
        id: id.map(str::to_string),
        fields: fields
            .iter()
            .map(|(k, v)| Field::new(*k, Value::Text((*v).to_string())))
            .collect(),
        lines: Vec::new(),
    }
}

/// Sets `changes`' fields on `doc` (replacing those it has).
fn apply(doc: &mut Document, changes: &Document) {
    for f in &changes.fields {
        doc.fields.retain(|g| g.name != f.name);
        doc.fields.push(f.clone());
    }
}

fn instant(s: &str) -> RoleResult<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|_| RoleError::new(ErrorClass::Invalid, format!("not RFC 3339: {s}")).into())
}

/// Customers by id, each with when it last changed.
#[derive(Default)]
struct Table {
    rows: Mutex<BTreeMap<String, (Document, String)>>,
}

impl Table {
    fn rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Document, String)>> {
        self.rows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn changed(&self, since: &str, page: &PageRequest) -> RoleResult<DocumentPage> {
        let skip: usize = match page.cursor.as_deref() {
            Some(c) => c
                .parse()
                .map_err(|_| RoleError::new(ErrorClass::Invalid, "not a cursor"))?,
            None => 0,
        };
        let since = instant(since)?;
        let rows = self.rows();
        let all: Vec<Document> = rows
            .values()
            .filter(|(_, at)| instant(at).is_ok_and(|at| at >= since))
            .map(|(d, _)| d.clone())
            .collect();
        let limit = page.limit.max(1) as usize;
        let documents: Vec<Document> = all.iter().skip(skip).take(limit).cloned().collect();
        let next = (skip + limit < all.len()).then(|| (skip + limit).to_string());
        Ok(DocumentPage { documents, next })
    }

    fn get(&self, id: &str) -> RoleResult<Document> {
        self.rows()
            .get(id)
            .map(|(d, _)| d.clone())
            .ok_or_else(|| RoleError::new(ErrorClass::NotFound, format!("customer {id}")).into())
    }
}

/// The fake M3: CRS610MI's names (CUNO, CUNM, MAIL, ...); LMDT is the change date.
#[derive(Default)]
pub struct FakeM3 {
    table: Table,
    pub creates: AtomicU32,
    pub updates: AtomicU32,
    /// The next this-many calls fail as transient (an M3 answering 503).
    pub fail_next: AtomicU32,
}

impl FakeM3 {
    /// Adds or replaces a customer as someone in M3 would (changed now).
    pub fn put(&self, cuno: &str, fields: &[(&str, &str)]) {
        let mut doc = customer(Some(cuno), fields);
        doc.fields
            .push(Field::new("CUNO", Value::Text(cuno.into())));
        self.table.rows().insert(cuno.into(), (doc, now()));
    }

    /// Changes one field as someone in M3 would, with the change date `lmdt`.
    pub fn edit(&self, cuno: &str, field: &str, value: &str, lmdt: &str) {
        let mut rows = self.table.rows();
        if let Some((doc, at)) = rows.get_mut(cuno) {
            apply(doc, &customer(None, &[(field, value), ("LMDT", lmdt)]));
            *at = now();
        }
    }

    pub fn field(&self, cuno: &str, field: &str) -> String {
        self.table
            .get(cuno)
            .map(|d| text(&d, field))
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.table.rows().len()
    }

    fn fault(&self) -> RoleResult<()> {
        let left = self.fail_next.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_next.store(left - 1, Ordering::SeqCst);
            return Err(RoleError::new(ErrorClass::Transient, "503 Service Unavailable").into());
        }
        Ok(())
    }
}

#[async_trait]
impl ErpCustomers for FakeM3 {
    async fn get_customer(&self, id: &str) -> RoleResult<Document> {
        self.fault()?;
        self.table.get(id)
    }

    async fn find_customers(&self, c: &MatchCriteria) -> RoleResult<Vec<Document>> {
        self.fault()?;
        let rows = self.table.rows();
        Ok(rows
            .values()
            .map(|(d, _)| d)
            .filter(|d| {
                c.email
                    .as_deref()
                    .is_none_or(|e| text(d, "MAIL").eq_ignore_ascii_case(e.trim()))
                    && c.name
                        .as_deref()
                        .is_none_or(|n| company_key(&text(d, "CUNM")) == company_key(n))
                    && c.external_ref
                        .as_deref()
                        .is_none_or(|r| d.id.as_deref() == Some(r))
            })
            .cloned()
            .collect())
    }

    async fn create_customer(&self, customer: &Document) -> RoleResult<String> {
        self.fault()?;
        if text(customer, "CUNM").is_empty() {
            return Err(RoleError::new(ErrorClass::Invalid, "CUNM is required").into());
        }
        let cuno = format!("{}", 10001 + self.count());
        let mut doc = customer.clone();
        doc.id = Some(cuno.clone());
        doc.fields
            .push(Field::new("CUNO", Value::Text(cuno.clone())));
        self.table.rows().insert(cuno.clone(), (doc, now()));
        self.creates.fetch_add(1, Ordering::SeqCst);
        Ok(cuno)
    }

    async fn update_customer(&self, id: &str, changes: &Document) -> RoleResult<()> {
        self.fault()?;
        let mut rows = self.table.rows();
        let (doc, at) = rows
            .get_mut(id)
            .ok_or_else(|| RoleError::new(ErrorClass::NotFound, format!("customer {id}")))?;
        apply(doc, changes);
        *at = now();
        self.updates.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn list_customers_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        self.fault()?;
        self.table.changed(since, page)
    }
}

/// The fake QuoteWerks: customers by id with Sold-to names; LastModified is its change time.
#[derive(Default)]
pub struct FakeQuoteWerks {
    table: Table,
    pub upserts: AtomicU32,
}

impl FakeQuoteWerks {
    /// Adds or replaces a customer as a rep would (changed now).
    pub fn put(&self, id: &str, fields: &[(&str, &str)]) {
        self.table
            .rows()
            .insert(id.into(), (customer(Some(id), fields), now()));
    }

    /// Changes one field as a rep would, at `modified`.
    pub fn edit(&self, id: &str, field: &str, value: &str, modified: &str) {
        let mut rows = self.table.rows();
        if let Some((doc, at)) = rows.get_mut(id) {
            apply(
                doc,
                &customer(None, &[(field, value), ("LastModified", modified)]),
            );
            *at = now();
        }
    }

    pub fn field(&self, id: &str, field: &str) -> String {
        self.table
            .get(id)
            .map(|d| text(&d, field))
            .unwrap_or_default()
    }
}

#[async_trait]
impl QuotingCustomers for FakeQuoteWerks {
    async fn get_customer(&self, id: &str) -> RoleResult<Document> {
        self.table.get(id)
    }

    async fn upsert_customer(&self, changes: &Document) -> RoleResult<String> {
        let id = changes
            .id
            .clone()
            .ok_or_else(|| RoleError::new(ErrorClass::Invalid, "id required"))?;
        let mut rows = self.table.rows();
        let entry = rows
            .entry(id.clone())
            .or_insert_with(|| (customer(Some(&id), &[]), now()));
        apply(&mut entry.0, changes);
        entry.1 = now();
        self.upserts.fetch_add(1, Ordering::SeqCst);
        Ok(id)
    }

    async fn list_customers_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        self.table.changed(since, page)
    }
}
