//! In-memory fakes of the catalog roles: an ERP item master (paged by key, changes stamped
//! with the time they were made) and a product table that counts what it was asked to write.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use ferry_domain::{
    Availability, Document, DocumentPage, ErpCatalog, ErrorClass, Field, PageRequest, Price,
    QuotingCatalog, RoleError, RoleResult, StockBalance, UpsertReport, Value,
};

use crate::fakes::Script;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An item as the fake ERP keeps it: description and status (M3's ITDS and STAT).
pub fn item(key: &str, description: &str, status: &str) -> Document {
    Document {
        kind: "item".into(),
        id: Some(key.into()),
        fields: vec![
            Field::new("ITNO", Value::Text(key.into())),
            Field::new("ITDS", Value::Text(description.into())),
            Field::new("STAT", Value::Text(status.into())),
        ],
        lines: vec![],
    }
}

/// The fake transform's `item-to-product`: description copied, active when status 20.
pub fn item_to_product(input: &Document) -> Document {
    let text = |name: &str| {
        input
            .get(name)
            .and_then(Value::as_text)
            .unwrap_or_default()
            .to_string()
    };
    Document {
        kind: "product".into(),
        id: input.id.clone(),
        fields: vec![
            Field::new("Description", Value::Text(text("ITDS"))),
            Field::new("Active", Value::Boolean(text("STAT") == "20")),
        ],
        lines: vec![],
    }
}

/// The ERP's items by key, each with the time it last changed (RFC 3339).
#[derive(Default)]
pub struct FakeItems {
    pub script: Script,
    items: Mutex<BTreeMap<String, (Document, String)>>,
}

impl FakeItems {
    /// Adds or replaces an item, changed now.
    pub fn put(&self, item: Document) {
        self.put_at(item, &now());
    }

    /// Adds or replaces an item, changed at `at` (RFC 3339).
    pub fn put_at(&self, item: Document, at: &str) {
        let key = item.id.clone().unwrap_or_default();
        lock(&self.items).insert(key, (item, at.to_string()));
    }
}

fn offset(page: &PageRequest) -> RoleResult<usize> {
    page.cursor.as_deref().map_or(Ok(0), |c| {
        c.parse()
            .map_err(|_| RoleError::new(ErrorClass::Invalid, "not a cursor").into())
    })
}

fn page_of(all: Vec<Document>, page: &PageRequest) -> RoleResult<DocumentPage> {
    let from = offset(page)?;
    let to = (from + page.limit.max(1) as usize).min(all.len());
    Ok(DocumentPage {
        documents: all.get(from..to).unwrap_or_default().to_vec(),
        next: (to < all.len()).then(|| to.to_string()),
    })
}

#[async_trait]
impl ErpCatalog for FakeItems {
    async fn list_items(&self, page: &PageRequest) -> RoleResult<DocumentPage> {
        let arg = page.cursor.clone().unwrap_or_default();
        self.script.run("list_items", &arg, || {
            let all = lock(&self.items).values().map(|(d, _)| d.clone()).collect();
            page_of(all, page)
        })
    }

    async fn list_items_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        self.script.run("list_items_changed", since, || {
            let mut changed: Vec<(String, Document)> = lock(&self.items)
                .values()
                .filter(|(_, at)| at.as_str() >= since)
                .map(|(d, at)| (at.clone(), d.clone()))
                .collect();
            changed.sort_by(|a, b| a.0.cmp(&b.0));
            page_of(changed.into_iter().map(|(_, d)| d).collect(), page)
        })
    }

    async fn get_item_price(&self, item: &str) -> RoleResult<Price> {
        Err(RoleError::new(ErrorClass::Unsupported, format!("no price for {item}")).into())
    }

    async fn get_stock(&self, item: &str) -> RoleResult<Vec<StockBalance>> {
        Err(RoleError::new(ErrorClass::Unsupported, format!("no stock for {item}")).into())
    }
}

/// The quoting system's product table by key, and every key it was asked to write.
#[derive(Default)]
pub struct FakeProducts {
    pub script: Script,
    pub rows: Mutex<BTreeMap<String, Document>>,
    pub written: Mutex<Vec<String>>,
}

impl FakeProducts {
    pub fn row(&self, key: &str) -> Option<Document> {
        lock(&self.rows).get(key).cloned()
    }

    pub fn written(&self) -> Vec<String> {
        lock(&self.written).clone()
    }
}

#[async_trait]
impl QuotingCatalog for FakeProducts {
    async fn upsert_products(&self, products: &[Document]) -> RoleResult<UpsertReport> {
        // A real write waits on the quoting system: whatever runs beside it gets its turn.
        tokio::task::yield_now().await;
        let keys: Vec<String> = products
            .iter()
            .map(|p| p.id.clone().unwrap_or_default())
            .collect();
        self.script.run("upsert_products", &keys.join(","), || {
            let mut report = UpsertReport::default();
            let mut rows = lock(&self.rows);
            for (p, key) in products.iter().zip(&keys) {
                lock(&self.written).push(key.clone());
                match rows.insert(key.clone(), p.clone()) {
                    None => report.inserted += 1,
                    Some(old) if &old == p => report.unchanged += 1,
                    Some(_) => report.updated += 1,
                }
            }
            Ok(report)
        })
    }

    async fn set_availability(&self, items: &[Availability]) -> RoleResult<u32> {
        Ok(u32::try_from(items.len()).unwrap_or(u32::MAX))
    }
}
