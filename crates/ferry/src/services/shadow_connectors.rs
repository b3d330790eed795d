//! Shadow runs of a connector (the `erp` or `quoting` role): while a shadow of the role runs,
//! every call the flows make on the live connector is made on the candidate too. The live call
//! goes out as usual with its HTTP exchanges taped (`ferry_runtime::tape`); the candidate gets
//! the same arguments and every request it sends is answered from that tape, never sent. Both
//! answers and both request lists are recorded (`ferry plugin shadow report`): a candidate
//! that would send M3 one field differently shows as a difference in its requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ferry_domain::journal::Journal;
use ferry_domain::{
    Change, Document, Erp, FieldError, InboundWebhook, Invoice, Line, MatchCriteria, OrderReceipt,
    PageRequest, QuoteEvent, QuotePage, Quoting, RoleResult, Roles,
};
use ferry_runtime::tape::Tape;
use ferry_store::{Shadow, ShadowRecord, Store};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::runtime::{Grants, Registry, Role};

/// How long the tenant's running shadows are taken as read: intake parses every webhook through
/// the quoting role, which must not cost a store read each.
const SHADOWS_FRESH: Duration = Duration::from_secs(1);

/// What a tenant's shadowed connectors share: the running shadows as last read, and each
/// role's loaded candidate (loaded once per shadow, not per call).
#[derive(Default, Clone)]
pub struct ConnectorShadows {
    running: Arc<Mutex<Option<ReadAt>>>,
    erp: Arc<Slot<dyn Erp>>,
    quoting: Arc<Slot<dyn Quoting>>,
}

/// The tenant's running shadows, and when they were read.
type ReadAt = (Instant, Vec<Shadow>);

/// A role's loaded candidate, by digest.
type Slot<R> = Mutex<Option<(String, Arc<R>)>>;

/// The live connector of one role, shadowed by the tenant's running shadow of that role.
pub struct Shadowed<R: ?Sized> {
    tenant: String,
    role: Role,
    live: Arc<R>,
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    /// The role's grants as the tenant's config gives them: the candidate is given these
    /// narrowed to its own package's manifest (as `promote` would serve it), marked shadow.
    base: Arc<Grants>,
    shared: ConnectorShadows,
}

impl<R: ?Sized> Shadowed<R> {
    pub fn new(
        tenant: &str,
        role: Role,
        live: Arc<R>,
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        base: Arc<Grants>,
        shared: ConnectorShadows,
    ) -> Self {
        Self {
            tenant: tenant.to_string(),
            role,
            live,
            store,
            registry,
            base,
            shared,
        }
    }

    /// The running shadow of this role, if any (read from the store at most once a second).
    async fn running(&self) -> Option<Shadow> {
        let cached = self.shared.running.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(at, _)| at.elapsed() < SHADOWS_FRESH)
                .map(|(_, s)| s.clone())
        });
        let shadows = match cached {
            Some(shadows) => shadows,
            None => {
                let read = match self.store.shadows(Some(&self.tenant)).await {
                    Ok(read) => read,
                    Err(e) => {
                        tracing::warn!(tenant = %self.tenant, "shadows not read: {e}");
                        return None;
                    }
                };
                let running: Vec<Shadow> =
                    read.into_iter().filter(|s| s.ended_at.is_none()).collect();
                if let Ok(mut cache) = self.shared.running.lock() {
                    *cache = Some((Instant::now(), running.clone()));
                }
                running
            }
        };
        shadows.into_iter().find(|s| s.role == self.role.as_str())
    }

    /// The candidate connector for `digest`, from `slot` or loaded into it.
    async fn candidate(
        &self,
        digest: &str,
        slot: &Slot<R>,
        pick: fn(Roles) -> Arc<R>,
    ) -> Result<Arc<R>, String> {
        if let Ok(loaded) = slot.lock()
            && let Some((d, r)) = loaded.as_ref()
            && d == digest
        {
            return Ok(r.clone());
        }
        let grants =
            super::packages::serving_grants(&self.registry, &self.tenant, digest, &self.base)
                .for_shadow();
        let roles =
            super::shadow_run::load_roles(&self.registry, digest, self.role, Arc::new(grants))
                .await?;
        let candidate = pick(roles);
        if let Ok(mut loaded) = slot.lock() {
            *loaded = Some((digest.to_string(), candidate.clone()));
        }
        Ok(candidate)
    }

    /// Records one compared call; a failure to record is logged, never the flow's.
    async fn record(
        &self,
        shadow: &Shadow,
        kind: String,
        key: String,
        (live, candidate): (Json, Json),
        tape: &Tape,
    ) {
        let live = json!({ "answer": live, "requests": tape.live_requests() });
        let shadow_side = json!({ "answer": candidate, "requests": tape.shadow_requests() });
        let record = ShadowRecord {
            shadow_id: shadow.id,
            kind,
            key: ferry_domain::journal::current_key().unwrap_or(key),
            agree: live == shadow_side,
            live,
            shadow: shadow_side,
            recorded_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        };
        if let Err(e) = self.store.record_shadow(&record).await {
            tracing::warn!(tenant = %self.tenant, kind = %record.kind, "shadow run not recorded: {e}");
        }
    }
}

/// A role call's answer as recorded.
fn answer_json<T: Serialize>(answer: &RoleResult<T>) -> Json {
    match answer {
        Ok(v) => serde_json::to_value(v).unwrap_or(Json::Null),
        Err(e) => json!({ "failed": e.to_string() }),
    }
}

/// What a compared call is recorded as: its name and a digest of its arguments, so the calls
/// of one run that share a name (customer lookups by e-mail then name, line chunks) and the
/// calls outside a run (webhooks, polls) each keep their own comparison; a retry of the same
/// call replaces its earlier one.
fn call_kind(name: &str, args: &impl Serialize) -> String {
    use sha2::Digest;
    let bytes = serde_json::to_vec(args).unwrap_or_default();
    let digest = hex::encode(sha2::Sha256::digest(&bytes));
    format!("{name} {}", &digest[..8])
}

/// Makes one role call on the live connector and, while a shadow runs, on the candidate from
/// the live call's tape; returns the live answer. `|r| r.call(args)` is evaluated twice.
macro_rules! shadowed {
    ($self:ident, $slot:ident, $kind:literal, $key:expr, $args:expr, |$r:ident| $call:expr) => {{
        let Some(running) = $self.running().await else {
            let $r = &$self.live;
            return $call.await;
        };
        let tape = Tape::default();
        let live = {
            let $r = &$self.live;
            tape.record($call).await
        };
        let candidate = match $self
            .candidate(&running.digest, &$self.shared.$slot, |roles| roles.$slot)
            .await
        {
            // In a journal of its own: the candidate's calls are not the run's.
            Ok($r) => answer_json(&Journal::new().scope(tape.replay($call)).await),
            Err(e) => json!({ "failed": format!("loading the candidate: {e}") }),
        };
        $self
            .record(
                &running,
                call_kind($kind, &$args),
                $key,
                (answer_json(&live), candidate),
                &tape,
            )
            .await;
        live
    }};
}

#[async_trait]
impl Erp for Shadowed<dyn Erp> {
    async fn find_customers(&self, criteria: &MatchCriteria) -> RoleResult<Vec<Document>> {
        shadowed!(self, erp, "find-customers", "-".into(), criteria, |r| r
            .find_customers(criteria))
    }

    async fn create_customer(&self, customer: &Document) -> RoleResult<String> {
        let key = customer.id.clone().unwrap_or_else(|| "-".into());
        shadowed!(self, erp, "create-customer", key, customer, |r| r
            .create_customer(customer))
    }

    async fn validate_order(&self, order: &Document) -> RoleResult<Vec<FieldError>> {
        let key = order.id.clone().unwrap_or_else(|| "-".into());
        shadowed!(self, erp, "validate-order", key, order, |r| r
            .validate_order(order))
    }

    async fn find_order(
        &self,
        reference: &str,
        customer: Option<&str>,
    ) -> RoleResult<Option<OrderReceipt>> {
        shadowed!(
            self,
            erp,
            "find-order",
            reference.into(),
            (reference, customer),
            |r| r.find_order(reference, customer)
        )
    }

    async fn begin_order(&self, header: &Document, reference: &str) -> RoleResult<String> {
        shadowed!(
            self,
            erp,
            "begin-order",
            reference.into(),
            (header, reference),
            |r| r.begin_order(header, reference)
        )
    }

    async fn add_order_lines(&self, draft: &str, lines: &[Line]) -> RoleResult<()> {
        shadowed!(
            self,
            erp,
            "add-order-lines",
            draft.into(),
            (draft, lines),
            |r| r.add_order_lines(draft, lines)
        )
    }

    async fn confirm_order(&self, draft: &str) -> RoleResult<OrderReceipt> {
        shadowed!(self, erp, "confirm-order", draft.into(), draft, |r| r
            .confirm_order(draft))
    }

    async fn get_order_status(&self, order_number: &str) -> RoleResult<OrderReceipt> {
        shadowed!(
            self,
            erp,
            "get-order-status",
            order_number.into(),
            order_number,
            |r| r.get_order_status(order_number)
        )
    }

    async fn parse_event(&self, content_type: &str, payload: &[u8]) -> RoleResult<Vec<Change>> {
        shadowed!(
            self,
            erp,
            "parse-event",
            "-".into(),
            (content_type, payload),
            |r| r.parse_event(content_type, payload)
        )
    }

    async fn list_order_invoices(&self, order_number: &str) -> RoleResult<Vec<Invoice>> {
        shadowed!(
            self,
            erp,
            "list-order-invoices",
            order_number.into(),
            order_number,
            |r| r.list_order_invoices(order_number)
        )
    }
}

#[async_trait]
impl Quoting for Shadowed<dyn Quoting> {
    async fn parse_webhook(&self, webhook: &InboundWebhook) -> RoleResult<QuoteEvent> {
        shadowed!(
            self,
            quoting,
            "parse-webhook",
            "-".into(),
            &webhook.body,
            |r| r.parse_webhook(webhook)
        )
    }

    async fn list_ready_quotes(&self, page: &PageRequest) -> RoleResult<QuotePage> {
        shadowed!(self, quoting, "list-ready-quotes", "-".into(), page, |r| r
            .list_ready_quotes(page))
    }

    async fn get_quote(&self, id: &str) -> RoleResult<Document> {
        shadowed!(self, quoting, "get-quote", id.into(), id, |r| r
            .get_quote(id))
    }

    async fn mark_transferred(
        &self,
        id: &str,
        order_number: &str,
        status: Option<&str>,
    ) -> RoleResult<()> {
        shadowed!(
            self,
            quoting,
            "mark-transferred",
            id.into(),
            (id, order_number, status),
            |r| r.mark_transferred(id, order_number, status)
        )
    }

    async fn set_status(&self, id: &str, status: &str) -> RoleResult<()> {
        shadowed!(self, quoting, "set-status", id.into(), (id, status), |r| r
            .set_status(id, status))
    }

    async fn set_invoice(&self, id: &str, number: &str, date: &str) -> RoleResult<()> {
        shadowed!(
            self,
            quoting,
            "set-invoice",
            id.into(),
            (id, number, date),
            |r| r.set_invoice(id, number, date)
        )
    }
}
