//! Issue 6's acceptance: approved quotes become exactly one correct M3 order each, through the
//! real `ferry serve`, the real connector and mapping plugins, and both simulators as separate
//! processes on loopback; with faults, crashes, bad data and re-deliveries.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_sandbox::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_sandbox::seed;
use ferry_tests::stack::{CUSTOMERS, ITEMS, Options, READY, SEED, Stack, TRANSFERRED};
use rust_decimal::Decimal;

/// What M3 must receive for one quote: (item, quantity) per counted line, and the customer.
struct Expected {
    doc_id: i64,
    doc_no: String,
    cuno: String,
    lines: Vec<(String, Decimal)>,
    /// Amount of TAX lines, which are in QuoteWerks' SubTotal but never sent to M3.
    tax: Decimal,
}

fn sellable_items() -> Vec<String> {
    (0..ITEMS).map(|i| seed::item(SEED, i)).filter(|it| it.stat == "20").map(|it| it.itno).collect()
}

fn definite_customers() -> Vec<seed::SeedCustomer> {
    (0..CUSTOMERS).map(|i| seed::customer(SEED, i)).filter(|c| c.stat == "20").collect()
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

/// Quote `k`: 1 to 50 counted lines and, across quotes, every line type QuoteWerks has.
fn quote(k: usize, items: &[String], customers: &[seed::SeedCustomer]) -> (NewQuote, String, Vec<(String, Decimal)>, Decimal) {
    let customer = &customers[k % customers.len()];
    let mut lines = Vec::new();
    let mut expect = Vec::new();
    let item = |j: usize| items[(k * 13 + j * 7) % items.len()].clone();
    if k % 3 == 0 {
        lines.push(NewLine::heading("Hardware"));
    }
    let mut counted = 1 + (k * 37) % 50;
    if k % 6 == 0 && counted > 2 {
        // A group of two members, two of the group: members count, quantity × multiplier.
        let (a, b) = (item(100), item(101));
        lines.push(NewLine::group("Starter kit", d(2), vec![NewLine::product(&a, d(1)), NewLine::product(&b, d(3))]));
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
        if j == 0 && k % 4 == 0 {
            lines.push(NewLine::comment("Delivered to the loading dock"));
        }
    }
    if k % 5 == 0 {
        lines.push(NewLine::subtotal());
    }
    if k % 7 == 0 {
        lines.push(NewLine::percent_discount(d(5)));
    }
    if k % 8 == 0 {
        // An unselected option and an excluded line never reach M3.
        lines.push(NewLine::product(&item(200), d(1)).optional(false));
        lines.push(NewLine::product(&item(201), d(4)).excluded());
    }
    let tax = if k % 10 == 0 { Decimal::new(1234, 2) } else { Decimal::ZERO };
    if k % 10 == 0 {
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

fn create_quotes(stack: &Stack, n: usize) -> Vec<Expected> {
    let items = sellable_items();
    let customers = definite_customers();
    (0..n)
        .map(|k| {
            let (q, cuno, lines, tax) = quote(k, &items, &customers);
            let (doc_id, doc_no) = stack.create_quote(&q);
            Expected { doc_id, doc_no, cuno, lines, tax }
        })
        .collect()
}

fn sorted(mut v: Vec<(String, Decimal)>) -> Vec<(String, Decimal)> {
    v.sort();
    v
}

/// Every quote has exactly one M3 order with its customer, lines and quantities, and shows
/// the order number and the transferred status.
fn assert_exactly_once(stack: &Stack, expected: &[Expected]) {
    let orders = stack.m3_orders();
    assert_eq!(orders.len(), expected.len(), "one M3 order per quote, no more, no fewer");
    for e in expected {
        let mine: Vec<_> = orders.iter().filter(|o| o.cuor.trim() == e.doc_no).collect();
        assert_eq!(mine.len(), 1, "{}: {} M3 orders", e.doc_no, mine.len());
        let o = mine[0];
        assert_eq!(o.cuno.trim(), e.cuno, "{}: customer", e.doc_no);
        let got: Vec<(String, Decimal)> = o
            .lines
            .iter()
            .map(|l| (l.itno.trim().to_string(), l.orqt.trim().parse::<Decimal>().expect("ORQT").normalize()))
            .collect();
        assert_eq!(sorted(got), sorted(e.lines.iter().map(|(i, q)| (i.clone(), q.normalize())).collect()), "{}: lines", e.doc_no);
        let doc = stack.document(e.doc_id);
        assert_eq!(doc["header"]["DocStatus"], TRANSFERRED, "{}: status", e.doc_no);
        // Prices and discounts: M3's order value equals the quote's (QuoteWerks' SubTotal, less
        // tax lines), up to M3 rounding each net unit price to the cent.
        let subtotal: Decimal = doc["header"]["SubTotal"].as_str().map(str::to_string).unwrap_or_else(|| doc["header"]["SubTotal"].to_string()).parse().expect("SubTotal");
        let m3_total: Decimal = o.ntam.trim().parse().expect("NTAM");
        let qty: Decimal = e.lines.iter().map(|(_, q)| *q).sum();
        let tolerance = Decimal::new(5, 3) * qty + Decimal::new(1, 2);
        assert!((m3_total - (subtotal - e.tax)).abs() <= tolerance, "{}: M3 order value {m3_total}, quote {subtotal} less tax {}", e.doc_no, e.tax);
        assert!(doc["header"].to_string().contains(o.orno.trim()), "{}: order number {} not on the quote", e.doc_no, o.orno);
    }
}

fn approve_all(stack: &Stack, expected: &[Expected]) {
    for e in expected {
        stack.set_status(e.doc_id, READY);
    }
}

#[test]
fn hundred_approved_quotes_become_exactly_one_correct_order_each() {
    let stack = Stack::start(Options { m3_flags: &[], create_customers: false });
    let expected = create_quotes(&stack, 100);
    approve_all(&stack, &expected);
    let jobs = stack.settle(100, Duration::from_secs(300));
    let not_done: Vec<_> = jobs.iter().filter(|j| j.1 != "done").collect();
    assert!(not_done.is_empty(), "{not_done:?}");
    assert_exactly_once(&stack, &expected);
}

#[test]
fn faults_neither_duplicate_nor_lose_an_order() {
    let stack = Stack::start(Options {
        m3_flags: &[
            "--fault-503-rate", "0.2", "--fault-429-rate", "0.1", "--fault-drop-response-rate", "0.05",
            "--fault-latency-ms", "0-20", "--fault-retry-after-secs", "0", "--fault-seed", "7",
        ],
        create_customers: false,
    });
    let expected = create_quotes(&stack, 100);
    approve_all(&stack, &expected);
    let jobs = stack.settle(100, Duration::from_secs(900));
    let not_done: Vec<_> = jobs.iter().filter(|j| j.1 != "done").collect();
    assert!(not_done.is_empty(), "{not_done:?}");
    assert_exactly_once(&stack, &expected);
}

#[test]
fn kill_dash_nine_at_random_moments_neither_duplicates_nor_loses() {
    let mut stack = Stack::start(Options { m3_flags: &["--fault-latency-ms", "0-10"], create_customers: false });
    let expected = create_quotes(&stack, 100);
    approve_all(&stack, &expected);
    // Kill and restart at pseudo-random moments while the quotes flow; webhooks sent while
    // Ferry is down are caught by its poll of ready quotes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    for _ in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(150 + x % 900));
        stack.kill_ferry();
        kills += 1;
        stack.start_ferry();
        if stack.jobs().iter().filter(|j| j.1 == "done").count() == expected.len() {
            break;
        }
    }
    assert!(kills >= 3, "the test must actually crash Ferry a few times");
    let jobs = stack.settle(100, Duration::from_secs(600));
    let not_done: Vec<_> = jobs.iter().filter(|j| j.1 != "done").collect();
    assert!(not_done.is_empty(), "{not_done:?}");
    assert_exactly_once(&stack, &expected);
}
