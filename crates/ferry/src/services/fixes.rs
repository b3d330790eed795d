//! Suggested fixes for a held quote (console screen 5): what M3 refused and the closest M3
//! records to use instead ([`crate::fixes`] scores them), and accepting one: the choice is
//! recorded as a cross-reference the flow reads (an item as a `substitute` `ITNO=<quoted>`,
//! a customer as the `customer` link of the quote's customer key), audited with who chose it,
//! and the hold released so the run goes on from its checkpoint.
//!
//! Which hold is which comes from the step the run stopped after: `fetched` (the customer
//! could not be matched), `mapped` (the ERP refused the order's lines). The ERP is asked
//! through [`Lookup`] (the tenant's plugins in a server; fakes in tests).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, ServiceError, journeys};
use crate::fixes::customers::{CustomerIndex, Party};
use crate::fixes::items::{CatalogItem, ItemIndex, UnknownItem};
use crate::fixes::{MIN_SCORE, Suggestion};
use crate::flows::quote_to_order::{KIND, SUBSTITUTE_KIND, substitute_key};
use crate::tenant::TenantEnv;
use ferry_domain::{
    Document, FieldError, MatchCriteria, PageRequest, RoleFailure, Value, transform,
};
use ferry_store::{Job, JobState, Store};

/// A suggestion for a line value the ERP refused (an unknown part number).
pub const ITEM: &str = "item";
/// A suggestion for the quote's customer Ferry could not match.
pub const CUSTOMER: &str = "customer";

/// The cross-reference kind the flow looks a quote's customer key up by.
const CUSTOMER_LINK: &str = "customer";
/// The quote line field holding a line's description (QuoteWerks').
const DESCRIPTION_FIELD: &str = "Description";
/// Items or customers read a page at a time.
const PAGE: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The ERP could not be asked (no plugin, down, refused): try again later.
    #[error("asking the ERP: {0}")]
    Erp(String),
    /// The accepted fix is not one this hold has (wrong kind, value or choice).
    #[error("{0}")]
    NotForThisHold(String),
}

impl From<ferry_store::StoreError> for FixError {
    fn from(e: ferry_store::StoreError) -> Self {
        FixError::Service(e.into())
    }
}

fn erp(e: RoleFailure) -> FixError {
    FixError::Erp(e.to_string())
}

/// What the suggestions need from the tenant's ERP (and transform).
#[async_trait]
pub trait Lookup: Send + Sync {
    /// The problems the ERP finds with the order now.
    async fn refused(&self, order: &Document) -> Result<Vec<FieldError>, FixError>;
    /// Every item the ERP sells.
    async fn catalog(&self) -> Result<Vec<CatalogItem>, FixError>;
    /// The quote's customer as the flow matches it: its key and what it is known by.
    async fn quoted_customer(&self, quote_id: &str, quote: &Document) -> Result<Party, FixError>;
    /// The ERP's customers a quoted one may be (all of them, when the ERP lists them).
    async fn customers(&self, quoted: &Party) -> Result<Vec<Party>, FixError>;
}

/// Opens a tenant's [`Lookup`]: over its active plugins in a server, a fake in tests.
#[async_trait]
pub trait Lookups: Send + Sync {
    async fn open(&self, ctx: &Context, tenant: &str) -> Result<Box<dyn Lookup>, FixError>;
}

/// One thing the hold is waiting on, with what to use instead, best first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `item` or `customer`: what an accepted suggestion records.
    pub kind: String,
    /// The value refused (a part number) or the quote's customer key.
    pub from: String,
    /// The refused field (`ITNO`), for an item.
    pub field: Option<String>,
    /// The order line (0-based), for an item.
    pub line: Option<u32>,
    /// What the ERP or the flow said about it.
    pub said: String,
    /// What the quote calls it (a line's description, a customer's name).
    pub description: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub suggestions: Vec<Suggestion>,
}

/// A held quote's suggested fixes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HoldFixes {
    pub quote_id: String,
    pub quote_number: Option<String>,
    pub hold_reason: Option<String>,
    /// Empty when the hold is of a kind Ferry has no suggestions for.
    pub problems: Vec<Problem>,
}

/// The suggestion an operator accepts.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Accept {
    /// `item` or `customer`.
    pub kind: String,
    /// The problem's `from`.
    pub from: String,
    /// The suggestion's `id` (an M3 item or customer number).
    pub to: String,
}

/// What accepting recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub kind: String,
    pub from: String,
    pub to: String,
    /// The cross-reference written: its kind and local id (it points at `to`).
    pub cross_reference_kind: String,
    pub cross_reference_id: String,
    /// True when this call released the hold; false when it was accepted before (the run
    /// went on already) and nothing changed.
    pub released: bool,
    /// The run's state now.
    pub status: String,
}

/// The tenant's plugins, as a server's admin API and console ask them.
pub struct PluginLookups;

#[async_trait]
impl Lookups for PluginLookups {
    async fn open(&self, ctx: &Context, tenant: &str) -> Result<Box<dyn Lookup>, FixError> {
        let registry = super::plugins::open_registry(ctx).await?;
        let env = TenantEnv::build(&ctx.config, tenant, registry)
            .map_err(|e| FixError::Erp(format!("{e:#}")))?;
        Ok(Box::new(PluginLookup { env: Arc::new(env) }))
    }
}

struct PluginLookup {
    env: Arc<TenantEnv>,
}

#[async_trait]
impl Lookup for PluginLookup {
    async fn refused(&self, order: &Document) -> Result<Vec<FieldError>, FixError> {
        self.env
            .roles()
            .erp
            .validate_order(order)
            .await
            .map_err(erp)
    }

    async fn catalog(&self) -> Result<Vec<CatalogItem>, FixError> {
        let catalog = self.env.roles().erp_catalog;
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let page = catalog
                .list_items(&PageRequest {
                    cursor: cursor.take(),
                    limit: PAGE,
                })
                .await
                .map_err(erp)?;
            items.extend(page.documents.iter().filter_map(catalog_item));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    async fn quoted_customer(&self, quote_id: &str, quote: &Document) -> Result<Party, FixError> {
        let context = transform::Context {
            tenant: self.env.name.clone(),
            settings: self.env.transform_settings(),
            ids: vec![("quote".to_string(), quote_id.to_string())],
        };
        let mapped = self
            .env
            .roles()
            .transform
            .map_document("quote-to-customer", quote, &context)
            .await
            .map_err(erp)?
            .map_err(|issues| {
                FixError::NotForThisHold(format!(
                    "the quote's customer does not map ({} issues): fix the mapping",
                    issues.len()
                ))
            })?;
        Ok(quoted_party(&mapped.document))
    }

    async fn customers(&self, quoted: &Party) -> Result<Vec<Party>, FixError> {
        // Every customer when the ERP lists them (the sync's export); else what it finds.
        let listing = super::customer_sync::roles(self.env.clone()).erp;
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = listing
                .list_customers_changed(
                    "2000-01-01",
                    &PageRequest {
                        cursor: cursor.take(),
                        limit: PAGE,
                    },
                )
                .await;
            match page {
                Ok(page) => {
                    all.extend(page.documents.iter().map(erp_party));
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => return Ok(all),
                    }
                }
                Err(_) if all.is_empty() => break,
                Err(e) => return Err(erp(e)),
            }
        }
        let erp_role = self.env.roles().erp;
        for criteria in [
            MatchCriteria {
                email: quoted.email.clone(),
                ..MatchCriteria::default()
            },
            MatchCriteria {
                name: Some(quoted.name.clone()),
                ..MatchCriteria::default()
            },
        ] {
            if criteria.email.is_some() || criteria.name.as_deref().is_some_and(|n| !n.is_empty()) {
                let found = erp_role.find_customers(&criteria).await.map_err(erp)?;
                all.extend(found.iter().map(erp_party));
            }
        }
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.dedup_by(|a, b| a.id == b.id);
        Ok(all)
    }
}

fn text(doc_fields: &[ferry_domain::Field], name: &str) -> Option<String> {
    ferry_domain::document::get(doc_fields, name)
        .and_then(Value::as_text)
        .map(str::to_string)
}

/// An ERP item document (M3: ITNO, ITDS name, FUDS description) as the index wants it.
fn catalog_item(doc: &Document) -> Option<CatalogItem> {
    let itno = doc.id.clone().or_else(|| text(&doc.fields, "ITNO"))?;
    // M3's description often repeats the name: shown (and weighed) once.
    let name = text(&doc.fields, "ITDS").unwrap_or_default();
    let description = match text(&doc.fields, "FUDS") {
        Some(full) if full.contains(&name) => full,
        Some(full) => format!("{name} {full}").trim().to_string(),
        None => name,
    };
    Some(CatalogItem { itno, description })
}

/// An ERP customer document (M3 fields) as the index wants it.
fn erp_party(doc: &Document) -> Party {
    Party {
        id: doc
            .id
            .clone()
            .or_else(|| text(&doc.fields, "CUNO"))
            .unwrap_or_default(),
        name: text(&doc.fields, "CUNM").unwrap_or_default(),
        email: text(&doc.fields, "MAIL"),
        phone: text(&doc.fields, "PHNO"),
        postal_code: text(&doc.fields, "PONO"),
    }
}

/// The quote's customer as the quote-to-customer mapping made it: its id is the key the flow
/// links, `match:*` what it is matched by, the ERP fields the rest.
fn quoted_party(mapped: &Document) -> Party {
    let f = &mapped.fields;
    Party {
        id: mapped.id.clone().unwrap_or_default(),
        name: text(f, "match:name")
            .or_else(|| text(f, "CUNM"))
            .unwrap_or_default(),
        email: text(f, "match:email").or_else(|| text(f, "MAIL")),
        phone: text(f, "PHNO"),
        postal_code: text(f, "PONO"),
    }
}

/// The held quote-to-order run a quote (id or number) names.
async fn held_job(ctx: &Context, tenant: &str, quote: &str) -> Result<Job, FixError> {
    let job = journeys::trace(ctx, tenant, quote).await?.job;
    if job.state != JobState::Held {
        return Err(ServiceError::QuoteNotHeld {
            tenant: tenant.to_string(),
            quote: quote.to_string(),
            state: job.state.as_str().to_string(),
        }
        .into());
    }
    Ok(job)
}

fn checkpoint_doc(job: &Job, name: &str) -> Option<Document> {
    serde_json::from_value(job.checkpoint.get(name)?.clone()).ok()
}

/// The suggested fixes for a held quote of `tenant` (by id or number).
pub async fn suggest(
    ctx: &Context,
    lookups: &dyn Lookups,
    tenant: &str,
    quote: &str,
) -> Result<HoldFixes, FixError> {
    ctx.tenant(tenant)?;
    let job = held_job(ctx, tenant, quote).await?;
    let lookup = lookups.open(ctx, tenant).await?;
    let problems = problems(&job, lookup.as_ref()).await?;
    Ok(HoldFixes {
        quote_id: job.key.clone(),
        quote_number: journeys::quote_number(&job),
        hold_reason: job.hold_reason.clone(),
        problems,
    })
}

/// What the run is held for, each with its suggestions.
async fn problems(job: &Job, lookup: &dyn Lookup) -> Result<Vec<Problem>, FixError> {
    let quote = checkpoint_doc(job, "quote");
    match (job.step.as_str(), quote) {
        ("fetched", Some(quote)) => {
            let party = lookup.quoted_customer(&job.key, &quote).await?;
            if party.id.is_empty() {
                return Ok(Vec::new());
            }
            let index = CustomerIndex::new(lookup.customers(&party).await?);
            Ok(vec![Problem {
                kind: CUSTOMER.into(),
                from: party.id.clone(),
                field: None,
                line: None,
                said: job.hold_reason.clone().unwrap_or_default(),
                description: Some(party.name.clone()).filter(|n| !n.is_empty()),
                suggestions: index.suggest(&party),
            }])
        }
        ("mapped", quote) => {
            let Some(order) = checkpoint_doc(job, "order") else {
                return Ok(Vec::new());
            };
            let refused = lookup.refused(&order).await?;
            let wanted: Vec<(FieldError, String)> = refused
                .into_iter()
                .filter_map(|e| {
                    let line = order.lines.get(e.line? as usize)?;
                    let value = ferry_domain::document::get(&line.fields, &e.field)?
                        .as_text()?
                        .to_string();
                    Some((e, value))
                })
                .collect();
            if wanted.is_empty() {
                return Ok(Vec::new());
            }
            let index = ItemIndex::new(lookup.catalog().await?);
            Ok(wanted
                .into_iter()
                .map(|(e, value)| {
                    let description = quote.as_ref().and_then(|q| line_description(q, &value));
                    let mut suggestions = index.suggest(&UnknownItem {
                        itno: value.clone(),
                        description: description.clone(),
                    });
                    // The refused value itself (a discontinued item) is no fix.
                    suggestions.retain(|s| s.id != value && s.score >= MIN_SCORE);
                    Problem {
                        kind: ITEM.into(),
                        from: value,
                        field: Some(e.field.clone()),
                        line: e.line,
                        said: e.message.clone(),
                        description,
                        suggestions,
                    }
                })
                .collect())
        }
        _ => Ok(Vec::new()),
    }
}

/// The description of the quote line carrying `value` (its part number).
fn line_description(quote: &Document, value: &str) -> Option<String> {
    quote
        .lines
        .iter()
        .find(|l| l.fields.iter().any(|f| f.value.as_text() == Some(value)))
        .and_then(|l| text(&l.fields, DESCRIPTION_FIELD))
}

/// The cross-reference an accepted fix is kept as: (kind, local id).
fn cross_reference(accept: &Accept, field: Option<&str>) -> (String, String) {
    match accept.kind.as_str() {
        CUSTOMER => (CUSTOMER_LINK.to_string(), accept.from.clone()),
        _ => (
            SUBSTITUTE_KIND.to_string(),
            substitute_key(field.unwrap_or("ITNO"), &accept.from),
        ),
    }
}

/// Who accepts a fix, for the audit: the token's id, the surface's name ("admin API") and the
/// audit step it writes under ("admin-api").
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub token: &'a str,
    pub via: &'a str,
    pub step: &'a str,
}

/// Accepts one suggestion for a held quote: records it, audits it with who chose it and
/// releases the hold. Accepting again what was accepted already answers the same and changes
/// nothing.
pub async fn accept(
    ctx: &Context,
    lookups: &dyn Lookups,
    tenant: &str,
    quote: &str,
    accept: &Accept,
    by: Actor<'_>,
) -> Result<Accepted, FixError> {
    ctx.tenant(tenant)?;
    if accept.kind != ITEM && accept.kind != CUSTOMER {
        return Err(FixError::NotForThisHold(format!(
            "kind {:?}: item or customer",
            accept.kind
        )));
    }
    let store = ctx.open_store().await?;
    let job = journeys::trace(ctx, tenant, quote).await?.job;
    if job.state != JobState::Held {
        return again(&*store, tenant, &job, accept).await;
    }
    let lookup = lookups.open(ctx, tenant).await?;
    let problems = problems(&job, lookup.as_ref()).await?;
    let problem = problems
        .iter()
        .find(|p| p.kind == accept.kind && p.from == accept.from)
        .ok_or_else(|| {
            FixError::NotForThisHold(format!(
                "quote {} is not held for {} {:?}",
                job.key, accept.kind, accept.from
            ))
        })?;
    if !problem.suggestions.iter().any(|s| s.id == accept.to) {
        return Err(FixError::NotForThisHold(format!(
            "{:?} is not a suggestion for {} {:?}",
            accept.to, accept.kind, accept.from
        )));
    }
    let (xkind, local) = cross_reference(accept, problem.field.as_deref());
    store
        .put_link(tenant, &xkind, &local, &accept.to, None)
        .await?;
    let target = format!(
        "{} {} -> {} ({xkind} {local})",
        accept.kind, accept.from, accept.to
    );
    store
        .audit(
            tenant,
            KIND,
            &job.key,
            by.step,
            &format!("hold.fix {target} by token {} ({})", by.token, by.via),
            &json!({"token": by.token, "action": "hold.fix", "target": target,
                "kind": accept.kind, "from": accept.from, "to": accept.to}),
        )
        .await?;
    let job = journeys::release(ctx, tenant, &job.key, false).await?;
    Ok(Accepted {
        kind: accept.kind.clone(),
        from: accept.from.clone(),
        to: accept.to.clone(),
        cross_reference_kind: xkind,
        cross_reference_id: local,
        released: true,
        status: job.state.as_str().to_string(),
    })
}

/// The run is not held (any more): the same fix accepted before is answered again; anything
/// else is a conflict.
async fn again(
    store: &dyn Store,
    tenant: &str,
    job: &Job,
    accept: &Accept,
) -> Result<Accepted, FixError> {
    let (xkind, local) = cross_reference(accept, None);
    let link = store.link(tenant, &xkind, &local).await?;
    if link.is_some_and(|l| l.remote_id == accept.to) {
        return Ok(Accepted {
            kind: accept.kind.clone(),
            from: accept.from.clone(),
            to: accept.to.clone(),
            cross_reference_kind: xkind,
            cross_reference_id: local,
            released: false,
            status: job.state.as_str().to_string(),
        });
    }
    Err(ServiceError::QuoteNotHeld {
        tenant: tenant.to_string(),
        quote: job.key.clone(),
        state: job.state.as_str().to_string(),
    }
    .into())
}

#[cfg(test)]
#[path = "fixes_tests.rs"]
pub(crate) mod tests;
