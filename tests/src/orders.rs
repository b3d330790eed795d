//! Quotes for the end-to-end order tests and the checks that M3 got exactly what they say.

use std::collections::BTreeMap;

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_sim::seed;
use rust_decimal::Decimal;

use crate::stack::{CUSTOMERS, ITEMS, READY, SEED, Stack, TRANSFERRED};

/// What M3 must receive for one quote: (item, quantity) per counted line, and the customer.
pub struct Expected {
    pub doc_id: i64,
    pub doc_no: String,
    pub cuno: String,
    pub lines: Vec<(String, Decimal)>,
    /// Amount of TAX lines, which are in QuoteWerks' SubTotal but never sent to M3.
    pub tax: Decimal,
}

pub fn sellable_items() -> Vec<String> {
    seed::sellable_items(SEED, ITEMS)
}

pub fn definite_customers() -> Vec<seed::SeedCustomer> {
    seed::definite_customers(SEED, CUSTOMERS)
}

pub fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

/// Quote `k`: 1 to 50 counted lines and, across quotes, every line type QuoteWerks has.
pub fn quote(
    k: usize,
    items: &[String],
    customers: &[seed::SeedCustomer],
) -> (NewQuote, String, Vec<(String, Decimal)>, Decimal) {
    let customer = &customers[k % customers.len()];
    let mut lines = Vec::new();
    let mut expect = Vec::new();
    let item = |j: usize| items[(k * 13 + j * 7) % items.len()].clone();
    if k.is_multiple_of(3) {
        lines.push(NewLine::heading("Hardware"));
    }
    let mut counted = 1 + (k * 37) % 50;
    if k.is_multiple_of(6) && counted > 2 {
        // A group of two members, two of the group: members count, quantity × multiplier.
        let (a, b) = (item(100), item(101));
        lines.push(NewLine::group(
            "Starter kit",
            d(2),
            vec![NewLine::product(&a, d(1)), NewLine::product(&b, d(3))],
        ));
        expect.push((a, d(2)));
        expect.push((b, d(6)));
        counted -= 2;
    }
    for j in 0..counted {
        let qty = d(((k + j) % 5 + 1) as i64);
        let mut line = NewLine::product(&item(j), qty);
        if j % 7 == 3 {
            line = line.with_modifier("D10");
        }
        expect.push((item(j), qty));
        lines.push(line);
        if j == 0 && k.is_multiple_of(4) {
            lines.push(NewLine::comment("Delivered to the loading dock"));
        }
    }
    if k.is_multiple_of(5) {
        lines.push(NewLine::subtotal());
    }
    if k.is_multiple_of(7) {
        lines.push(NewLine::percent_discount(d(5)));
    }
    if k.is_multiple_of(8) {
        // An unselected option and an excluded line never reach M3.
        lines.push(NewLine::product(&item(200), d(1)).optional(false));
        lines.push(NewLine::product(&item(201), d(4)).excluded());
    }
    let tax = if k.is_multiple_of(10) {
        Decimal::new(1234, 2)
    } else {
        Decimal::ZERO
    };
    if k.is_multiple_of(10) {
        lines.push(NewLine::tax(tax));
    }
    let q = NewQuote {
        sold_to: SoldTo::from_seed(customer),
        ship_to: None,
        doc_no: Some(format!("T{k:04}")),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: format!("PO-{k}"),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines,
    };
    (q, customer.cuno.clone(), expect, tax)
}

pub fn create_quotes(stack: &Stack, n: usize) -> Vec<Expected> {
    let items = sellable_items();
    let customers = definite_customers();
    (0..n)
        .map(|k| {
            let (q, cuno, lines, tax) = quote(k, &items, &customers);
            let (doc_id, doc_no) = stack.create_quote(&q);
            Expected {
                doc_id,
                doc_no,
                cuno,
                lines,
                tax,
            }
        })
        .collect()
}

/// `n` plain quotes of 20 to 30 product lines each (big orders: many writes per order).
pub fn create_big_quotes(stack: &Stack, n: usize) -> Vec<Expected> {
    let items = sellable_items();
    let customers = definite_customers();
    (0..n)
        .map(|k| {
            let customer = &customers[k % customers.len()];
            let count = 20 + (k * 7) % 11;
            let picked: Vec<(String, Decimal)> = (0..count)
                .map(|j| {
                    (
                        items[(k * 11 + j * 3) % items.len()].clone(),
                        d(((k + j) % 4 + 1) as i64),
                    )
                })
                .collect();
            let q = NewQuote {
                sold_to: SoldTo::from_seed(customer),
                ship_to: None,
                doc_no: Some(format!("BIG{k:03}")),
                doc_name: None,
                doc_type: "QUOTE".into(),
                status: "1-In Progress".into(),
                doc_date: None,
                sales_rep: "JSMITH".into(),
                po_number: format!("PO-BIG-{k}"),
                project_no: None,
                local_tax_rate: Decimal::ZERO,
                shipping_amount: Decimal::ZERO,
                custom: BTreeMap::new(),
                lines: picked
                    .iter()
                    .map(|(itno, qty)| NewLine::product(itno, *qty))
                    .collect(),
            };
            let (doc_id, doc_no) = stack.create_quote(&q);
            Expected {
                doc_id,
                doc_no,
                cuno: customer.cuno.clone(),
                lines: picked,
                tax: Decimal::ZERO,
            }
        })
        .collect()
}

pub fn sorted(mut v: Vec<(String, Decimal)>) -> Vec<(String, Decimal)> {
    v.sort();
    v
}

/// Every quote has exactly one M3 order with its customer, lines and quantities, and shows
/// the order number and the transferred status.
pub fn assert_exactly_once(stack: &Stack, expected: &[Expected]) {
    assert_orders(stack, expected, true);
}

/// As above; `status`: also check the quote's status (false once a rep has changed it since).
pub fn assert_orders(stack: &Stack, expected: &[Expected], status: bool) {
    let orders = stack.m3_orders();
    assert_eq!(
        orders.len(),
        expected.len(),
        "one M3 order per quote, no more, no fewer"
    );
    for e in expected {
        let mine: Vec<_> = orders
            .iter()
            .filter(|o| o.cuor.trim() == e.doc_no)
            .collect();
        assert_eq!(mine.len(), 1, "{}: {} M3 orders", e.doc_no, mine.len());
        let o = mine[0];
        assert_eq!(o.cuno.trim(), e.cuno, "{}: customer", e.doc_no);
        let got: Vec<(String, Decimal)> = o
            .lines
            .iter()
            .map(|l| {
                (
                    l.itno.trim().to_string(),
                    l.orqt.trim().parse::<Decimal>().expect("ORQT").normalize(),
                )
            })
            .collect();
        assert_eq!(
            sorted(got),
            sorted(
                e.lines
                    .iter()
                    .map(|(i, q)| (i.clone(), q.normalize()))
                    .collect()
            ),
            "{}: lines",
            e.doc_no
        );
        let doc = stack.document(e.doc_id);
        if status {
            assert_eq!(
                doc["header"]["DocStatus"], TRANSFERRED,
                "{}: status",
                e.doc_no
            );
        }
        // Prices and discounts: M3's order value equals the quote's (QuoteWerks' SubTotal, less
        // tax lines), up to M3 rounding each net unit price to the cent.
        let subtotal: Decimal = doc["header"]["SubTotal"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| doc["header"]["SubTotal"].to_string())
            .parse()
            .expect("SubTotal");
        let m3_total: Decimal = o.ntam.trim().parse().expect("NTAM");
        let qty: Decimal = e.lines.iter().map(|(_, q)| *q).sum();
        let tolerance = Decimal::new(5, 3) * qty + Decimal::new(1, 2);
        assert!(
            (m3_total - (subtotal - e.tax)).abs() <= tolerance,
            "{}: M3 order value {m3_total}, quote {subtotal} less tax {}",
            e.doc_no,
            e.tax
        );
        assert!(
            doc["header"].to_string().contains(o.orno.trim()),
            "{}: order number {} not on the quote",
            e.doc_no,
            o.orno
        );
    }
}

pub fn approve_all(stack: &Stack, expected: &[Expected]) {
    for e in expected {
        stack.set_status(e.doc_id, READY);
    }
}

/// Batch orders in M3 that never became customer orders (left behind by a client that lost
/// track of one).
pub fn unconfirmed_batch_orders(stack: &Stack) -> i64 {
    let state = stack.m3_control(
        reqwest::Method::GET,
        "/_control/state",
        serde_json::Value::Null,
    );
    state["unconfirmed_batch_orders"]
        .as_i64()
        .unwrap_or_else(|| panic!("no count in {state}"))
}

/// Waits for `n` jobs to finish and asserts that every one is done (none held or dead).
pub fn settle_all_done(stack: &Stack, n: usize, limit: std::time::Duration) {
    let jobs = stack.settle(n, limit);
    let not_done: Vec<_> = jobs.iter().filter(|j| j.1 != "done").collect();
    assert!(not_done.is_empty(), "{not_done:?}");
}
