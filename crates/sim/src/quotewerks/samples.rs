//! A complete quote: every line type QuoteWerks has, the four notes, freight, a Ship-to of its
//! own and a second currency. The order-depth tests and `ferry sandbox --demo` both send it and
//! check what M3 holds against the same constants.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{NewLine, NewQuote, SoldTo};
use crate::seed::SeedCustomer;

pub const INTRO: &str = "Thank you for choosing us for the new plant in Reno. This quote covers the first phase of the fit-out.";
pub const PURCHASING: &str = "Ship complete, no partial deliveries.";
pub const CLOSING: &str = "Prices valid 30 days.";
/// Not chosen by the default `order_notes`: must never reach M3.
pub const INTERNAL: &str = "Margin approved by JD (not for the customer).";
/// QuoteWerks' AlternateCurrency column: code, symbol, rate, separated by U+0004.
pub const EURO: &str = "EUR\u{4}€\u{4}1.08";
/// The quote's ShippingAmount: the freight charge M3 must carry.
pub const FREIGHT: Decimal = Decimal::from_parts(4550, 0, 0, false, 2);

/// The Ship-to every complete quote has (different from any seeded customer's address).
pub fn reno_warehouse() -> SoldTo {
    SoldTo {
        company: "Northwind Reno Warehouse".into(),
        contact: "Dock Office".into(),
        address1: "1 Dock Rd".into(),
        city: "Reno".into(),
        state: "NV".into(),
        postal_code: "89501".into(),
        country: "US".into(),
        ..SoldTo::default()
    }
}

/// Complete quote `k` (DocNo `D{k:04}`, PO `PO-D{k:04}`) for a customer and items of the
/// catalog (`items` sellable, `customers` definite). Returns the quote and the items of its
/// three order lines that carry texts, in order.
pub fn complete_quote(
    k: usize,
    items: &[String],
    customers: &[SeedCustomer],
) -> (NewQuote, Vec<String>) {
    let item = |j: usize| items[(k * 11 + j * 5) % items.len()].clone();
    let (a, b, c) = (item(0), item(1), item(2));
    let n = Decimal::from;
    let lines = vec![
        NewLine::comment("Prepared after the site visit"),
        NewLine::heading("Hardware"),
        NewLine::product(&a, n(2)).with_modifier("D10"),
        NewLine::comment("Delivered to the loading dock"),
        NewLine::group(
            "Starter kit",
            n(2),
            vec![NewLine::product(&b, n(1)), NewLine::product(&c, n(3))],
        ),
        NewLine::subtotal(),
        NewLine::percent_discount(n(5)),
        NewLine::running_subtotal(),
        NewLine::percent_charge(n(2), "2% Fuel surcharge"),
        NewLine::product(&item(3), n(1)).optional(false),
        NewLine::product(&item(4), n(4)).excluded(),
        NewLine::comment("Excluded remark").excluded(),
        NewLine::tax(Decimal::new(1234, 2)),
        NewLine::heading("Terms apply"),
    ];
    let custom: BTreeMap<String, String> = [
        ("IntroductionNotes", INTRO),
        ("PurchasingNotes", PURCHASING),
        ("ClosingNotes", CLOSING),
        ("InternalNotes", INTERNAL),
        ("AlternateCurrency", EURO),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let customer = &customers[k % customers.len()];
    let q = NewQuote {
        sold_to: SoldTo::from_seed(customer),
        ship_to: Some(reno_warehouse()),
        doc_no: Some(format!("D{k:04}")),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: format!("PO-D{k:04}"),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: FREIGHT,
        custom,
        lines,
    };
    (q, vec![a, b, c])
}
