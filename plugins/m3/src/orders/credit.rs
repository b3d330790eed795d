//! The customer's credit, checked before any write (reference/m3-order-depth.md §5): limit 3
//! (`CRL3`, outstanding invoices + orders) from `CRS610MI/GetFinancial` against the exposure
//! (`TOIN` outstanding invoices + `TBLG` order value not invoiced) plus this order's value. An
//! order that would pass the limit is refused with the figures, so the flow holds it; the flow
//! checks again when the order is released (after the limit was raised).
//!
//! Setting `credit_check`: `hold` (default) checks here; `off` leaves it to M3, whose Confirm
//! stops such an order for credit (batch status 30), which is reported the same way.
//! The exposure formula is INFERRED from the field descriptions (M3's own is UNVERIFIED).

use crate::mi::Record;
use crate::records::setting;
use ferry_pdk::{Decimal, Document, FieldError, FieldsExt, field_error};

/// The order's value as M3 will count it: each line's quantity × price less its discounts,
/// plus the head charges.
pub fn order_value(order: &Document) -> Decimal {
    let lines: Decimal = order
        .lines
        .iter()
        .map(|l| {
            let get = |n: &str| l.decimal(n).ok().flatten().unwrap_or_default();
            let gross = get("ORQT") * get("SAPR");
            let pct = get("DIP1");
            (gross * (Decimal::ONE_HUNDRED - pct) / Decimal::ONE_HUNDRED - get("DIA1")).round_dp(2)
        })
        .sum();
    let charge = |n: &str| order.decimal(n).ok().flatten().unwrap_or_default();
    lines + charge("CRAM") + charge("CRAM2")
}

/// Whether the tenant has the check on (setting `credit_check`, default `hold`).
pub fn enabled() -> bool {
    !setting("credit_check").is_some_and(|s| s.trim().eq_ignore_ascii_case("off"))
}

/// None when the order fits the customer's credit as `CRS610MI/GetFinancial` gave it (`fin`);
/// else the problem. A customer M3 does not have (no record) is the customer check's to report.
pub fn judge(order: &Document, cuno: &str, fin: Option<&Record>) -> Option<FieldError> {
    let fin = fin?;
    let num = |k: &str| {
        fin.get(k)
            .and_then(|v| v.trim().parse::<Decimal>().ok())
            .unwrap_or_default()
    };
    let limit = num("CRL3");
    if limit <= Decimal::ZERO {
        return None;
    }
    let exposure = num("TOIN") + num("TBLG");
    let value = order_value(order);
    (exposure + value > limit).then(|| {
        // The contract's vocabulary for a credit finding: the host holds or sends and flags
        // the order as the tenant chooses (`over_credit_limit`).
        field_error(
            "credit",
            None,
            &format!(
                "credit limit exceeded for customer {cuno}: limit {}, exposure {}, order value {}; raise the limit in M3 (CRS610) or reduce the order, then release",
                limit.normalize(),
                exposure.normalize(),
                value.normalize()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_pdk::{Field, Line, Value};

    #[test]
    fn order_value_counts_discounts_and_the_charge() {
        let f = |n: &str, v: &str| Field {
            name: n.into(),
            value: Value::Decimal(v.into()),
        };
        let order = Document {
            kind: "order".into(),
            id: None,
            fields: vec![f("CRAM", "45")],
            lines: vec![
                Line {
                    fields: vec![f("ORQT", "2"), f("SAPR", "100"), f("DIP1", "10")],
                },
                Line {
                    fields: vec![f("ORQT", "3"), f("SAPR", "10"), f("DIA1", "5")],
                },
            ],
        };
        assert_eq!(order_value(&order), Decimal::from(180 + 25 + 45));
    }
}
