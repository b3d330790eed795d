//! The order against the customer's credit: the ERP's findings on field [`CREDIT_FIELD`]
//! (before any write, from `validate-order`; at confirm, a credit stop) hold the order, or,
//! with the tenant's `over_credit_limit = "send-and-flag"`, send it and flag the quote.

use serde_json::Value as Json;

use ferry_domain::RoleError;

use super::{KIND, Run, Step};
use crate::{OverCreditLimit, StepError, field_errors};

/// The field an ERP connector names for a credit finding (the contract's vocabulary): the
/// tenant's `over_credit_limit` decides whether it holds the order.
pub const CREDIT_FIELD: &str = "credit";

impl Run<'_> {
    pub(super) async fn validate(&mut self) -> Result<Step, StepError> {
        let mut order = Self::need(&self.cp.order, "order")?.clone();
        let mut problems = self.env.roles.erp.validate_order(&order).await?;
        // Values an operator already chose substitutes for are replaced, then checked again.
        if !problems.is_empty() && self.apply_substitutes(&mut order, &problems).await? {
            problems = self.env.roles.erp.validate_order(&order).await?;
            self.cp.order = Some(order);
        }
        let flag = self.env.policy.over_credit_limit == OverCreditLimit::SendAndFlag;
        let (credit, other): (Vec<_>, Vec<_>) = problems
            .into_iter()
            .partition(|p| flag && p.field == CREDIT_FIELD);
        if !other.is_empty() {
            return Err(StepError::Hold(format!(
                "the ERP would refuse this order: {}",
                field_errors(&other)
            )));
        }
        if credit.is_empty() {
            self.cp.credit_flag = None;
            return self
                .commit(Step::Validated, "validated by the ERP", None)
                .await;
        }
        let figures = credit
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        // In the quote's trail at its own step, where the credit desk and the console find it.
        self.store
            .audit(
                &self.env.name,
                KIND,
                &self.claim.job.key,
                "credit-flag",
                &format!(
                    "sent past the credit limit (over_credit_limit = send-and-flag): {figures}"
                ),
                &Json::Null,
            )
            .await?;
        tracing::warn!(tenant = %self.env.name, quote = %self.cp.quote_id, "order sent past the credit limit: {figures}");
        self.cp.credit_flag = Some(figures);
        self.commit(
            Step::Validated,
            "validated by the ERP; flagged for credit",
            None,
        )
        .await
    }

    /// `send-and-flag` and the ERP stopped the order for credit at confirm (M3: batch status
    /// 30): the order is in the ERP, waiting for its credit department. Flag it once (trail,
    /// quote status), then confirm again after each retry interval until the ERP takes it.
    pub(super) async fn await_credit_release(&mut self, e: &RoleError) -> Result<Step, StepError> {
        let figures = credit_finding(e).unwrap_or_default();
        let first = !self.cp.credit_stopped;
        if first {
            self.store
                .audit(
                    &self.env.name,
                    KIND,
                    &self.claim.job.key,
                    "credit-flag",
                    &format!("the ERP stopped the order for credit and holds it for its credit department; Ferry confirms it again until the ERP takes it (over_credit_limit = send-and-flag): {figures}"),
                    &Json::Null,
                )
                .await?;
            tracing::warn!(tenant = %self.env.name, quote = %self.cp.quote_id, "the ERP stopped the order for credit: {figures}");
            if let Some(status) = &self.env.policy.credit_flag_status {
                self.env
                    .roles
                    .quoting
                    .set_status(&self.cp.quote_id, status)
                    .await?;
            }
            self.cp.credit_stopped = true;
            self.cp.credit_flag = Some(figures.clone());
        }
        // The ERP answered (a stop, not a lost answer): clear the intent, so the next look
        // confirms the same draft instead of reading the order back as in doubt.
        let message = if first {
            "credit stop in the ERP: waiting for its release"
        } else {
            "credit stop in the ERP: still waiting for its release"
        };
        self.commit(Step::Lines, message, None).await?;
        let secs = self.env.policy.credit_recheck_secs.max(1);
        Err(StepError::AwaitingErp {
            reason: format!("waiting for the ERP's credit release: {figures}"),
            recheck_ms: i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX / 2),
        })
    }
}

/// The credit finding of an ERP error (its fields named [`CREDIT_FIELD`]), if it has one.
pub(super) fn credit_finding(e: &RoleError) -> Option<String> {
    let found: Vec<&str> = e
        .fields
        .iter()
        .filter(|f| f.field == CREDIT_FIELD)
        .map(|f| f.message.as_str())
        .collect();
    (!found.is_empty()).then(|| found.join("; "))
}
