//! The stock sync's own part: its policy and how an item's balances become the quoting
//! system's availability. The run itself is [`crate::prices`]' (kind `stock-sync`).

use ferry_domain::Availability;
use ferry_domain::catalog::ItemStock;
use serde::{Deserialize, Serialize};

use super::{StepError, Tenant};
use crate::values::{Pending, Values};

/// What a tenant decides about the stock sync (`[tenants.T.sync.stock]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StockPolicy {
    /// Run this often (`"15m"`); none: only when asked.
    pub every: Option<String>,
    /// Items per page read from the ERP.
    pub page_size: u32,
    /// Items per batched stock call.
    pub batch_size: usize,
    /// The warehouses whose balances count (empty: every one the ERP has).
    pub warehouses: Vec<String>,
    /// Which balance is available: `allocatable` (what can still be promised) or `on-hand`.
    pub quantity: Quantity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quantity {
    #[default]
    Allocatable,
    OnHand,
}

impl Default for StockPolicy {
    fn default() -> Self {
        Self {
            every: None,
            page_size: 500,
            batch_size: 500,
            warehouses: Vec::new(),
            quantity: Quantity::Allocatable,
        }
    }
}

/// The batch's stock, one batched call, as availability a warehouse each. An item stocked in
/// none of the warehouses gets availability 0: "none here" is worth telling a rep.
pub(crate) async fn stock_of(
    env: &Tenant,
    policy: &StockPolicy,
    items: &[String],
) -> Result<Vec<Pending>, StepError> {
    let found = env
        .roles
        .erp_catalog
        .get_stocks(items, &policy.warehouses)
        .await?;
    Ok(pending(policy, found))
}

/// Items' balances (from `get-stocks` or the stock delta's listing) as what would be written.
pub(crate) fn pending(policy: &StockPolicy, found: Vec<ItemStock>) -> Vec<Pending> {
    let mut out = Vec::with_capacity(found.len());
    for s in found {
        let product = s.item.trim().to_string();
        let mut availability: Vec<Availability> = s
            .balances
            .iter()
            .map(|b| Availability {
                product: product.clone(),
                quantity: match policy.quantity {
                    Quantity::Allocatable => b.allocatable.trim().to_string(),
                    Quantity::OnHand => b.on_hand.trim().to_string(),
                },
                warehouse: Some(b.warehouse.trim().to_string()),
            })
            .collect();
        // The same balances in another order are the same stock: no write.
        availability.sort_by(|a, b| a.warehouse.cmp(&b.warehouse));
        if availability.is_empty() {
            availability.push(Availability {
                product: product.clone(),
                quantity: "0".into(),
                warehouse: None,
            });
        }
        out.push(Pending {
            key: product,
            values: Values::Stock(availability),
        });
    }
    out
}
