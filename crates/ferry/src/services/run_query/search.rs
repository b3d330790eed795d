//! The runs search box's business keys beyond the quote's own names
//! ([`journeys::names`](crate::services::journeys::names): quote number or id, order reference,
//! ERP order number): a line's item, the customer (ERP customer number, the quoting system's
//! account number, or part of the company name) and the id of an ERP event (an ION BOD) about
//! the run's order or customer. Read from what the run's checkpoint holds (the quote and the
//! mapped order as documents) and the tenant's inbox.

use serde_json::Value as Json;

use crate::services::journeys;
use ferry_domain::Change;
use ferry_store::{Job, Store, StoreError};

/// Line fields that name an item: the quoting system's part numbers, the ERP's item number.
const ITEM_FIELDS: &[&str] = &[
    "ManufacturerPartNumber",
    "VendorPartNumber",
    "ItemNumber",
    "ITNO",
];
/// Header fields that carry a customer number (ERP's `CUNO`, QuoteWerks' account number).
const CUSTOMER_NUMBER_FIELDS: &[&str] = &["CUNO", "SoldToCMAccountNo", "CustomerNumber"];
/// Header fields that carry the customer's name (found by any part of 3 characters or more).
const CUSTOMER_NAME_FIELDS: &[&str] = &["SoldToCompany", "CUNM"];
/// Shortest text a name is searched by part of (shorter: whole names only).
const NAME_PART_MIN: usize = 3;
/// ERP events looked through for a BOD id (the tenant's newest).
pub const EVENTS_SEARCHED: usize = 5_000;

/// A search box's text, with the ERP keys (order or customer numbers) that events with that
/// id were about.
pub struct Search {
    text: String,
    event_keys: Vec<String>,
}

impl Search {
    pub async fn new(store: &dyn Store, tenant: &str, text: &str) -> Result<Self, StoreError> {
        let text = text.trim().to_string();
        // Events are stored under `{event id}/{entity}/{key}` (`intake::erp_event_key`).
        let prefix = format!("{text}/");
        let event_keys = store
            .events(Some(tenant), EVENTS_SEARCHED)
            .await?
            .into_iter()
            .filter(|e| e.dedup_key.starts_with(&prefix))
            .filter_map(|e| serde_json::from_value::<Change>(e.payload).ok())
            .map(|c| c.key)
            .collect();
        Ok(Search { text, event_keys })
    }

    /// Whether the run is one the text names.
    pub fn matches(&self, job: &Job) -> bool {
        let t = self.text.as_str();
        journeys::names(job, t)
            || items(job).any(|i| i.eq_ignore_ascii_case(t))
            || customer_numbers(job).any(|c| c.eq_ignore_ascii_case(t))
            || (t.chars().count() >= NAME_PART_MIN && {
                let t = t.to_lowercase();
                customer_names(job).any(|n| n.to_lowercase().contains(&t))
            })
            || self.event_keys.iter().any(|k| {
                job.key == *k
                    || journeys::names(job, k)
                    || customer_numbers(job).any(|c| c.eq_ignore_ascii_case(k))
            })
    }
}

/// The text values of `doc`'s header fields named in `names`.
fn header<'a>(doc: &'a Json, names: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
    fields(&doc["fields"], names)
}

fn fields<'a>(fields: &'a Json, names: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
    fields
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["name"].as_str().is_some_and(|n| names.contains(&n)))
        .filter_map(|f| f["value"]["text"].as_str())
        .filter(|v| !v.trim().is_empty())
}

/// The documents a run's checkpoint holds: the quote as read and the order as mapped.
fn documents(job: &Job) -> impl Iterator<Item = &Json> {
    ["quote", "order"]
        .into_iter()
        .map(|k| &job.checkpoint[k])
        .filter(|d| d.is_object())
}

fn items(job: &Job) -> impl Iterator<Item = &str> {
    documents(job)
        .flat_map(|d| d["lines"].as_array().into_iter().flatten())
        .flat_map(|l| fields(&l["fields"], ITEM_FIELDS))
}

fn customer_numbers(job: &Job) -> impl Iterator<Item = &str> {
    let resolved = job.checkpoint["customer"].as_str();
    documents(job)
        .flat_map(|d| header(d, CUSTOMER_NUMBER_FIELDS))
        .chain(resolved)
}

fn customer_names(job: &Job) -> impl Iterator<Item = &str> {
    documents(job).flat_map(|d| header(d, CUSTOMER_NAME_FIELDS))
}
