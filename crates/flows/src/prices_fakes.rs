//! In-memory fakes for the price and stock syncs: an ERP with items, list and customer prices
//! and balances that counts its calls (batched or per item), and a product table that keeps
//! the price fields and availability written to it.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use ferry_domain::catalog::{ItemPrices, ItemStock, prices_one_by_one, stocks_one_by_one};
use ferry_domain::{
    Availability, Document, DocumentPage, ErpCatalog, ErrorClass, PageRequest, Price,
    QuotingCatalog, RoleError, RoleResult, StockBalance, UpsertReport, Value,
};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One page of `keys` as item documents; the cursor is the next key's offset.
fn page_of(keys: &[String], page: &PageRequest) -> DocumentPage {
    let from: usize = page
        .cursor
        .as_deref()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
        .min(keys.len());
    let to = (from + page.limit.max(1) as usize).min(keys.len());
    let documents = keys[from..to]
        .iter()
        .map(|k| Document {
            kind: "item".into(),
            id: Some(k.clone()),
            fields: vec![ferry_domain::Field::new("ITNO", Value::Text(k.clone()))],
            lines: vec![],
        })
        .collect();
    DocumentPage {
        documents,
        next: (to < keys.len()).then(|| to.to_string()),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn price(item: &str, amount: &str) -> Price {
    Price {
        item: item.into(),
        amount: amount.into(),
        currency: Some("EUR".into()),
        unit: None,
        min_quantity: None,
    }
}

/// The ERP: items by key with a list price, a customer price and balances per warehouse.
#[derive(Default)]
pub struct FakeErp {
    /// Whether it answers the batched calls itself (a 1.3 plugin) or per item (older).
    pub batched: bool,
    pub list: Mutex<BTreeMap<String, String>>,
    pub customer: Mutex<BTreeMap<(String, String), String>>,
    pub stock: Mutex<BTreeMap<String, Vec<StockBalance>>>,
    /// Calls by name: "get_item_prices", "get_item_price", "get_stocks", ...
    pub calls: Mutex<BTreeMap<&'static str, u64>>,
    /// Fail the n-th list_items call (1-based) once, as a dropped connection would.
    pub fail_page: Mutex<Option<u64>>,
    /// When each item's list price last changed (RFC 3339), as M3's item change date.
    pub changed: Mutex<BTreeMap<String, String>>,
    /// Whether it lists the items whose stock changed (an erp 1.4 plugin), and when each
    /// item's balances last changed.
    pub stock_delta: bool,
    pub stock_changed: Mutex<BTreeMap<String, String>>,
}

impl FakeErp {
    pub fn set_list(&self, item: &str, amount: &str) {
        lock(&self.list).insert(item.into(), amount.into());
        self.touch(item);
    }

    fn touch(&self, item: &str) {
        lock(&self.changed).insert(item.into(), now());
    }

    /// Every item and balance changed long ago (before any run).
    pub fn age(&self) {
        for changed in [&self.changed, &self.stock_changed] {
            for at in lock(changed).values_mut() {
                *at = "2000-01-01T00:00:00Z".into();
            }
        }
    }

    pub fn set_customer(&self, item: &str, customer: &str, amount: &str) {
        lock(&self.customer).insert((item.into(), customer.into()), amount.into());
    }

    pub fn set_stock(&self, item: &str, balances: &[(&str, &str)]) {
        let b = balances
            .iter()
            .map(|(w, q)| StockBalance {
                warehouse: (*w).into(),
                on_hand: (*q).into(),
                allocatable: (*q).into(),
                allocated: None,
            })
            .collect();
        lock(&self.stock).insert(item.into(), b);
        lock(&self.stock_changed).insert(item.into(), now());
    }

    pub fn calls(&self, name: &str) -> u64 {
        lock(&self.calls).get(name).copied().unwrap_or(0)
    }

    fn count(&self, name: &'static str) -> u64 {
        let mut calls = lock(&self.calls);
        let n = calls.entry(name).or_default();
        *n += 1;
        *n
    }
}

#[async_trait]
impl ErpCatalog for FakeErp {
    async fn list_items(&self, page: &PageRequest) -> RoleResult<DocumentPage> {
        let n = self.count("list_items");
        if lock(&self.fail_page).take_if(|f| *f == n).is_some() {
            return Err(RoleError::new(ErrorClass::Transient, "connection reset").into());
        }
        // Every item with a price or a balance, in key order.
        let mut keys: Vec<String> = lock(&self.list).keys().cloned().collect();
        keys.extend(lock(&self.stock).keys().cloned());
        keys.sort();
        keys.dedup();
        Ok(page_of(&keys, page))
    }

    async fn list_items_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage> {
        self.count("list_items_changed");
        // Oldest change first, as M3's LstItmByChgDate.
        let mut changed: Vec<(String, String)> = lock(&self.changed)
            .iter()
            .filter(|(_, at)| at.as_str() >= since)
            .map(|(k, at)| (at.clone(), k.clone()))
            .collect();
        changed.sort();
        let keys: Vec<String> = changed.into_iter().map(|(_, k)| k).collect();
        Ok(page_of(&keys, page))
    }

    async fn get_item_price(&self, item: &str) -> RoleResult<Price> {
        self.count("get_item_price");
        match lock(&self.list).get(item) {
            Some(a) => Ok(price(item, a)),
            None => Err(RoleError::new(ErrorClass::NotFound, item).into()),
        }
    }

    async fn get_customer_price(&self, item: &str, customer: &str, _: &str) -> RoleResult<Price> {
        self.count("get_customer_price");
        match lock(&self.customer).get(&(item.into(), customer.into())) {
            Some(a) => Ok(price(item, a)),
            None => Err(RoleError::new(ErrorClass::NotFound, item).into()),
        }
    }

    async fn get_stock(&self, item: &str) -> RoleResult<Vec<StockBalance>> {
        self.count("get_stock");
        Ok(lock(&self.stock).get(item).cloned().unwrap_or_default())
    }

    async fn get_item_prices(
        &self,
        items: &[String],
        customer: Option<&str>,
    ) -> RoleResult<Vec<ItemPrices>> {
        if !self.batched {
            return prices_one_by_one(self, items, customer).await;
        }
        self.count("get_item_prices");
        let (list, cust) = (lock(&self.list), lock(&self.customer));
        Ok(items
            .iter()
            .map(|i| ItemPrices {
                item: i.clone(),
                list: list.get(i).map(|a| price(i, a)),
                customer: customer
                    .and_then(|c| cust.get(&(i.clone(), c.to_string())))
                    .map(|a| price(i, a)),
            })
            .collect())
    }

    async fn get_stocks(&self, items: &[String], whs: &[String]) -> RoleResult<Vec<ItemStock>> {
        if !self.batched {
            return stocks_one_by_one(self, items, whs).await;
        }
        self.count("get_stocks");
        Ok(self.stock_of(items.iter().cloned(), whs))
    }

    async fn list_stocks_changed(
        &self,
        since: &str,
        whs: &[String],
    ) -> RoleResult<Option<Vec<ItemStock>>> {
        self.count("list_stocks_changed");
        if !self.stock_delta {
            return Ok(None);
        }
        let changed: Vec<String> = lock(&self.stock_changed)
            .iter()
            .filter(|(_, at)| at.as_str() >= since)
            .map(|(k, _)| k.clone())
            .collect();
        Ok(Some(self.stock_of(changed.into_iter(), whs)))
    }
}

impl FakeErp {
    /// The items' balances in `whs` (empty: all).
    fn stock_of(&self, items: impl Iterator<Item = String>, whs: &[String]) -> Vec<ItemStock> {
        let stock = lock(&self.stock);
        items
            .map(|i| ItemStock {
                balances: stock
                    .get(&i)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|b| whs.is_empty() || whs.contains(&b.warehouse))
                    .collect(),
                item: i,
            })
            .collect()
    }
}

/// The product table: each product's fields as last written, availability per product, and
/// every key written.
#[derive(Default)]
pub struct FakeTable {
    pub rows: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    pub availability: Mutex<BTreeMap<String, Vec<Availability>>>,
    pub written: Mutex<Vec<String>>,
    /// Refuse this many of the next writes (either call), as a dropped connection would.
    pub refuse_writes: Mutex<u32>,
}

impl FakeTable {
    pub fn field(&self, key: &str, field: &str) -> Option<Value> {
        lock(&self.rows)
            .get(key)
            .and_then(|r| r.get(field).cloned())
    }

    pub fn available(&self, key: &str) -> Vec<(Option<String>, String)> {
        lock(&self.availability)
            .get(key)
            .map(|a| {
                a.iter()
                    .map(|a| (a.warehouse.clone(), a.quantity.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn written(&self) -> Vec<String> {
        lock(&self.written).clone()
    }

    /// A refused write, if one is still to be refused.
    fn refused(&self) -> RoleResult<()> {
        let mut left = lock(&self.refuse_writes);
        if *left == 0 {
            return Ok(());
        }
        *left -= 1;
        Err(RoleError::new(ErrorClass::Transient, "connection reset").into())
    }
}

#[async_trait]
impl QuotingCatalog for FakeTable {
    async fn upsert_products(&self, products: &[Document]) -> RoleResult<UpsertReport> {
        self.refused()?;
        let mut report = UpsertReport::default();
        let mut rows = lock(&self.rows);
        for p in products {
            let key = p.id.clone().unwrap_or_default();
            lock(&self.written).push(key.clone());
            let row = rows.entry(key).or_default();
            for f in &p.fields {
                row.insert(f.name.clone(), f.value.clone());
            }
            report.updated += 1;
        }
        Ok(report)
    }

    async fn set_availability(&self, items: &[Availability]) -> RoleResult<u32> {
        self.refused()?;
        let mut by_product: BTreeMap<String, Vec<Availability>> = BTreeMap::new();
        for a in items {
            by_product
                .entry(a.product.clone())
                .or_default()
                .push(a.clone());
        }
        let n = by_product.len();
        for (k, a) in by_product {
            lock(&self.written).push(k.clone());
            lock(&self.availability).insert(k, a);
        }
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
