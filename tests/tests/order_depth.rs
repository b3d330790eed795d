//! Issue 17 end to end (the real `ferry serve`, both simulators, loopback): a quote with every
//! line type, notes, freight, another Ship-to and another currency becomes one M3 order whose
//! texts, charge, delivery address and currency are read back from the M3 simulator; an
//! over-limit customer is held with the figures and goes through once the limit is raised; and
//! none of it is doubled under the faults and kills the exactly-once tests use; with
//! `send-and-flag` an over-limit order is sent and the quote flagged.

use std::time::Duration;

use ferry_sim::m3::{OrderDepth, OrderText, read_order_depth_from_state_dir};
use ferry_sim::quotewerks::NewQuote;
use ferry_sim::quotewerks::samples::{CLOSING, FREIGHT, PURCHASING, complete_quote};
use ferry_tests::orders::{definite_customers, sellable_items};
use ferry_tests::stack::{Options, READY, Stack, TENANT};
use rust_decimal::Decimal;

/// The tenant's mapping settings for this file: document class CO02, every kind of note.
fn with_depth_settings(stack: &mut Stack) {
    let config = std::fs::read_to_string(&stack.config).expect("config");
    let at = "prepare = true\n";
    assert!(config.contains(at), "the stack's transform section moved");
    let settings = "prepare = true\nsettings = { text_document_class = \"CO02\", order_notes = \"introduction,purchasing,closing\" }\n";
    std::fs::write(&stack.config, config.replacen(at, settings, 1)).expect("config");
    stack.kill_ferry();
    stack.start_ferry();
}

/// Complete quote `k` of the stack's catalog and the items of its three text-carrying lines.
fn depth_quote(k: usize) -> (NewQuote, Vec<String>) {
    complete_quote(k, &sellable_items(), &definite_customers())
}

fn text(ponr: i64, tytr: i64, s: &str) -> OrderText {
    OrderText {
        ponr,
        tytr,
        txhe: "CO02".into(),
        text: s.into(),
    }
}

/// What M3 must hold for a depth quote: texts by place, in order, lines of at most 60.
fn expected_texts(ponrs: &[i64]) -> Vec<OrderText> {
    vec![
        text(
            0,
            1,
            "Thank you for choosing us for the new plant in Reno. This",
        ),
        text(0, 1, "quote covers the first phase of the fit-out."),
        text(0, 1, PURCHASING),
        text(0, 1, "Prepared after the site visit"),
        text(0, 2, "Terms apply"),
        text(0, 2, CLOSING),
        text(ponrs[0], 1, "Hardware"),
        text(ponrs[0], 2, "Delivered to the loading dock"),
        text(ponrs[1], 1, "Starter kit"),
    ]
}

/// The quote's % Charge lines' total, as QuoteWerks priced them.
fn percent_charges(stack: &Stack, id: i64) -> Decimal {
    let doc = stack.document(id);
    let total: Decimal = doc["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["LineType"] == 128)
        .filter_map(|i| i["ExtendedPrice"].as_str()?.parse::<Decimal>().ok())
        .sum();
    assert!(
        total > Decimal::ZERO,
        "the quote has a % charge line: {doc}"
    );
    total
}

fn assert_depth(stack: &Stack, id: i64, doc_no: &str, items: &[String]) -> OrderDepth {
    let orders: Vec<_> = stack
        .m3_orders()
        .into_iter()
        .filter(|o| o.cuor == doc_no)
        .collect();
    assert_eq!(orders.len(), 1, "one order for {doc_no}: {orders:?}");
    let order = &orders[0];
    let got_items: Vec<&str> = order.lines.iter().map(|l| l.itno.as_str()).collect();
    assert_eq!(got_items, items, "order lines of {doc_no}");
    let depth = read_order_depth_from_state_dir(&stack.dir.path().join("m3"), &order.orno)
        .expect("read depth")
        .expect("the order");
    let ponrs: Vec<i64> = order.lines.iter().map(|l| l.ponr).collect();
    let mut texts = depth.texts.clone();
    // Head first, then by line; within a place, in the order written.
    texts.sort_by_key(|t| (t.ponr, t.tytr));
    assert_eq!(texts, expected_texts(&ponrs), "texts of {doc_no}");
    assert!(texts.iter().all(|t| t.text.chars().count() <= 60));
    assert!(
        !texts
            .iter()
            .any(|t| t.text.contains("Margin") || t.text.contains("Excluded")),
        "internal notes (not chosen) and excluded rows stay out"
    );
    let charges: Vec<(&str, Option<Decimal>)> = depth
        .charges
        .iter()
        .map(|c| (c.crid.as_str(), c.cram.parse::<Decimal>().ok()))
        .collect();
    assert_eq!(
        charges,
        vec![
            ("FRT", Some(FREIGHT)),
            ("SUR", Some(percent_charges(stack, id)))
        ],
        "freight and the % charge line"
    );
    assert_eq!(depth.addresses.len(), 1, "{:?}", depth.addresses);
    let a = &depth.addresses[0];
    assert_eq!(
        (
            a.adrt,
            a.cunm.as_str(),
            a.cua1.as_str(),
            a.town.as_str(),
            a.ecar.as_str(),
            a.pono.as_str()
        ),
        (
            1,
            "Northwind Reno Warehouse",
            "1 Dock Rd",
            "Reno",
            "NV",
            "89501"
        )
    );
    assert_eq!(depth.cucd, "EUR");
    assert_eq!(depth.ofno, doc_no, "the quote number in OFNO");
    assert_eq!(
        depth.yref,
        format!("PO-{doc_no}"),
        "the customer's PO number"
    );
    depth
}

#[test]
fn a_full_quote_becomes_one_complete_order() {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    with_depth_settings(&mut stack);
    let (q, items) = depth_quote(1);
    let (id, doc_no) = stack.create_quote(&q);
    stack.set_status(id, READY);
    let jobs = stack.settle(1, Duration::from_secs(120));
    assert_eq!(jobs[0].1, "done", "{jobs:?}");
    assert_depth(&stack, id, &doc_no, &items);
    // The same quote approved again changes nothing in M3.
    stack.set_status(id, READY);
    std::thread::sleep(Duration::from_secs(3));
    assert_depth(&stack, id, &doc_no, &items);
}

fn release(stack: &Stack, id: i64) {
    let config = stack.config.to_str().expect("utf-8");
    let id = id.to_string();
    let out = std::process::Command::new(ferry_tests::ferry_bin())
        .args([
            "--config",
            config,
            "holds",
            "release",
            id.as_str(),
            "--tenant",
            TENANT,
        ])
        .output()
        .expect("ferry holds release");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_for(stack: &Stack, id: i64, state: &str) -> (String, String, Option<String>) {
    let start = std::time::Instant::now();
    loop {
        let jobs = stack.jobs();
        if let Some(j) = jobs.iter().find(|j| j.0 == id.to_string() && j.1 == state) {
            return j.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "quote {id} never became {state}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_over_limit_customer_is_held_with_the_figures_and_released_after_the_limit_is_raised() {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    with_depth_settings(&mut stack);
    let (q, items) = depth_quote(2);
    let cuno = definite_customers()[2 % definite_customers().len()]
        .cuno
        .clone();
    let credit = |crl3: &str| {
        stack.m3_control(
            reqwest::Method::POST,
            &format!("/_control/customers/{cuno}/credit"),
            serde_json::json!({"crl3": crl3, "toin": "40"}),
        )
    };
    credit("100");
    let (id, doc_no) = stack.create_quote(&q);
    stack.set_status(id, READY);
    let (_, _, reason) = wait_for(&stack, id, "held");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("credit limit exceeded")
            && reason.contains("limit 100")
            && reason.contains("exposure 40")
            && reason.contains("order value"),
        "{reason}"
    );
    assert!(
        stack.m3_orders().iter().all(|o| o.cuor != doc_no),
        "nothing is written for a held order"
    );
    credit("10000000");
    release(&stack, id);
    wait_for(&stack, id, "done");
    assert_depth(&stack, id, &doc_no, &items);
}

#[test]
fn send_and_flag_sends_an_over_limit_order_and_flags_the_quote_until_m3_releases_it() {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let config = std::fs::read_to_string(&stack.config).expect("config");
    let at = "[tenants.acme.quote_to_order]\n";
    assert!(config.contains(at), "the stack's policy section moved");
    let policy = format!(
        "{at}over_credit_limit = \"send-and-flag\"\ncredit_flag_status = \"5-M3 Credit Review\"\ncredit_recheck_secs = 1\n"
    );
    std::fs::write(&stack.config, config.replacen(at, &policy, 1)).expect("config");
    with_depth_settings(&mut stack);
    let (q, items) = depth_quote(5);
    let cuno = definite_customers()[5 % definite_customers().len()]
        .cuno
        .clone();
    let credit = |crl3: &str| {
        stack.m3_control(
            reqwest::Method::POST,
            &format!("/_control/customers/{cuno}/credit"),
            serde_json::json!({"crl3": crl3, "toin": "40"}),
        )
    };
    credit("100");
    let (id, doc_no) = stack.create_quote(&q);
    stack.set_status(id, READY);
    // Sent: M3 takes the batch order and stops it for credit (batch status 30); the rep sees
    // the flag on the quote, and nothing is held in Ferry.
    let start = std::time::Instant::now();
    loop {
        let doc = stack.document(id);
        if doc["header"]["DocStatus"] == "5-M3 Credit Review" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the quote never showed the flag: {}",
            doc["header"]["DocStatus"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let jobs = stack.jobs();
    assert!(
        jobs.iter().all(|j| j.1 != "held" && j.1 != "dead"),
        "{jobs:?}"
    );
    assert!(
        stack.m3_orders().iter().all(|o| o.cuor != doc_no),
        "no customer order while M3's credit stop holds it"
    );
    // M3's credit department raises the limit: Ferry's next look confirms the same batch order.
    credit("10000000");
    wait_for(&stack, id, "done");
    assert_depth(&stack, id, &doc_no, &items);
    assert_eq!(ferry_tests::orders::unconfirmed_batch_orders(&stack), 0);
    let doc = stack.document(id);
    assert_eq!(
        doc["header"]["DocStatus"],
        ferry_tests::stack::TRANSFERRED,
        "released: the usual status with the order number"
    );
    let out = std::process::Command::new(ferry_tests::ferry_bin())
        .args(["--config", stack.config.to_str().expect("utf-8")])
        .args(["trace", &doc_no, "--tenant", TENANT])
        .output()
        .expect("ferry trace");
    let trace = String::from_utf8_lossy(&out.stdout);
    assert!(
        trace.contains("credit-flag")
            && trace.contains("limit 100")
            && trace.contains("exposure 40"),
        "the figures are in the quote's trail: {trace}"
    );
}

#[test]
fn texts_charges_and_addresses_are_not_doubled_under_faults_and_kills() {
    let stack = Stack::start(Options {
        m3_flags: &[
            // A head with its texts, charges and address is a dozen writes, and a failure of
            // any reopens it: rates that keep 40 attempts (the stack's limit) far from used up.
            "--fault-503-after-write-rate",
            "0.1",
            "--fault-drop-response-rate",
            "0.03",
            "--fault-retry-after-secs",
            "0",
            "--fault-seed",
            "17",
        ],
        create_customers: false,
        order_entry: "batch",
    });
    let mut stack = stack;
    with_depth_settings(&mut stack);
    let quotes: Vec<(i64, String, Vec<String>)> = (10..18)
        .map(|k| {
            let (q, items) = depth_quote(k);
            let (id, doc_no) = stack.create_quote(&q);
            (id, doc_no, items)
        })
        .collect();
    for (id, _, _) in &quotes {
        stack.set_status(*id, READY);
    }
    // kill -9 mid-run, as the exactly-once tests do: texts, charges and addresses of a head
    // in doubt are read back, not written twice.
    for pause_ms in [900, 1300] {
        std::thread::sleep(Duration::from_millis(pause_ms));
        stack.kill_ferry();
        stack.start_ferry();
    }
    let jobs = stack.settle(quotes.len(), Duration::from_secs(600));
    assert!(jobs.iter().all(|j| j.1 == "done"), "{jobs:?}");
    for (id, doc_no, items) in &quotes {
        assert_depth(&stack, *id, doc_no, items);
    }
    assert_eq!(ferry_tests::orders::unconfirmed_batch_orders(&stack), 0);
}

#[test]
fn an_unknown_freight_charge_or_a_currency_m3_cannot_take_is_held_with_the_reason() {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let config = std::fs::read_to_string(&stack.config).expect("config");
    let settings = "prepare = true\nsettings = { freight_charge_id = \"SHIP\" }\n";
    std::fs::write(
        &stack.config,
        config.replacen("prepare = true\n", settings, 1),
    )
    .expect("config");
    stack.kill_ferry();
    stack.start_ferry();
    let (freight, _) = depth_quote(3);
    let (mut currency, _) = depth_quote(4);
    currency.shipping_amount = Decimal::ZERO;
    currency
        .custom
        .insert("AlternateCurrency".into(), "XYZ\u{4}¤\u{4}2".into());
    let (freight_id, freight_no) = stack.create_quote(&freight);
    let (currency_id, currency_no) = stack.create_quote(&currency);
    stack.set_status(freight_id, READY);
    stack.set_status(currency_id, READY);
    let (_, _, why) = wait_for(&stack, freight_id, "held");
    let why = why.unwrap_or_default();
    assert!(
        why.contains("CRID") && why.contains("charge SHIP is not defined in M3 (OIS030)"),
        "{why}"
    );
    let (_, _, why) = wait_for(&stack, currency_id, "held");
    let why = why.unwrap_or_default();
    assert!(
        why.contains("CUCD") && why.contains("Currency XYZ"),
        "{why}"
    );
    let orders = stack.m3_orders();
    assert!(
        orders
            .iter()
            .all(|o| o.cuor != freight_no && o.cuor != currency_no),
        "neither reached M3: {orders:?}"
    );
    assert_eq!(ferry_tests::orders::unconfirmed_batch_orders(&stack), 0);
}
