//! Customers kept as one record in QuoteWerks and M3 (`ferry sync customers`).
//!
//! A run reads the QuoteWerks customers changed since its cursor, then the M3 customers
//! changed since its own. A QuoteWerks customer not linked yet is matched in M3 (the
//! cross-reference field, then e-mail, then the company name compared by
//! [`company_key`](ferry_domain::names::company_key)): none → a new M3 customer; one → linked;
//! several → held with the candidates listed, never a guess. A linked pair is merged field by
//! field against what Ferry last synced (the link's state): a field one side changed goes to
//! the other; a field both changed is a conflict settled by the tenant's per-field policy and
//! recorded (both values, the decision) in the report and the audit trail.
//!
//! Echo suppression: after writing, Ferry keeps a content hash of each side's record as it
//! reads back; a customer whose record hashes the same is skipped, so Ferry's own write is
//! never synced back (no ping-pong) and a second run writes nothing.
//!
//! Durability: links, hashes and cursors are in the store and each customer is finished
//! before the next; a run that stops (fault, kill) is run again and skips what is done.
//! Creation is not idempotent in M3, so the match always runs first: a customer created by a
//! run that died before it linked it is found (by e-mail or name) and linked, not made twice.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::RoleResult;
use ferry_domain::names::company_key;
use ferry_domain::{Document, DocumentPage, ErrorClass, MatchCriteria, PageRequest, RoleFailure};
use serde::{Deserialize, Serialize};
use serde_json::json;

use ferry_store::{Store, StoreError};

/// M3 customer changes (BODs) as durable, ordered jobs.
#[path = "customers_job.rs"]
pub mod job;
#[path = "customers_merge.rs"]
pub mod merge;
#[path = "customers_policy.rs"]
mod policy;

pub use merge::{Conflict, Record, Side};
use merge::{Stamps, document, hash, record, stamp};
pub use policy::{CustomerPolicy, FieldMap, Resolution};

/// The store's cross-reference kind: QuoteWerks customer id → M3 customer number, with the
/// last synced record (JSON) as its state.
pub const LINK_KIND: &str = "customer";
/// Content-hash kinds: each side's record as Ferry last saw or wrote it.
const HASH_M3: &str = "customer-m3";
const HASH_QUOTEWERKS: &str = "customer-quotewerks";
/// Cursor streams: the start of the last finished run, per side.
pub const CURSOR_M3: &str = "customers.m3-changed";
pub const CURSOR_QUOTEWERKS: &str = "customers.quotewerks-changed";
/// The audit kind and the key a run's own entries go under.
pub const KIND: &str = "customer-sync";
/// The schedule's name in the store's slot leases.
pub const SCHEDULE: &str = KIND;
/// The lower bound of a first (or `--full`) run.
const BEGINNING: &str = "1970-01-01T00:00:00Z";

/// The ERP's customer calls (`ferry:erp`'s customers section).
#[async_trait]
pub trait ErpCustomers: Send + Sync {
    async fn get_customer(&self, id: &str) -> RoleResult<Document>;
    async fn find_customers(&self, criteria: &MatchCriteria) -> RoleResult<Vec<Document>>;
    /// Not idempotent (see the module's note on creation).
    async fn create_customer(&self, customer: &Document) -> RoleResult<String>;
    async fn update_customer(&self, id: &str, changes: &Document) -> RoleResult<()>;
    async fn list_customers_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage>;
}

/// The quoting system's customer calls (`ferry:quoting`'s customers section).
#[async_trait]
pub trait QuotingCustomers: Send + Sync {
    async fn get_customer(&self, id: &str) -> RoleResult<Document>;
    /// Inserts or updates by the document's id (the contact and its open documents).
    async fn upsert_customer(&self, customer: &Document) -> RoleResult<String>;
    async fn list_customers_changed(
        &self,
        since: &str,
        page: &PageRequest,
    ) -> RoleResult<DocumentPage>;
}

/// Both sides, as a run gets them.
#[derive(Clone)]
pub struct CustomerRoles {
    pub erp: Arc<dyn ErpCustomers>,
    pub quoting: Arc<dyn QuotingCustomers>,
}

/// How a run is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Every customer, not only those changed since the cursors.
    pub full: bool,
    /// Changed since this date instead of the cursors (which then stay where they are).
    pub since: Option<String>,
    /// Write nothing (no customer, link, hash, cursor or audit entry): report what would change.
    pub dry_run: bool,
}

/// A QuoteWerks customer held for a person: why, and the M3 customers it could be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub quotewerks_id: String,
    pub name: String,
    pub reason: String,
    /// Candidates as "CUNO name".
    pub candidates: Vec<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerReport {
    pub read_quotewerks: u64,
    pub read_m3: u64,
    /// M3 customers created.
    pub inserted: u64,
    /// Writes to an existing customer (M3 ChgBasicData or a QuoteWerks upsert), each counted.
    pub updated: u64,
    pub updated_m3: u64,
    pub updated_quotewerks: u64,
    /// QuoteWerks customers linked to an M3 customer found by match.
    pub linked: u64,
    pub unchanged: u64,
    pub held: u64,
    pub failed: u64,
    /// M3 customers changed that no QuoteWerks customer is linked to (left alone).
    pub not_linked: u64,
    pub conflicts: Vec<Conflict>,
    pub holds: Vec<Held>,
    /// Failures, as "id: message".
    pub failures: Vec<String>,
    /// A dry run's writes, as "side id: fields".
    pub would_write: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A role call failed in a way a later run may get past (transient, rate-limited, a
    /// stopped call): the run stops, its cursors stay, the next run resumes.
    #[error("{0}")]
    Role(RoleFailure),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs the sync once for `tenant`.
pub async fn sync(
    tenant: &str,
    roles: &CustomerRoles,
    store: &dyn Store,
    policy: &CustomerPolicy,
    options: &RunOptions,
) -> Result<CustomerReport, SyncError> {
    let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let run = Run {
        tenant,
        roles,
        store,
        policy,
        dry_run: options.dry_run,
    };
    let mut report = CustomerReport::default();
    let since = |cursor: Option<String>| {
        options
            .since
            .clone()
            .or(if options.full { None } else { cursor })
            .unwrap_or_else(|| BEGINNING.to_string())
    };
    let page_size = policy.page_size.clamp(1, 1000);
    // QuoteWerks → M3 (with M3's side of each linked pair merged in).
    let from = since(store.cursor(tenant, CURSOR_QUOTEWERKS).await?);
    let mut cursor = None;
    loop {
        let request = PageRequest {
            cursor: cursor.clone(),
            limit: page_size,
        };
        let page = roles
            .quoting
            .list_customers_changed(&from, &request)
            .await
            .map_err(SyncError::Role)?;
        for doc in &page.documents {
            report.read_quotewerks += 1;
            run.quotewerks_customer(doc, &mut report).await?;
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    // M3 → QuoteWerks.
    let from = since(store.cursor(tenant, CURSOR_M3).await?);
    let mut cursor = None;
    loop {
        let request = PageRequest {
            cursor: cursor.clone(),
            limit: page_size,
        };
        let page = roles
            .erp
            .list_customers_changed(&from, &request)
            .await
            .map_err(SyncError::Role)?;
        for doc in &page.documents {
            report.read_m3 += 1;
            run.m3_customer(doc, &mut report).await?;
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    if !options.dry_run && options.since.is_none() {
        store
            .set_cursor(tenant, CURSOR_QUOTEWERKS, &started)
            .await?;
        store.set_cursor(tenant, CURSOR_M3, &started).await?;
    }
    report.updated = report.updated_m3 + report.updated_quotewerks;
    if !options.dry_run {
        let summary = json!({
            "inserted": report.inserted, "updated": report.updated, "linked": report.linked,
            "unchanged": report.unchanged, "held": report.held, "failed": report.failed,
            "conflicts": report.conflicts.len(),
        });
        store
            .audit(
                tenant,
                KIND,
                KIND,
                "synced",
                &format!("customer sync: {summary}"),
                &summary,
            )
            .await?;
    }
    Ok(report)
}

/// One M3 customer changed (a SyncCustomerPartyMaster BOD names it): read it from M3 and carry
/// it to the QuoteWerks customers linked to it, as a run's M3 side would (policy, conflicts,
/// echo suppression); the cursors stay where they are. A customer no one is linked to is left
/// alone (`not_linked`).
pub async fn m3_changed(
    tenant: &str,
    roles: &CustomerRoles,
    store: &dyn Store,
    policy: &CustomerPolicy,
    cuno: &str,
) -> Result<CustomerReport, SyncError> {
    let doc = roles
        .erp
        .get_customer(cuno)
        .await
        .map_err(SyncError::Role)?;
    m3_read(tenant, roles, store, policy, &doc).await
}

/// As [`m3_changed`], for the M3 customer as just read (`doc`).
pub async fn m3_read(
    tenant: &str,
    roles: &CustomerRoles,
    store: &dyn Store,
    policy: &CustomerPolicy,
    doc: &Document,
) -> Result<CustomerReport, SyncError> {
    let run = Run {
        tenant,
        roles,
        store,
        policy,
        dry_run: false,
    };
    let mut report = CustomerReport::default();
    report.read_m3 += 1;
    run.m3_customer(doc, &mut report).await?;
    report.updated = report.updated_m3 + report.updated_quotewerks;
    Ok(report)
}

/// One run's context.
struct Run<'a> {
    tenant: &'a str,
    roles: &'a CustomerRoles,
    store: &'a dyn Store,
    policy: &'a CustomerPolicy,
    dry_run: bool,
}

/// Whether a role's failure concerns this customer only (its data: record it, go on) rather
/// than the run (an outage: stop, so nothing is skipped).
fn customer_level(e: &RoleFailure) -> bool {
    matches!(
        e,
        RoleFailure::Error(err) if matches!(
            err.class,
            ErrorClass::Invalid | ErrorClass::Conflict | ErrorClass::NotFound
        )
    )
}

/// The M3 side's hash is kept per link (M3 customer, QuoteWerks customer).
fn m3_hash_key(cuno: &str, quotewerks_id: &str) -> String {
    format!("{cuno}|{quotewerks_id}")
}

fn audit_key(quotewerks_id: &str) -> String {
    format!("customer:{quotewerks_id}")
}

impl Run<'_> {
    async fn quotewerks_customer(
        &self,
        doc: &Document,
        report: &mut CustomerReport,
    ) -> Result<(), SyncError> {
        let Some(qid) = doc.id.clone().filter(|i| !i.trim().is_empty()) else {
            return Ok(());
        };
        let rec = record(self.policy, Side::Quotewerks, doc);
        let stored = self
            .store
            .content_hash(self.tenant, HASH_QUOTEWERKS, &qid)
            .await?;
        if stored.as_deref() == Some(hash(&rec).as_str()) {
            report.unchanged += 1;
            return Ok(());
        }
        let result = match self.store.link(self.tenant, LINK_KIND, &qid).await? {
            Some(link) => {
                let base: Option<Record> = link
                    .state
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok());
                self.pair(&qid, doc, &link.remote_id, None, base, report)
                    .await
            }
            None => self.unlinked(&qid, doc, &rec, report).await,
        };
        self.settle(&qid, result, report).await
    }

    async fn m3_customer(
        &self,
        doc: &Document,
        report: &mut CustomerReport,
    ) -> Result<(), SyncError> {
        let Some(cuno) = doc.id.clone().filter(|i| !i.trim().is_empty()) else {
            return Ok(());
        };
        let rec = hash(&record(self.policy, Side::M3, doc));
        let links = self
            .store
            .links_by_remote(self.tenant, LINK_KIND, &cuno)
            .await?;
        if links.is_empty() {
            report.not_linked += 1;
            return Ok(());
        }
        for link in links {
            // Per link: one M3 customer may be several QuoteWerks contacts, each synced apart.
            let key = m3_hash_key(&cuno, &link.local_id);
            let stored = self.store.content_hash(self.tenant, HASH_M3, &key).await?;
            if stored.as_deref() == Some(rec.as_str()) {
                report.unchanged += 1;
                continue;
            }
            let base: Option<Record> = link
                .state
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok());
            let qid = link.local_id.clone();
            let result = match self.roles.quoting.get_customer(&qid).await {
                Ok(qdoc) => self.pair(&qid, &qdoc, &cuno, Some(doc), base, report).await,
                Err(e) => Err(e),
            };
            self.settle(&qid, result, report).await?;
        }
        Ok(())
    }

    /// Counts a customer's failure, or stops the run on an outage.
    async fn settle(
        &self,
        qid: &str,
        result: RoleResult<()>,
        report: &mut CustomerReport,
    ) -> Result<(), SyncError> {
        match result {
            Ok(()) => Ok(()),
            Err(e) if customer_level(&e) => {
                report.failed += 1;
                report.failures.push(format!("{qid}: {e}"));
                if !self.dry_run {
                    self.store
                        .audit(
                            self.tenant,
                            KIND,
                            &audit_key(qid),
                            "failed",
                            &format!("customer {qid} not synced: {e}"),
                            &json!({ "quotewerks": qid }),
                        )
                        .await?;
                }
                Ok(())
            }
            Err(e) => Err(SyncError::Role(e)),
        }
    }

    /// A QuoteWerks customer with no link: match it in M3, then link it or create it.
    async fn unlinked(
        &self,
        qid: &str,
        doc: &Document,
        rec: &Record,
        report: &mut CustomerReport,
    ) -> RoleResult<()> {
        let name = rec.get("NAME").cloned().unwrap_or_default();
        let candidates = self.candidates(doc, rec).await?;
        match candidates.as_slice() {
            [] if !self.policy.create_in_m3 => {
                self.hold(
                    qid,
                    &name,
                    "no M3 customer matches (creation is off)",
                    &[],
                    report,
                )
                .await
            }
            [] => {
                if self.dry_run {
                    report.inserted += 1;
                    report.would_write.push(format!("m3 new: {name}"));
                    return Ok(());
                }
                let new = document(self.policy, Side::M3, None, rec);
                let cuno = self.roles.erp.create_customer(&new).await?;
                report.inserted += 1;
                self.audit(
                    qid,
                    "created",
                    &format!("M3 customer {cuno} created for {name}"),
                )
                .await;
                self.linked(qid, doc, &cuno, rec, report).await
            }
            [one] => {
                let cuno = one.id.clone().unwrap_or_default();
                report.linked += 1;
                if self.dry_run {
                    report.would_write.push(format!("link {qid} -> {cuno}"));
                    return Ok(());
                }
                self.audit(qid, "linked", &format!("linked to M3 customer {cuno}"))
                    .await;
                self.pair(qid, doc, &cuno, Some(one), None, report).await
            }
            several => {
                let listed: Vec<String> = several
                    .iter()
                    .map(|d| {
                        let n = merge::text(d, &self.m3_name_field());
                        format!("{} {n}", d.id.clone().unwrap_or_default())
                    })
                    .collect();
                self.hold(qid, &name, "several M3 customers match", &listed, report)
                    .await
            }
        }
    }

    fn m3_name_field(&self) -> String {
        self.policy
            .fields
            .iter()
            .find(|f| f.name == "NAME")
            .map_or_else(|| "CUNM".into(), |f| f.m3.clone())
    }

    /// M3 customers this QuoteWerks customer may be: by cross-reference, else by e-mail, else
    /// by company name (compared in [`company_key`] form).
    async fn candidates(&self, doc: &Document, rec: &Record) -> RoleResult<Vec<Document>> {
        let erp = &self.roles.erp;
        if let Some(xref) = self
            .policy
            .quotewerks_xref_field
            .as_deref()
            .map(|f| merge::text(doc, f))
            .filter(|x| !x.is_empty())
        {
            match erp.get_customer(&xref).await {
                Ok(found) => return Ok(vec![found]),
                Err(RoleFailure::Error(e)) if e.class == ErrorClass::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(email) = rec.get("EMAIL").filter(|e| !e.is_empty()) {
            let found = erp
                .find_customers(&MatchCriteria {
                    email: Some(email.clone()),
                    ..Default::default()
                })
                .await?;
            if !found.is_empty() {
                return Ok(dedup(found));
            }
        }
        let name = rec.get("NAME").cloned().unwrap_or_default();
        let key = company_key(&name);
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let found = erp
            .find_customers(&MatchCriteria {
                name: Some(name.clone()),
                ..Default::default()
            })
            .await?;
        let name_field = self.m3_name_field();
        Ok(dedup(
            found
                .into_iter()
                .filter(|d| company_key(&merge::text(d, &name_field)) == key)
                .collect(),
        ))
    }

    async fn hold(
        &self,
        qid: &str,
        name: &str,
        reason: &str,
        candidates: &[String],
        report: &mut CustomerReport,
    ) -> RoleResult<()> {
        report.held += 1;
        report.holds.push(Held {
            quotewerks_id: qid.to_string(),
            name: name.to_string(),
            reason: reason.to_string(),
            candidates: candidates.to_vec(),
        });
        if !self.dry_run {
            let message = format!("{name}: {reason}: {}", candidates.join(", "));
            let data = json!({ "quotewerks": qid, "reason": reason, "candidates": candidates });
            let _ = self
                .store
                .audit(self.tenant, KIND, &audit_key(qid), "held", &message, &data)
                .await;
        }
        Ok(())
    }

    async fn audit(&self, qid: &str, step: &str, message: &str) {
        if self.dry_run {
            return;
        }
        if let Err(e) = self
            .store
            .audit(
                self.tenant,
                KIND,
                &audit_key(qid),
                step,
                message,
                &json!({ "quotewerks": qid }),
            )
            .await
        {
            tracing::warn!("customer sync audit: {e}");
        }
    }

    /// A customer just created in M3 from the QuoteWerks record: link it and remember both
    /// sides as synced.
    async fn linked(
        &self,
        qid: &str,
        doc: &Document,
        cuno: &str,
        rec: &Record,
        report: &mut CustomerReport,
    ) -> RoleResult<()> {
        let m3 = self.roles.erp.get_customer(cuno).await?;
        self.write_xref(qid, doc, cuno, report).await?;
        self.remember(qid, cuno, rec, &record(self.policy, Side::M3, &m3), rec)
            .await
    }

    /// Writes the M3 number into the QuoteWerks cross-reference field, when the tenant keeps one.
    async fn write_xref(
        &self,
        qid: &str,
        doc: &Document,
        cuno: &str,
        _report: &mut CustomerReport,
    ) -> RoleResult<()> {
        let Some(field) = &self.policy.quotewerks_xref_field else {
            return Ok(());
        };
        if merge::text(doc, field) == cuno || qid.starts_with("doc:") {
            return Ok(());
        }
        let update = Document {
            kind: "customer".into(),
            id: Some(qid.to_string()),
            fields: vec![ferry_domain::Field::new(
                field,
                ferry_domain::Value::Text(cuno.to_string()),
            )],
            lines: Vec::new(),
        };
        self.roles
            .quoting
            .upsert_customer(&update)
            .await
            .map(|_| ())
    }

    /// Stores the link (with `base` as its state) and both sides' hashes.
    async fn remember(
        &self,
        qid: &str,
        cuno: &str,
        quotewerks: &Record,
        m3: &Record,
        base: &Record,
    ) -> RoleResult<()> {
        let store = |e: StoreError| {
            RoleFailure::from(ferry_domain::RoleError::new(
                ErrorClass::Transient,
                format!("store: {e}"),
            ))
        };
        let state = serde_json::to_string(base).unwrap_or_default();
        let s = self.store;
        s.put_link(self.tenant, LINK_KIND, qid, cuno, Some(&state))
            .await
            .map_err(store)?;
        s.set_content_hash(self.tenant, HASH_QUOTEWERKS, qid, &hash(quotewerks))
            .await
            .map_err(store)?;
        s.set_content_hash(self.tenant, HASH_M3, &m3_hash_key(cuno, qid), &hash(m3))
            .await
            .map_err(store)
    }

    /// Merges a linked (or just matched) pair and writes each side what it lacks.
    async fn pair(
        &self,
        qid: &str,
        qdoc: &Document,
        cuno: &str,
        m3doc: Option<&Document>,
        base: Option<Record>,
        report: &mut CustomerReport,
    ) -> RoleResult<()> {
        let m3doc = match m3doc {
            Some(d) => d.clone(),
            None => self.roles.erp.get_customer(cuno).await?,
        };
        let q = record(self.policy, Side::Quotewerks, qdoc);
        let m = record(self.policy, Side::M3, &m3doc);
        let stamps = Stamps {
            m3: stamp(&merge::text(&m3doc, &self.policy.m3_changed_field)),
            quotewerks: stamp(&merge::text(qdoc, &self.policy.quotewerks_changed_field)),
        };
        let merged = merge::merge(self.policy, (qid, cuno), &q, &m, base.as_ref(), &stamps);
        for c in &merged.conflicts {
            if !self.dry_run {
                let decided = match c.winner {
                    Some(Side::M3) => "M3's value kept",
                    Some(Side::Quotewerks) => "QuoteWerks' value kept",
                    None => "left for review",
                };
                let message = format!(
                    "conflict on {} ({:?}): QuoteWerks {:?}, M3 {:?}: {decided}",
                    c.field, c.policy, c.quotewerks, c.m3
                );
                let data = serde_json::to_value(c).unwrap_or_default();
                let _ = self
                    .store
                    .audit(
                        self.tenant,
                        KIND,
                        &audit_key(qid),
                        "conflict",
                        &message,
                        &data,
                    )
                    .await;
            }
            report.conflicts.push(c.clone());
        }
        if merged.review {
            report.held += 1;
            report.holds.push(Held {
                quotewerks_id: qid.to_string(),
                name: q.get("NAME").cloned().unwrap_or_default(),
                reason: "a conflicting field waits for review".into(),
                candidates: vec![cuno.to_string()],
            });
        }
        let fields = |r: &Record| r.keys().cloned().collect::<Vec<_>>().join(",");
        if self.dry_run {
            if !merged.to_m3.is_empty() {
                report.updated_m3 += 1;
                report
                    .would_write
                    .push(format!("m3 {cuno}: {}", fields(&merged.to_m3)));
            }
            if !merged.to_quotewerks.is_empty() {
                report.updated_quotewerks += 1;
                report.would_write.push(format!(
                    "quotewerks {qid}: {}",
                    fields(&merged.to_quotewerks)
                ));
            }
            return Ok(());
        }
        let mut m_now = m;
        if !merged.to_m3.is_empty() {
            let changes = document(self.policy, Side::M3, Some(cuno), &merged.to_m3);
            self.roles.erp.update_customer(cuno, &changes).await?;
            report.updated_m3 += 1;
            m_now = record(
                self.policy,
                Side::M3,
                &self.roles.erp.get_customer(cuno).await?,
            );
        }
        let mut q_now = q;
        if !merged.to_quotewerks.is_empty() {
            let changes = document(
                self.policy,
                Side::Quotewerks,
                Some(qid),
                &merged.to_quotewerks,
            );
            self.roles.quoting.upsert_customer(&changes).await?;
            report.updated_quotewerks += 1;
            q_now = record(
                self.policy,
                Side::Quotewerks,
                &self.roles.quoting.get_customer(qid).await?,
            );
        }
        if merged.to_m3.is_empty() && merged.to_quotewerks.is_empty() && merged.conflicts.is_empty()
        {
            report.unchanged += 1;
        }
        self.write_xref(qid, qdoc, cuno, report).await?;
        self.remember(qid, cuno, &q_now, &m_now, &merged.base).await
    }
}

/// Candidates once each (a search may list one customer twice).
fn dedup(found: Vec<Document>) -> Vec<Document> {
    let mut seen = std::collections::BTreeSet::new();
    found
        .into_iter()
        .filter(|d| seen.insert(d.id.clone()))
        .collect()
}

#[cfg(test)]
#[path = "customers_fakes.rs"]
mod fakes;

#[cfg(test)]
#[path = "customers_tests.rs"]
mod tests;
