//! A quote held for a part number M3 doesn't know: a real item typed with a letter O for a
//! zero, the hold an operator fixes by hand (edit-and-retry) or from a suggestion.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use rust_decimal::Decimal;

use crate::ferry;
use crate::orders::{d, definite_customers, sellable_items};
use crate::stack::{READY, Stack, TENANT};

/// The held quote: its QuoteWerks id and number, the item meant and the number typed.
pub struct HeldQuote {
    pub id: i64,
    pub doc_no: String,
    pub meant: String,
    pub typed: String,
}

/// Creates quote `doc_no` (one line of `quantity` of a mistyped item, PO `po`), approves it
/// and waits until it is held for the typed number; no M3 order exists for it.
pub fn hold_a_mistyped_item(stack: &Stack, doc_no: &str, po: &str, quantity: i64) -> HeldQuote {
    let meant = sellable_items()
        .into_iter()
        .find(|i| i.get(3..).is_some_and(|n| n.contains('0')))
        .expect("an item number with a zero");
    let at = 3 + meant[3..].find('0').expect("a zero");
    let typed = format!("{}O{}", &meant[..at], &meant[at + 1..]);
    let customers = definite_customers();
    let quote = NewQuote {
        sold_to: SoldTo::from_seed(&customers[0]),
        ship_to: None,
        doc_no: Some(doc_no.into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: po.into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: vec![NewLine::product(&typed, d(quantity)).with_price(d(10))],
    };
    let (id, doc_no) = stack.create_quote(&quote);
    stack.set_status(id, READY);
    let why = wait_for(stack, id, "held").unwrap_or_default();
    assert!(why.contains(&typed), "held for the typed number: {why}");
    assert!(stack.m3_orders().iter().all(|o| o.cuor != doc_no));
    HeldQuote {
        id,
        doc_no,
        meant,
        typed,
    }
}

/// Waits (60 s at most) until quote `id`'s job is in `state`; its hold reason.
pub fn wait_for(stack: &Stack, id: i64, state: &str) -> Option<String> {
    let start = Instant::now();
    loop {
        let jobs = stack.jobs();
        if let Some(j) = jobs.iter().find(|j| j.0 == id.to_string() && j.1 == state) {
            return j.2.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "quote {id} never became {state}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A new API token for the stack's tenant (`ferry tokens create`), its secret.
pub fn tenant_token(stack: &Stack) -> String {
    ferry(&stack.data, &["tokens", "create", "--tenant", TENANT])
        .expect_code(0)
        .stdout
        .trim()
        .to_string()
}
