//! One page of the catalog run: its items mapped in one batch (a read, made ahead of the
//! previous page's writes), then the products whose content changed upserted and their hashes
//! recorded; a discontinued item written inactive.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ferry_domain::{Context, Document, DocumentPage, Issue, Mapped, RoleFailure, Value};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    CatalogPolicy, CatalogReport, DRY_RUN_KEYS, HASH_KIND, KEY, KIND, MAPPING, WRITTEN_KEYS,
};
use crate::paging::Listed;
use crate::{StepError, Tenant};
use ferry_store::Store;

/// What one page wrote, and how long it mapped and wrote.
pub(super) struct PageDone {
    pub written: u64,
    pub unchanged: u64,
    pub mapping: Duration,
    pub writing: Duration,
}

impl Listed for DocumentPage {
    fn next(&self) -> Option<String> {
        self.next.clone()
    }
}

/// A page's items and what the mapping made of each (a product, or why not).
pub(super) struct MappedPage {
    pub items: Vec<Document>,
    answers: Vec<Result<Mapped, Vec<Issue>>>,
    mapping: Duration,
}

/// Maps a page's items in one batch: one hop to the plugin host, not one per item. A read:
/// it runs ahead of the previous page's writes.
pub(super) async fn map_page(env: &Tenant, page: DocumentPage) -> Result<MappedPage, StepError> {
    let started = Instant::now();
    let context = Context {
        tenant: env.name.clone(),
        settings: env.transform_settings.clone(),
        ids: Vec::new(),
    };
    let items = page.documents;
    let answers = env
        .roles
        .transform
        .map_documents(MAPPING, &items, &context)
        .await
        .map_err(role)?;
    if answers.len() != items.len() {
        return Err(StepError::Fatal(format!(
            "the transform answered {} of {} items",
            answers.len(),
            items.len()
        )));
    }
    Ok(MappedPage {
        items,
        answers,
        mapping: started.elapsed(),
    })
}

/// Upserts the mapped page's products whose content changed, records their hashes.
pub(super) async fn apply_page(
    env: &Tenant,
    store: &dyn Store,
    policy: &CatalogPolicy,
    page: MappedPage,
    report: &mut CatalogReport,
    dry_run: bool,
) -> Result<PageDone, StepError> {
    let started = Instant::now();
    let MappedPage {
        items,
        answers,
        mapping,
    } = page;
    let listed: BTreeSet<&str> = policy.discontinued_items.iter().map(|s| s.trim()).collect();
    // The page's products, each with the key its stored hash is under, its hash, and whether
    // discontinued.
    let mut mapped_page: Vec<(Document, String, String, bool)> = Vec::with_capacity(items.len());
    for (item, mapped) in items.iter().zip(answers) {
        report.read += 1;
        let mut product = match mapped {
            Ok(m) => m.document,
            Err(issues) => {
                report.failed += 1;
                let key = item.id.clone().unwrap_or_default();
                let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
                store
                    .audit(
                        &env.name,
                        KIND,
                        KEY,
                        "item-refused",
                        &format!("item {key} not mapped: {}", text.join("; ")),
                        &json!({ "item": key }),
                    )
                    .await?;
                continue;
            }
        };
        let key = product
            .id
            .clone()
            .or_else(|| item.id.clone())
            .unwrap_or_default();
        let discontinued = listed.contains(key.trim())
            || item
                .id
                .as_deref()
                .is_some_and(|i| listed.contains(i.trim()))
            // A blank status may be left out of the listing: missing reads as blank.
            || item
                .get(&policy.status_field)
                .map_or_else(|| Some(String::new()), value_text)
                .is_some_and(|s| policy.discontinued_statuses.iter().any(|d| d.trim() == s));
        if discontinued {
            let inactive = match &policy.inactive_value {
                Some(v) => Value::Text(v.clone()),
                None => Value::Boolean(false),
            };
            product.fields.retain(|f| f.name != policy.inactive_field);
            product
                .fields
                .push(ferry_domain::Field::new(&policy.inactive_field, inactive));
        }
        let hash = content_hash(&product);
        mapped_page.push((product, key, hash, discontinued));
    }
    let mapping = mapping + started.elapsed();
    let started = Instant::now();
    // The stored hashes of the whole page, one round trip.
    let keys: Vec<String> = mapped_page.iter().map(|(_, k, _, _)| k.clone()).collect();
    let stored = store.content_hashes(&env.name, HASH_KIND, &keys).await?;
    let mut changed: Vec<(Document, String, bool)> = Vec::with_capacity(mapped_page.len());
    let mut unchanged = 0u64;
    for (product, key, hash, discontinued) in mapped_page {
        if stored.get(&key) == Some(&hash) {
            unchanged += 1;
        } else {
            changed.push((product, hash, discontinued));
        }
    }
    report.unchanged += unchanged;
    if dry_run {
        for (product, _, discontinued) in &changed {
            report.would_write += 1;
            report.deactivated += u64::from(*discontinued);
            if report.would_write_keys.len() < DRY_RUN_KEYS {
                report
                    .would_write_keys
                    .push(product.id.clone().unwrap_or_default());
            }
        }
        return Ok(PageDone {
            written: 0,
            unchanged,
            mapping,
            writing: started.elapsed(),
        });
    }
    let mut written = 0u64;
    for batch in changed.chunks(policy.batch_size.max(1)) {
        let products: Vec<Document> = batch.iter().map(|(p, _, _)| p.clone()).collect();
        let done = env
            .roles
            .quoting_catalog
            .upsert_products(&products)
            .await
            .map_err(role)?;
        report.inserted += u64::from(done.inserted);
        report.updated += u64::from(done.updated);
        report.unchanged += u64::from(done.unchanged);
        written += u64::from(done.inserted) + u64::from(done.updated);
        // Only now that the quoting system took the batch: its hashes, one transaction.
        let hashes: Vec<(String, String)> = batch
            .iter()
            .map(|(product, hash, _)| (product.id.clone().unwrap_or_default(), hash.clone()))
            .collect();
        store
            .set_content_hashes(&env.name, HASH_KIND, &hashes)
            .await?;
        for ((_, _, discontinued), (key, _)) in batch.iter().zip(hashes) {
            report.deactivated += u64::from(*discontinued);
            if report.written_keys.len() < WRITTEN_KEYS {
                report.written_keys.push(key);
            }
        }
    }
    Ok(PageDone {
        written,
        unchanged,
        mapping,
        writing: started.elapsed(),
    })
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Text(s) | Value::Decimal(s) => Some(s.trim().to_string()),
        Value::Integer(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The product's content as written: its JSON (fields in the mapping's order), hashed.
fn content_hash(product: &Document) -> String {
    let bytes = serde_json::to_vec(product).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

pub(super) fn role(e: RoleFailure) -> StepError {
    StepError::from(e)
}
