//! Quote to sales order, exactly once. Each step is checkpointed; each external write is
//! bracketed by an intent (before) and a fenced commit (after). A job resumed with an intent
//! still recorded is *in doubt* and reads the ERP back before writing again.
//!
//! Steps: received → fetched → customer → mapped → validated → head → lines → confirmed →
//! written-back.
//!
//! Ferry's vocabulary (not a vendor's) that mappings provide:
//! - kind `quote-to-customer`: the quote's customer as an ERP customer document; its `id` is
//!   the quoting system's customer key, and fields `match:email` / `match:name` (removed
//!   before a create) say how to find it in the ERP.
//! - kind `quote-to-order`: the order in the ERP's fields; its `id` is the idempotency
//!   reference (the ERP stores it on the order, e.g. M3's CUOR).

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use ferry_domain::{Context, Document, Issue, MatchCriteria, OrderReceipt, RoleFailure, Severity};

use super::{OverCreditLimit, StepError, Tenant, now_ms, outcome_for};
use crate::calls::StepCalls;
use ferry_store::{Claim, LinkRef, Outcome, Store};

pub const KIND: &str = "quote-to-order";

pub use credit::CREDIT_FIELD;
pub use substitutes::{SUBSTITUTE_KIND, substitute_key};

mod calls;
mod credit;
mod substitutes;

/// Lines sent per `add-order-lines` call; progress is committed after each, so a fault costs
/// at most one chunk.
const LINES_PER_CALL: usize = 10;

/// What a job has got so far. Stored as JSON in domain types only (never the contract's
/// generated ones), so a contract change leaves in-flight jobs readable; checkpoints written
/// before the domain types existed read the same (`testdata/checkpoint-before-domain.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub quote_id: String,
    #[serde(default)]
    pub event: Option<Json>,
    #[serde(default)]
    pub quote: Option<Document>,
    #[serde(default)]
    pub customer: Option<String>,
    #[serde(default)]
    pub order: Option<Document>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub draft: Option<String>,
    #[serde(default)]
    pub receipt: Option<OrderReceipt>,
    /// How many of the order's lines the ERP holds (committed after each chunk).
    #[serde(default)]
    pub lines_added: usize,
    /// The job's attempt count when a step last made progress: retries are counted from
    /// there, so a big order that keeps moving is never given up on for the attempts its
    /// earlier steps used.
    #[serde(default)]
    pub progress_at_attempt: i64,
    /// Sent past the customer's credit limit (policy `send-and-flag`): the ERP's figures.
    #[serde(default)]
    pub credit_flag: Option<String>,
    /// The ERP stopped the order for credit at confirm; the job waits for its release.
    #[serde(default)]
    pub credit_stopped: bool,
}

impl Checkpoint {
    pub fn new(quote_id: &str, event: Option<Json>) -> Self {
        Self {
            quote_id: quote_id.to_string(),
            event,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Received,
    Fetched,
    Customer,
    Mapped,
    Validated,
    Head,
    Lines,
    Confirmed,
    WrittenBack,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::Received => "received",
            Step::Fetched => "fetched",
            Step::Customer => "customer",
            Step::Mapped => "mapped",
            Step::Validated => "validated",
            Step::Head => "head",
            Step::Lines => "lines",
            Step::Confirmed => "confirmed",
            Step::WrittenBack => "written-back",
        }
    }

    fn parse(s: &str) -> Step {
        [
            Step::Fetched,
            Step::Customer,
            Step::Mapped,
            Step::Validated,
            Step::Head,
            Step::Lines,
            Step::Confirmed,
            Step::WrittenBack,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .unwrap_or(Step::Received)
    }
}

/// Runs a claimed job as far as it goes; the outcome says how it ends this time.
pub async fn run(env: &Tenant, store: &dyn Store, claim: &Claim) -> Outcome {
    let cp: Checkpoint = match serde_json::from_value(claim.job.checkpoint.clone()) {
        Ok(cp) => cp,
        Err(e) => {
            return Outcome::Dead {
                error: format!("unreadable checkpoint: {e}"),
            };
        }
    };
    let mut run = Run {
        env,
        store,
        claim,
        cp,
        in_doubt: false,
        calls: StepCalls::new(),
        trying: Step::parse(&claim.job.step).next(),
    };
    let journal = run.calls.journal().keyed(&claim.job.key);
    match journal.scope(drive(&mut run)).await {
        Ok(()) => Outcome::Done,
        Err(e) => {
            run.log_calls(run.trying, Some(&e.to_string())).await;
            outcome_for(&e, run.attempt(), &env.retry, now_ms())
        }
    }
}

struct Run<'a> {
    env: &'a Tenant,
    store: &'a dyn Store,
    claim: &'a Claim,
    cp: Checkpoint,
    in_doubt: bool,
    /// Receives the plugin calls made while the run works (`calls.rs` writes them out).
    calls: StepCalls,
    /// The step being worked towards.
    trying: Step,
}

async fn drive(run: &mut Run<'_>) -> Result<(), StepError> {
    let (env, store, claim) = (run.env, run.store, run.claim);
    let mut step = Step::parse(&claim.job.step);
    // An external write started and its result was never recorded: read back, don't guess.
    match claim.job.intent.as_deref() {
        Some("create-customer") => step = Step::Fetched,
        Some("head" | "lines" | "confirm") => {
            run.in_doubt = true;
            step = Step::Validated;
            store
                .audit(
                    &env.name,
                    KIND,
                    &claim.job.key,
                    "in-doubt",
                    "an order write was interrupted; reading the ERP back before writing again",
                    &Json::Null,
                )
                .await?;
        }
        _ => {}
    }
    loop {
        run.trying = step.next();
        step = match step {
            Step::Received => run.fetch().await?,
            Step::Fetched => run.resolve_customer().await?,
            Step::Customer => run.map_order().await?,
            Step::Mapped => run.validate().await?,
            Step::Validated => run.create_head().await?,
            Step::Head => run.add_lines().await?,
            Step::Lines => run.confirm().await?,
            Step::Confirmed => run.write_back().await?,
            Step::WrittenBack => return Ok(()),
        };
    }
}

impl Run<'_> {
    /// This attempt's number since the job last made progress (1 = first try of this step).
    fn attempt(&self) -> u32 {
        let since = self
            .claim
            .job
            .attempts
            .saturating_sub(self.cp.progress_at_attempt)
            .max(1);
        u32::try_from(since).unwrap_or(u32::MAX)
    }

    async fn commit(
        &mut self,
        step: Step,
        message: &str,
        xref: Option<(&str, &str, &str)>,
    ) -> Result<Step, StepError> {
        let link = xref.map(|(kind, local_id, remote_id)| LinkRef {
            kind,
            local_id,
            remote_id,
        });
        // Progress: this attempt's failures from here on count as a fresh step's.
        self.cp.progress_at_attempt = self.claim.job.attempts.saturating_sub(1);
        let cp = serde_json::to_value(&self.cp)
            .map_err(|e| StepError::Fatal(format!("checkpoint: {e}")))?;
        self.store
            .commit_step(self.claim, step.as_str(), &cp, message, link)
            .await?;
        self.log_calls(step, None).await;
        Ok(step)
    }

    /// The remote id a `kind` link of this tenant points `local_id` at, if any.
    async fn xref(&self, kind: &str, local_id: &str) -> Result<Option<String>, StepError> {
        let link = self.store.link(&self.env.name, kind, local_id).await?;
        Ok(link.map(|l| l.remote_id))
    }

    fn need<'c, T>(value: &'c Option<T>, what: &str) -> Result<&'c T, StepError> {
        value
            .as_ref()
            .ok_or_else(|| StepError::Fatal(format!("checkpoint lacks the {what}")))
    }

    fn context(&self) -> Context {
        let mut ids = vec![("quote".to_string(), self.cp.quote_id.clone())];
        if let Some(c) = &self.cp.customer {
            ids.push(("customer".to_string(), c.clone()));
        }
        Context {
            tenant: self.env.name.clone(),
            settings: self.env.transform_settings.clone(),
            ids,
        }
    }

    async fn map(&self, kind: &str, input: &Document) -> Result<Document, StepError> {
        let context = self.context();
        let mapped = self
            .env
            .roles
            .transform
            .map_document(kind, input, &context)
            .await?;
        match mapped {
            Ok(mapped) => {
                if !mapped.warnings.is_empty() {
                    self.store
                        .audit(
                            &self.env.name,
                            KIND,
                            &self.claim.job.key,
                            kind,
                            &format!("mapping warnings: {}", issues(&mapped.warnings)),
                            &Json::Null,
                        )
                        .await?;
                }
                Ok(mapped.document)
            }
            Err(found) => Err(StepError::Hold(format!(
                "mapping {kind}: {}",
                issues(&found)
            ))),
        }
    }

    async fn fetch(&mut self) -> Result<Step, StepError> {
        let id = self.cp.quote_id.clone();
        let quote = self.env.roles.quoting.get_quote(&id).await?;
        self.cp.quote = Some(quote);
        self.commit(Step::Fetched, "quote fetched", None).await
    }

    async fn resolve_customer(&mut self) -> Result<Step, StepError> {
        let quote = Self::need(&self.cp.quote, "quote")?.clone();
        let mut customer = self.map("quote-to-customer", &quote).await?;
        let key = customer.id.clone().ok_or_else(|| {
            StepError::Fatal(
                "the quote-to-customer mapping must set the document id (the quoting system's customer key)"
                    .into(),
            )
        })?;
        if let Some(id) = self.xref("customer", &key).await? {
            self.cp.customer = Some(id.clone());
            return self
                .commit(
                    Step::Customer,
                    &format!("customer {key} is ERP customer {id} (cross-reference)"),
                    None,
                )
                .await;
        }
        let take = |name: &str| {
            customer
                .get(name)
                .and_then(|v| v.as_text())
                .map(str::to_string)
        };
        let email = take("match:email");
        let name = take("match:name");
        let mut found = Vec::new();
        let mut how = "";
        if let Some(email) = &email {
            let criteria = MatchCriteria {
                email: Some(email.clone()),
                ..MatchCriteria::default()
            };
            found = self.env.roles.erp.find_customers(&criteria).await?;
            how = "email";
        }
        if found.is_empty()
            && let Some(name) = &name
        {
            let criteria = MatchCriteria {
                name: Some(name.clone()),
                ..MatchCriteria::default()
            };
            found = self.env.roles.erp.find_customers(&criteria).await?;
            how = "name";
        }
        let who = format!(
            "customer {key} (email {}, name {})",
            email.as_deref().unwrap_or("-"),
            name.as_deref().unwrap_or("-")
        );
        let id = match found.as_slice() {
            [one] => {
                let id = one.id.clone().ok_or_else(|| {
                    StepError::Fatal("the ERP returned a customer without an id".into())
                })?;
                self.cp.customer = Some(id.clone());
                return self
                    .commit(
                        Step::Customer,
                        &format!("{who} matched ERP customer {id} by {how}"),
                        Some(("customer", &key, &id)),
                    )
                    .await;
            }
            [] if self.env.policy.create_customers => {
                customer.fields.retain(|f| !f.name.starts_with("match:"));
                self.store
                    .begin_intent(self.claim, "create-customer")
                    .await?;
                self.env.roles.erp.create_customer(&customer).await?
            }
            [] => {
                return Err(StepError::Hold(format!(
                    "no ERP customer matches {who}, and creating customers is off: create or fix it in the ERP, then release"
                )));
            }
            many => {
                let ids: Vec<&str> = many.iter().filter_map(|d| d.id.as_deref()).collect();
                return Err(StepError::Hold(format!(
                    "{} ERP customers match {who} by {how} ({}): make it unambiguous, then release",
                    many.len(),
                    ids.join(", ")
                )));
            }
        };
        self.cp.customer = Some(id.clone());
        self.commit(
            Step::Customer,
            &format!("{who} created as ERP customer {id}"),
            Some(("customer", &key, &id)),
        )
        .await
    }

    async fn map_order(&mut self) -> Result<Step, StepError> {
        let quote = Self::need(&self.cp.quote, "quote")?.clone();
        let order = self.map("quote-to-order", &quote).await?;
        let reference = order.id.clone().ok_or_else(|| {
            StepError::Fatal(
                "the quote-to-order mapping must set the order document's id (its idempotency reference)"
                    .into(),
            )
        })?;
        let message = format!(
            "mapped to an order of {} lines, reference {reference}",
            order.lines.len()
        );
        self.cp.order = Some(order);
        self.cp.reference = Some(reference);
        self.commit(Step::Mapped, &message, None).await
    }

    async fn create_head(&mut self) -> Result<Step, StepError> {
        let order = Self::need(&self.cp.order, "order")?.clone();
        let reference = Self::need(&self.cp.reference, "reference")?.clone();
        // One writer per reference: a revision approved with its quote waits here until the
        // other job is through, then finds its order below.
        if !self.store.lock_reference(self.claim, &reference).await? {
            return Err(StepError::Busy(format!(
                "waiting: another job is writing the order with reference {reference}"
            )));
        }
        // Exactly once: the reference is stored on the order, so look before creating.
        let customer = self.cp.customer.clone();
        let existing = self
            .env
            .roles
            .erp
            .find_order(&reference, customer.as_deref())
            .await?;
        if let Some(receipt) = existing {
            let owner = self.xref("order-ref", &reference).await?;
            let ours = match owner.as_deref() {
                Some(q) => q == self.cp.quote_id,
                None => self.in_doubt,
            };
            if !ours {
                return Err(StepError::Hold(format!(
                    "ERP order {} already carries reference {reference}{}: a new revision or a duplicate of a transferred quote; review it",
                    receipt.order_number,
                    owner
                        .map(|q| format!(" (made for quote {q})"))
                        .unwrap_or_default()
                )));
            }
            let number = receipt.order_number.clone();
            self.cp.receipt = Some(receipt);
            return self.commit(
                Step::Confirmed,
                &format!("order {number} already exists for reference {reference}: adopted, not created again"),
                Some(("order-ref", &reference, &self.cp.quote_id.clone())),
            ).await;
        }
        let mut header = order;
        header.lines.clear();
        self.store.begin_intent(self.claim, "head").await?;
        let draft = self.env.roles.erp.begin_order(&header, &reference).await?;
        let message = format!("order head created (draft {draft})");
        self.cp.draft = Some(draft);
        self.commit(Step::Head, &message, None).await
    }

    /// Sends the lines a chunk at a time, each call naming every line up to the chunk's end:
    /// the connector keeps what the ERP already holds (read back) and adds the rest, so a lost
    /// answer neither duplicates a line nor starts the order over.
    async fn add_lines(&mut self) -> Result<Step, StepError> {
        let lines = Self::need(&self.cp.order, "order")?.lines.clone();
        let draft = Self::need(&self.cp.draft, "draft")?.clone();
        let total = lines.len();
        loop {
            let upto = (self.cp.lines_added + LINES_PER_CALL).min(total);
            self.store.begin_intent(self.claim, "lines").await?;
            let chunk = &lines[..upto];
            self.env.roles.erp.add_order_lines(&draft, chunk).await?;
            self.cp.lines_added = upto;
            if upto == total {
                return self
                    .commit(Step::Lines, &format!("{total} lines added"), None)
                    .await;
            }
            self.commit(Step::Head, &format!("{upto} of {total} lines added"), None)
                .await?;
        }
    }

    async fn confirm(&mut self) -> Result<Step, StepError> {
        let draft = Self::need(&self.cp.draft, "draft")?.clone();
        let reference = Self::need(&self.cp.reference, "reference")?.clone();
        self.store.begin_intent(self.claim, "confirm").await?;
        let flag = self.env.policy.over_credit_limit == OverCreditLimit::SendAndFlag;
        let receipt = match self.env.roles.erp.confirm_order(&draft).await {
            Err(RoleFailure::Error(e)) if flag && credit::credit_finding(&e).is_some() => {
                return self.await_credit_release(&e).await;
            }
            other => other?,
        };
        let mut message = format!(
            "confirmed: ERP order {} (status {})",
            receipt.order_number, receipt.status
        );
        if self.cp.credit_stopped {
            // The ERP's credit department released it: that was the review the flag asked for.
            self.cp.credit_stopped = false;
            self.cp.credit_flag = None;
            message.push_str(" after the ERP's credit stop was released");
        }
        self.cp.receipt = Some(receipt);
        let quote_id = self.cp.quote_id.clone();
        self.commit(
            Step::Confirmed,
            &message,
            Some(("order-ref", &reference, &quote_id)),
        )
        .await
    }

    async fn write_back(&mut self) -> Result<Step, StepError> {
        let receipt = Self::need(&self.cp.receipt, "receipt")?.clone();
        let number = receipt.order_number;
        let id = self.cp.quote_id.clone();
        let policy = &self.env.policy;
        let status = match (&self.cp.credit_flag, &policy.credit_flag_status) {
            (Some(_), Some(flagged)) => Some(flagged.clone()),
            _ => policy.transferred_status.clone(),
        };
        self.env
            .roles
            .quoting
            .mark_transferred(&id, &number, status.as_deref())
            .await?;
        // Before the commit: a crash in between repeats this idempotent upsert, which keeps a
        // status already pushed back since (a repeat must not make it look unpushed).
        let link = super::status::ORDER_LINK;
        let known = self.store.link(&self.env.name, link, &id).await?;
        let state = match known.and_then(|l| l.state) {
            Some(_) => None,
            None => Some(receipt.status.as_str()),
        };
        self.store
            .put_link(&self.env.name, link, &id, &number, state)
            .await?;
        self.commit(
            Step::WrittenBack,
            &format!("order number {number} written back to the quote"),
            None,
        )
        .await
    }
}

fn issues(found: &[Issue]) -> String {
    found
        .iter()
        .map(|i| {
            let at = match i.line {
                Some(l) => format!("lines[{l}].{}", i.field),
                None => i.field.clone(),
            };
            let sev = if i.severity == Severity::Warning {
                " (warning)"
            } else {
                ""
            };
            match &i.rule {
                Some(rule) => format!("{at}: {}{sev} [rule {rule}]", i.message),
                None => format!("{at}: {}{sev}", i.message),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
