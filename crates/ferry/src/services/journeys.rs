//! The durable work as an operator sees it: a quote's journey (its job and audit trail),
//! quotes held for a person, dead letters. They read and write the store `ferry serve` uses
//! (SQLite in WAL mode allows both at once); a running server picks released and replayed
//! jobs up on its next poll.
//!
//! A quote is named either by the id the job is keyed by (QuoteWerks' internal document id)
//! or by the number people use (`Q1042`): the quote's `DocNo` once fetched, else the order
//! reference the mapping made of it.

use serde::Serialize;

use super::{Context, ServiceError};
use crate::flows::now_ms;
use crate::flows::quote_to_order::KIND;
use ferry_domain::Document;
use ferry_store::{AuditEntry, DeadLetter, Job, JobState, Release, Store, StoreError};

/// The quoting document field holding the number people use (QuoteWerks' `DocNo`).
const QUOTE_NUMBER_FIELD: &str = "DocNo";

/// One quote's whole story.
#[derive(Debug, Serialize)]
pub struct Journey {
    /// The id its job is keyed by.
    pub quote_id: String,
    /// The number people use, once the quote was fetched.
    pub quote_number: Option<String>,
    pub job: Job,
    pub trail: Vec<AuditEntry>,
}

impl Journey {
    /// The ERP order made for it (number, status), once there is one.
    pub fn order(&self) -> Option<(String, String)> {
        let receipt = self
            .job
            .checkpoint
            .get("receipt")
            .filter(|r| !r.is_null())?;
        let text = |k: &str| receipt[k].as_str().unwrap_or("?").to_string();
        Some((text("order_number"), text("status")))
    }
}

/// The whole story of one quote (by id or number).
pub async fn trace(ctx: &Context, tenant: &str, quote: &str) -> Result<Journey, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let job = find_quote(&*store, tenant, quote).await?;
    let trail = store.trail(tenant, &job.key).await?;
    Ok(Journey {
        quote_id: job.key.clone(),
        quote_number: quote_number(&job),
        job,
        trail,
    })
}

/// A tenant's quote runs (quote-to-order jobs) in id order, optionally in one state, optionally
/// only the one a quote number or id names (none when it names nothing).
pub async fn runs(
    ctx: &Context,
    tenant: &str,
    state: Option<JobState>,
    quote: Option<&str>,
) -> Result<Vec<Job>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let jobs = match quote {
        Some(q) => match find_quote(&*store, tenant, q).await {
            Ok(job) => vec![job],
            Err(ServiceError::NoQuote { .. }) => Vec::new(),
            Err(e) => return Err(e),
        },
        None => store.jobs(Some(tenant), state).await?,
    };
    Ok(jobs
        .into_iter()
        .filter(|j| j.kind == KIND && state.is_none_or(|s| j.state == s))
        .collect())
}

/// A tenant's quote runs for a search box (the console's): without `text`, like [`runs`];
/// with it, every run whose quote id, quote number (any case), order reference or ERP order
/// number is `text`. A number several quotes share names them all rather than none.
pub async fn search(
    ctx: &Context,
    tenant: &str,
    state: Option<JobState>,
    text: Option<&str>,
) -> Result<Vec<Job>, ServiceError> {
    let Some(text) = text else {
        return runs(ctx, tenant, state, None).await;
    };
    Ok(runs(ctx, tenant, state, None)
        .await?
        .into_iter()
        .filter(|job| names(job, text))
        .collect())
}

/// Whether `text` names the run: its key (quote id), quote number (any case), order
/// reference or ERP order number.
pub fn names(job: &Job, text: &str) -> bool {
    job.key == text
        || quote_number(job).is_some_and(|n| n.eq_ignore_ascii_case(text))
        || job.checkpoint["reference"].as_str() == Some(text)
        || job.checkpoint["receipt"]["order_number"].as_str() == Some(text)
}

/// Quotes waiting for a person (one tenant's, or all).
pub async fn holds(ctx: &Context, tenant: Option<&str>) -> Result<Vec<Job>, ServiceError> {
    if let Some(t) = tenant {
        ctx.tenant(t)?;
    }
    let store = ctx.open_store().await?;
    Ok(store.jobs(tenant, Some(JobState::Held)).await?)
}

/// Lets a held quote go on from where it stopped (the data was fixed in the ERP), or from
/// the start (`restart`: the fix was made in the quoting system, so read the quote again).
pub async fn release(
    ctx: &Context,
    tenant: &str,
    quote: &str,
    restart: bool,
) -> Result<Job, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let job = find_quote(&*store, tenant, quote).await?;
    // A quote that is not held (released already, done, dead) is a conflict, not a missing one.
    if job.state != JobState::Held {
        return Err(ServiceError::QuoteNotHeld {
            tenant: tenant.to_string(),
            quote: quote.to_string(),
            state: job.state.as_str().to_string(),
        });
    }
    // A restart keeps only the quote's id and the event that started it.
    let from = if restart {
        Release::Restart {
            keep: &["quote_id", "event"],
        }
    } else {
        Release::AtCheckpoint
    };
    Ok(store
        .release(tenant, KIND, &job.key, from, now_ms())
        .await?)
}

/// Dead letters (one tenant's, or all), optionally only one quote's.
pub async fn dead_letters(
    ctx: &Context,
    tenant: Option<&str>,
    quote: Option<&str>,
) -> Result<Vec<DeadLetter>, ServiceError> {
    if let Some(t) = tenant {
        ctx.tenant(t)?;
    }
    let store = ctx.open_store().await?;
    let mut letters = store.dead_letters(tenant).await?;
    if let (Some(t), Some(q)) = (tenant, quote) {
        let job = find_quote(&*store, t, q).await?;
        letters.retain(|d| d.job_id == job.id);
    }
    Ok(letters)
}

/// Which dead letter an operator means: its id, or a quote's latest one.
pub enum Letter<'a> {
    Id(i64),
    Quote { tenant: &'a str, quote: &'a str },
}

pub async fn dead_letter(ctx: &Context, which: Letter<'_>) -> Result<DeadLetter, ServiceError> {
    let store = ctx.open_store().await?;
    find_letter(ctx, &*store, which).await
}

/// Queues a dead letter's job again from its last checkpoint (idempotency is kept).
pub async fn replay(ctx: &Context, which: Letter<'_>) -> Result<(i64, Job), ServiceError> {
    let store = ctx.open_store().await?;
    let letter = find_letter(ctx, &*store, which).await?;
    // A dead letter replays once; a second retry is a conflict, not a missing letter.
    if letter.replayed_at.is_some() {
        return Err(ServiceError::AlreadyRetried(letter.id));
    }
    if letter.resolved_at.is_some() {
        let why = format!("dead letter {} was resolved by hand", letter.id);
        return Err(StoreError::Conflict(why).into());
    }
    Ok((letter.id, store.replay(letter.id, now_ms()).await?))
}

/// Closes a held quote by hand (it was fixed elsewhere): it ends without running again and
/// moves from the open errors to the resolved ones.
pub async fn resolve_hold(ctx: &Context, tenant: &str, quote: &str) -> Result<Job, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let job = find_quote(&*store, tenant, quote).await?;
    if job.state != JobState::Held {
        return Err(ServiceError::QuoteNotHeld {
            tenant: tenant.to_string(),
            quote: quote.to_string(),
            state: job.state.as_str().to_string(),
        });
    }
    Ok(store.resolve(tenant, KIND, &job.key, now_ms()).await?)
}

/// Closes a dead letter by hand, without replaying it (any job kind).
pub async fn resolve_letter(ctx: &Context, which: Letter<'_>) -> Result<(i64, Job), ServiceError> {
    let store = ctx.open_store().await?;
    let letter = find_letter(ctx, &*store, which).await?;
    if letter.replayed_at.is_some() {
        return Err(ServiceError::AlreadyRetried(letter.id));
    }
    if letter.resolved_at.is_some() {
        return Err(
            StoreError::Conflict(format!("dead letter {} is resolved already", letter.id)).into(),
        );
    }
    let job = store
        .resolve(&letter.tenant, &letter.kind, &letter.key, now_ms())
        .await?;
    Ok((letter.id, job))
}

/// A tenant's runs closed by hand (held or dead ones resolved), of every kind, oldest first.
pub async fn resolved(ctx: &Context, tenant: &str) -> Result<Vec<Job>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let mut jobs: Vec<Job> = store
        .jobs(Some(tenant), Some(JobState::Done))
        .await?
        .into_iter()
        .filter(|j| j.resolved_at.is_some())
        .collect();
    jobs.sort_by(|a, b| a.resolved_at.cmp(&b.resolved_at));
    Ok(jobs)
}

/// Which open dead letters a bulk retry takes: every one of the tenant's unless narrowed.
#[derive(Debug, Default, Clone)]
pub struct LetterFilter {
    /// Only this flow (job kind, e.g. `quote-to-order`).
    pub kind: Option<String>,
    /// Only letters whose error contains this text (any case).
    pub error_contains: Option<String>,
}

impl LetterFilter {
    pub fn matches(&self, d: &DeadLetter) -> bool {
        let open = d.replayed_at.is_none() && d.resolved_at.is_none();
        let kind = self.kind.as_deref().is_none_or(|k| d.kind == k);
        let text = self
            .error_contains
            .as_deref()
            .is_none_or(|t| d.error.to_lowercase().contains(&t.to_lowercase()));
        open && kind && text
    }
}

/// Replays every open dead letter of `tenant` the filter matches, oldest first; returns the
/// ones replayed (letter id, job). A letter whose job moved on meanwhile (another letter of the
/// same job replayed first, a concurrent retry) is skipped, not an error.
pub async fn replay_matching(
    ctx: &Context,
    tenant: &str,
    filter: &LetterFilter,
) -> Result<Vec<(i64, Job)>, ServiceError> {
    ctx.tenant(tenant)?;
    let store = ctx.open_store().await?;
    let mut done = Vec::new();
    for letter in store.dead_letters(Some(tenant)).await? {
        if !filter.matches(&letter) {
            continue;
        }
        match store.replay(letter.id, now_ms()).await {
            Ok(job) => done.push((letter.id, job)),
            Err(StoreError::Conflict(_) | StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

async fn find_letter(
    ctx: &Context,
    store: &dyn Store,
    which: Letter<'_>,
) -> Result<DeadLetter, ServiceError> {
    match which {
        Letter::Id(id) => store
            .dead_letter(id)
            .await?
            .ok_or(ServiceError::NoDeadLetter(id)),
        Letter::Quote { tenant, quote } => {
            ctx.tenant(tenant)?;
            let job = find_quote(store, tenant, quote).await?;
            store
                .dead_letters(Some(tenant))
                .await?
                .into_iter()
                .filter(|d| d.job_id == job.id)
                .max_by_key(|d| d.id)
                .ok_or_else(|| ServiceError::QuoteNotDead {
                    tenant: tenant.to_string(),
                    quote: quote.to_string(),
                })
        }
    }
}

/// The quote-to-order job of a quote named by its id, else by its number (`DocNo`), else by
/// its order reference. A number shared by several quotes is refused with their ids.
async fn find_quote(store: &dyn Store, tenant: &str, quote: &str) -> Result<Job, ServiceError> {
    if let Some(job) = store.job(tenant, KIND, quote).await? {
        return Ok(job);
    }
    let jobs: Vec<Job> = store
        .jobs(Some(tenant), None)
        .await?
        .into_iter()
        .filter(|j| j.kind == KIND)
        .collect();
    let by_number: Vec<&Job> = jobs
        .iter()
        .filter(|j| quote_number(j).is_some_and(|n| n.eq_ignore_ascii_case(quote)))
        .collect();
    let found = if by_number.is_empty() {
        jobs.iter()
            .filter(|j| j.checkpoint["reference"].as_str() == Some(quote))
            .collect()
    } else {
        by_number
    };
    match found.as_slice() {
        [] => Err(ServiceError::NoQuote {
            tenant: tenant.to_string(),
            quote: quote.to_string(),
        }),
        [one] => Ok((*one).clone()),
        several => Err(ServiceError::AmbiguousQuote {
            tenant: tenant.to_string(),
            quote: quote.to_string(),
            ids: several
                .iter()
                .map(|j| j.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The quote's number, from the quote document in the job's checkpoint.
pub fn quote_number(job: &Job) -> Option<String> {
    let quote: Document = serde_json::from_value(job.checkpoint.get("quote")?.clone()).ok()?;
    quote
        .fields
        .iter()
        .find(|f| f.name == QUOTE_NUMBER_FIELD)
        .and_then(|f| f.value.as_text())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::FerryConfig;
    use ferry_store::{Jobs, MemoryStore, NewJob};

    /// A context over a memory store holding quote-to-order jobs keyed by id, each with the
    /// quote (number `doc_no`) fetched into its checkpoint.
    async fn context(quotes: &[(&str, &str)]) -> Context {
        let store = Arc::new(MemoryStore::new());
        for (id, doc_no) in quotes {
            let checkpoint = serde_json::json!({
                "quote_id": id,
                "quote": {"kind": "quote", "id": id, "fields": [{"name": "DocNo", "value": {"text": doc_no}}], "lines": []},
            });
            let job = NewJob {
                tenant: "acme",
                kind: KIND,
                key: id,
                checkpoint,
            };
            store.enqueue(job, 0).await.expect("enqueue");
        }
        let config =
            FerryConfig::parse("[tenants.acme]\n", std::path::Path::new(".")).expect("config");
        Context {
            config,
            config_path: Some("ferry.toml".into()),
            data_dir: "unused".into(),
            store: None,
            registry: None,
            connections: Default::default(),
        }
        .with_store(store)
    }

    #[tokio::test]
    async fn a_quote_is_found_by_id_or_by_number_and_a_shared_number_names_both_ids() {
        let ctx = context(&[("17", "Q1042"), ("18", "Q1043"), ("19", "Q1043")]).await;
        let by_number = trace(&ctx, "acme", "q1042").await.expect("by number");
        assert_eq!(by_number.quote_id, "17");
        assert_eq!(by_number.quote_number.as_deref(), Some("Q1042"));
        assert_eq!(
            trace(&ctx, "acme", "17").await.expect("by id").quote_id,
            "17"
        );
        match trace(&ctx, "acme", "Q1043").await {
            Err(ServiceError::AmbiguousQuote { ids, .. }) => assert_eq!(ids, "18, 19"),
            other => panic!("{:?}", other.map(|j| j.quote_id)),
        }
        assert!(matches!(
            trace(&ctx, "acme", "Q9").await,
            Err(ServiceError::NoQuote { .. })
        ));
        assert!(matches!(
            trace(&ctx, "globex", "17").await,
            Err(ServiceError::UnknownTenant { .. })
        ));
    }
}
