//! What a tenant decides about quote -> order: when a quote is ready, whether customers are
//! created, what is written back, how order status is named and polled.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The tenant's policy for quote -> order.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuoteToOrderPolicy {
    /// The quoting status that means "send to the ERP" (match the connector's setting). A
    /// webhook for another status is stored but starts nothing. None: every event starts one.
    pub ready_status: Option<String>,
    /// Poll the quoting system for ready quotes this often (catches missed webhooks); 0 = off.
    pub poll_interval_secs: u64,
    /// Create an ERP customer from the mapping when none matches; else hold for review.
    pub create_customers: bool,
    /// Status written to the quote with the order number (None: the connector's setting).
    pub transferred_status: Option<String>,
    /// Poll ERP order status for push-back this often; 0 = off (ION events still push).
    pub status_poll_secs: u64,
    /// The quote status to write for each ERP order status (unlisted: "ERP status N").
    pub status_names: BTreeMap<String, String>,
    /// ERP statuses after which an order is no longer polled.
    pub final_statuses: Vec<String>,
    /// The ERP status at which an order is invoiced: reaching it writes the invoice number and
    /// date onto the quote. Empty: off.
    #[serde(deserialize_with = "empty_is_none")]
    pub invoiced_status: Option<String>,
    /// What to do with an order the ERP's check finds past the customer's credit limit.
    pub over_credit_limit: OverCreditLimit,
    /// With `send-and-flag`: the status written to the quote (with the order number) instead
    /// of `transferred_status`, so the rep sees the flag in QuoteWerks. None: the usual one.
    pub credit_flag_status: Option<String>,
    /// With `send-and-flag`: how often an order the ERP stopped for credit is confirmed again
    /// (each look is two entries in the quote's trail).
    pub credit_recheck_secs: u64,
    /// Keys that moved to `[tenants.T.host]`: accepted by the parser only so that the
    /// config's validation can say where they went (hidden: not policy).
    #[serde(rename = "ion_token_secret")]
    #[doc(hidden)]
    pub moved_ion_token_secret: Option<IgnoredAny>,
    #[serde(rename = "webhook_secret")]
    #[doc(hidden)]
    pub moved_webhook_secret: Option<IgnoredAny>,
    #[serde(rename = "webhook_header")]
    #[doc(hidden)]
    pub moved_webhook_header: Option<IgnoredAny>,
}

impl Default for QuoteToOrderPolicy {
    fn default() -> Self {
        Self {
            ready_status: None,
            poll_interval_secs: 60,
            create_customers: false,
            transferred_status: None,
            status_poll_secs: 0,
            status_names: BTreeMap::new(),
            // M3's last order statuses: invoiced, and deleted/cancelled. Tenants may differ.
            final_statuses: vec!["77".into(), "90".into(), "99".into()],
            // M3's "invoiced".
            invoiced_status: Some("77".into()),
            over_credit_limit: OverCreditLimit::Hold,
            credit_flag_status: None,
            credit_recheck_secs: 300,
            moved_ion_token_secret: None,
            moved_webhook_secret: None,
            moved_webhook_header: None,
        }
    }
}

/// `over_credit_limit = "hold" | "send-and-flag"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverCreditLimit {
    /// Held with the figures before anything is written; checked again on release.
    #[default]
    Hold,
    /// Sent all the same; the quote's trail (and, with `credit_flag_status`, its status)
    /// carries the figures for the credit desk.
    SendAndFlag,
}

/// `invoiced_status = ""` turns the invoice write-back off.
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    let s = s.trim();
    Ok((!s.is_empty()).then(|| s.to_string()))
}
