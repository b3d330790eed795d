//! One page of a price or stock run: where its items come from (a page of item keys, or the
//! stock delta's one listing), their values as they would be written, and writing the ones
//! that changed since Ferry last wrote them (a content hash per item and target in the store).

use std::time::{Duration, Instant};

use ferry_domain::{Availability, Document, Field, PageRequest, Value};
use ferry_store::Store;
use sha2::{Digest, Sha256};

use super::{StepError, Tenant};
use crate::paging::Listed;
use crate::prices::{Checkpoint, Policy, PricesPolicy, ValuesReport};
use crate::stock;

/// Keys of items a dry run would write, kept in its report (the count has them all).
const DRY_RUN_KEYS: usize = 100;

/// One item's values as they would be written.
pub(crate) enum Values {
    /// The product with only its price fields.
    Product(Document),
    /// Its availability, a warehouse each.
    Stock(Vec<Availability>),
}

/// An item's values and their content hash.
pub(crate) struct Pending {
    pub key: String,
    pub values: Values,
}

impl Pending {
    fn hash(&self) -> String {
        let bytes = match &self.values {
            Values::Product(p) => serde_json::to_vec(p),
            Values::Stock(s) => serde_json::to_vec(s),
        }
        .unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// What a page of a run read: item keys whose values are read next, a batch at a time, or
/// (a stock delta) the changed items' values themselves, all in one answer.
pub(crate) enum Listing {
    Keys(Vec<String>, Option<String>),
    Pending(Vec<Pending>),
}

impl Listed for Listing {
    fn next(&self) -> Option<String> {
        match self {
            Listing::Keys(_, next) => next.clone(),
            Listing::Pending(_) => None,
        }
    }
}

/// A page's values as read from the ERP, a batch each, before they are compared and written.
pub(crate) struct ReadPage {
    /// Items listed.
    pub items: usize,
    pub batches: Vec<Vec<Pending>>,
    /// Items the ERP has no value for.
    pub missing: u64,
    /// Batched calls made to the ERP.
    pub calls: u64,
    pub reading: Duration,
}

/// Reads a listed page's values a batch at a time (a stock delta's listing has them already).
/// A read: it runs ahead of the previous page's writes.
pub(crate) async fn read_page(
    env: &Tenant,
    policy: &Policy,
    listing: Listing,
    batch_size: usize,
) -> Result<ReadPage, StepError> {
    let started = Instant::now();
    let mut page = ReadPage {
        items: 0,
        batches: Vec::new(),
        missing: 0,
        calls: 0,
        reading: Duration::ZERO,
    };
    match listing {
        Listing::Keys(keys, _) => {
            page.items = keys.len();
            for chunk in keys.chunks(batch_size) {
                page.calls += 1;
                let pending = match policy {
                    Policy::Prices(p) => {
                        let (pending, missing) = prices_of(env, p, chunk).await?;
                        page.missing += missing;
                        pending
                    }
                    Policy::Stock(s) => stock::stock_of(env, s, chunk).await?,
                };
                page.batches.push(pending);
            }
        }
        Listing::Pending(pending) => {
            page.items = pending.len();
            page.calls = 1;
            let mut pending = pending.into_iter();
            loop {
                let batch: Vec<Pending> = pending.by_ref().take(batch_size).collect();
                if batch.is_empty() {
                    break;
                }
                page.batches.push(batch);
            }
        }
    }
    page.reading = started.elapsed();
    Ok(page)
}

/// The run's next page: the stock delta's one listing when the ERP can give it, else the next
/// page of item keys (changed since the run's `since`, or all of them). An ERP that cannot
/// list changed stock turns the run into one that reads every item.
pub(crate) async fn next_listing(
    env: &Tenant,
    cp: &mut Checkpoint,
    page_size: u32,
) -> Result<Listing, StepError> {
    let erp = &env.roles.erp_catalog;
    if let (Policy::Stock(policy), Some(since)) = (&cp.policy, &cp.report.since) {
        match erp.list_stocks_changed(since, &policy.warehouses).await? {
            Some(found) => return Ok(Listing::Pending(stock::pending(policy, found))),
            None => cp.report.since = None,
        }
    }
    list_keys(
        env,
        cp.report.since.as_deref(),
        cp.cursor.as_deref(),
        page_size,
    )
    .await
}

/// A page of item keys: those changed since `since`, or all of them.
pub(crate) async fn list_keys(
    env: &Tenant,
    since: Option<&str>,
    cursor: Option<&str>,
    page_size: u32,
) -> Result<Listing, StepError> {
    let erp = &env.roles.erp_catalog;
    let request = PageRequest {
        cursor: cursor.map(str::to_string),
        limit: page_size,
    };
    let page = match since {
        Some(since) => erp.list_items_changed(since, &request).await?,
        None => erp.list_items(&request).await?,
    };
    let keys = page
        .documents
        .iter()
        .filter_map(|d| d.id.as_deref().map(str::trim))
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Listing::Keys(keys, page.next))
}

/// Writes the batch's items whose values changed since Ferry last wrote them (one call), then
/// records their hashes; a dry run only counts them.
pub(crate) async fn apply(
    env: &Tenant,
    store: &dyn Store,
    policy: &Policy,
    pending: Vec<Pending>,
    report: &mut ValuesReport,
    dry_run: bool,
) -> Result<(), StepError> {
    // The stored hashes of the whole batch, one round trip.
    let keys: Vec<String> = pending.iter().map(|p| p.key.clone()).collect();
    let stored = store
        .content_hashes(&env.name, policy.hash_kind(), &keys)
        .await?;
    let mut changed = Vec::new();
    for p in pending {
        let hash = p.hash();
        if stored.get(&p.key) == Some(&hash) {
            report.unchanged += 1;
        } else {
            changed.push((p, hash));
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    if dry_run {
        for (p, _) in &changed {
            report.would_write += 1;
            if report.would_write_keys.len() < DRY_RUN_KEYS {
                report.would_write_keys.push(p.key.clone());
            }
        }
        return Ok(());
    }
    let mut products = Vec::new();
    let mut availability = Vec::new();
    for (p, _) in &changed {
        match &p.values {
            Values::Product(d) => products.push(d.clone()),
            Values::Stock(a) => availability.extend(a.iter().cloned()),
        }
    }
    let quoting = &env.roles.quoting_catalog;
    if !products.is_empty() {
        quoting.upsert_products(&products).await?;
    }
    if !availability.is_empty() {
        quoting.set_availability(&availability).await?;
    }
    // Only now that the quoting system took them: their hashes, one transaction.
    let hashes: Vec<(String, String)> = changed
        .iter()
        .map(|(p, hash)| (p.key.clone(), hash.clone()))
        .collect();
    store
        .set_content_hashes(&env.name, policy.hash_kind(), &hashes)
        .await?;
    for (p, _) in &changed {
        report.written += 1;
        if report.written_keys.len() < crate::catalog::WRITTEN_KEYS {
            report.written_keys.push(p.key.clone());
        }
    }
    Ok(())
}

/// The batch's prices, one batched call, as products carrying only their price fields.
pub(crate) async fn prices_of(
    env: &Tenant,
    policy: &PricesPolicy,
    items: &[String],
) -> Result<(Vec<Pending>, u64), StepError> {
    let customer = policy
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let found = env
        .roles
        .erp_catalog
        .get_item_prices(items, customer)
        .await?;
    let mut out = Vec::with_capacity(found.len());
    let mut missing = 0;
    for p in found {
        let mut fields = Vec::new();
        if let Some(list) = &p.list {
            fields.push(Field::new(
                &policy.list_field,
                Value::Decimal(list.amount.trim().into()),
            ));
        }
        if let Some(c) = &p.customer {
            fields.push(Field::new(
                &policy.customer_field,
                Value::Decimal(c.amount.trim().into()),
            ));
        }
        if fields.is_empty() {
            missing += 1;
            continue;
        }
        let key = p.item.trim().to_string();
        out.push(Pending {
            values: Values::Product(Document {
                kind: "product".into(),
                id: Some(key.clone()),
                fields,
                lines: vec![],
            }),
            key,
        });
    }
    Ok((out, missing))
}
