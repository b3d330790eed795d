//! Issue 6's acceptance: approved quotes become exactly one correct M3 order each, through the
//! real `ferry serve`, the real connector and mapping plugins, and both simulators as separate
//! processes on loopback; with faults, crashes, bad data and re-deliveries.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_sim::seed;
use ferry_tests::orders::{
    approve_all, assert_exactly_once, assert_orders, create_quotes, d, definite_customers, quote,
    sellable_items, settle_all_done, unconfirmed_batch_orders,
};
use ferry_tests::stack::{CUSTOMERS, ITEMS, Options, READY, SEED, Stack, StoreKind};
use rust_decimal::Decimal;

#[test]
fn hundred_approved_quotes_become_exactly_one_correct_order_each() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let expected = create_quotes(&stack, 100);
    approve_all(&stack, &expected);
    settle_all_done(&stack, 100, Duration::from_secs(300));
    assert_exactly_once(&stack, &expected);

    // What happened is visible to Prometheus: M3 calls per connection, jobs by outcome.
    let metrics = reqwest::blocking::get(format!("{}/metrics", stack.ferry_url()))
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains(
            "ferry_http_requests_total{tenant=\"acme\",connection=\"m3\",outcome=\"200\"}"
        ),
        "{metrics}"
    );
    let done = metrics
        .lines()
        .find(|l| l.starts_with("ferry_jobs_total{") && l.contains("outcome=\"done\""))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    assert_eq!(done, Some(100.0), "{metrics}");
}

#[test]
fn faults_neither_duplicate_nor_lose_an_order() {
    faults(StoreKind::Sqlite);
}

/// Issue 14: the same exactly-once scenario with the jobs in PostgreSQL.
#[test]
fn faults_neither_duplicate_nor_lose_an_order_on_postgres() {
    faults(StoreKind::Postgres);
}

fn faults(store: StoreKind) {
    let opts = Options {
        m3_flags: &[
            "--fault-503-rate",
            "0.2",
            "--fault-429-rate",
            "0.1",
            "--fault-drop-response-rate",
            "0.05",
            "--fault-latency-ms",
            "0-20",
            "--fault-retry-after-secs",
            "0",
            "--fault-seed",
            "7",
        ],
        create_customers: false,
        // Batch entry makes a write per line: with 5% of writes losing their answer, a 50-line
        // order rarely gets 50 in a row, so each attempt starts over (safely, but slowly).
        // Bulk entry is three writes an order; exactly-once is the same code either way.
        order_entry: "bulk",
    };
    let stack = Stack::start_on(opts, store);
    let expected = create_quotes(&stack, 100);
    approve_all(&stack, &expected);
    settle_all_done(&stack, 100, Duration::from_secs(900));
    assert_exactly_once(&stack, &expected);
    assert_eq!(
        unconfirmed_batch_orders(&stack),
        0,
        "no batch order left behind"
    );
}

#[test]
fn kill_dash_nine_at_random_moments_neither_duplicates_nor_loses() {
    kills(StoreKind::Sqlite);
}

/// Issue 14: the same crashes with the jobs in PostgreSQL.
#[test]
fn kill_dash_nine_at_random_moments_neither_duplicates_nor_loses_on_postgres() {
    kills(StoreKind::Postgres);
}

fn kills(store: StoreKind) {
    let opts = Options {
        m3_flags: &["--fault-latency-ms", "0-10"],
        create_customers: false,
        order_entry: "batch",
    };
    let mut stack = Stack::start_on(opts, store);
    let expected = create_quotes(&stack, 100);
    approve_all(&stack, &expected);
    // Kill and restart at pseudo-random moments while the quotes flow; webhooks sent while
    // Ferry is down are caught by its poll of ready quotes.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut kills = 0;
    let mut done_at_first_kill = None;
    for _ in 0..12 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(150 + x % 900));
        let done = stack.jobs().iter().filter(|j| j.1 == "done").count();
        done_at_first_kill.get_or_insert(done);
        stack.kill_ferry();
        kills += 1;
        stack.start_ferry();
        if kills >= 3 && done == expected.len() {
            break;
        }
    }
    assert!(kills >= 3, "Ferry must actually crash a few times");
    assert!(
        done_at_first_kill < Some(expected.len()),
        "the first crash must hit quotes in flight ({done_at_first_kill:?} already done)"
    );
    settle_all_done(&stack, 100, Duration::from_secs(600));
    assert_exactly_once(&stack, &expected);
    assert_eq!(
        unconfirmed_batch_orders(&stack),
        0,
        "no batch order left behind"
    );
}

fn job_of(jobs: &[(String, String, Option<String>)], id: i64) -> &(String, String, Option<String>) {
    jobs.iter()
        .find(|j| j.0 == id.to_string())
        .unwrap_or_else(|| panic!("no job for quote {id}: {jobs:?}"))
}

fn release(stack: &Stack, id: i64, restart: bool) {
    let config = stack.config.to_str().expect("utf-8");
    let id = id.to_string();
    let mut args = vec![
        "--config",
        config,
        "holds",
        "release",
        id.as_str(),
        "--tenant",
        ferry_tests::stack::TENANT,
    ];
    if restart {
        args.push("--restart");
    }
    let out = std::process::Command::new(ferry_tests::ferry_bin())
        .args(&args)
        .output()
        .expect("ferry holds release");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits until quote `id`'s job is in `state`.
fn wait_for(stack: &Stack, id: i64, state: &str) -> (String, String, Option<String>) {
    let start = std::time::Instant::now();
    loop {
        let jobs = stack.jobs();
        if let Some(j) = jobs.iter().find(|j| j.0 == id.to_string() && j.1 == state) {
            return j.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "quote {id} never became {state}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn bad_data_is_held_with_readable_reasons_and_completes_after_release() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let items = sellable_items();
    let customers = definite_customers();
    let good = &customers[0];
    let base = |doc_no: &str, sold_to: SoldTo, lines: Vec<NewLine>| NewQuote {
        sold_to,
        ship_to: None,
        doc_no: Some(doc_no.into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: "PO-BAD".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines,
    };
    let discontinued = (0..ITEMS)
        .map(|i| seed::item(SEED, i))
        .find(|it| it.stat == "90")
        .expect("a STAT 90 item")
        .itno;
    let preliminary = (0..CUSTOMERS)
        .map(|i| seed::customer(SEED, i))
        .find(|c| c.stat == "10")
        .expect("a STAT 10 customer");
    let stranger = SoldTo {
        company: "Nobody Anywhere GmbH".into(),
        email: "buyer@nobody.example".into(),
        cm_account_no: "CM99999".into(),
        ..SoldTo::from_seed(good)
    };

    let (unknown_item, _) = stack.create_quote(&base(
        "B1",
        SoldTo::from_seed(good),
        vec![
            NewLine::product(&items[0], d(1)),
            NewLine::product("NOSUCH-ITEM", d(2)).with_price(d(10)),
        ],
    ));
    let (stat90, _) = stack.create_quote(&base(
        "B2",
        SoldTo::from_seed(good),
        vec![NewLine::product(&discontinued, d(1))],
    ));
    let (unknown_customer, _) = stack.create_quote(&base(
        "B3",
        stranger,
        vec![NewLine::product(&items[1], d(1))],
    ));
    let (prelim, _) = stack.create_quote(&base(
        "B4",
        SoldTo::from_seed(&preliminary),
        vec![NewLine::product(&items[2], d(1))],
    ));
    for id in [unknown_item, stat90, unknown_customer, prelim] {
        stack.set_status(id, READY);
    }
    let jobs = stack.settle(4, Duration::from_secs(120));
    let reason = |id| job_of(&jobs, id).2.clone().unwrap_or_default();
    assert!(jobs.iter().all(|j| j.1 == "held"), "{jobs:?}");
    assert!(
        reason(unknown_item).contains("lines[1].ITNO")
            && reason(unknown_item).contains("NOSUCH-ITEM"),
        "{}",
        reason(unknown_item)
    );
    assert!(
        reason(stat90).contains(&discontinued) && reason(stat90).contains("90"),
        "{}",
        reason(stat90)
    );
    assert!(
        reason(unknown_customer).contains("no ERP customer matches")
            && reason(unknown_customer).contains("Nobody Anywhere GmbH"),
        "{}",
        reason(unknown_customer)
    );
    assert!(
        reason(prelim).to_lowercase().contains("preliminary") || reason(prelim).contains("10"),
        "{}",
        reason(prelim)
    );
    assert!(
        stack.m3_orders().is_empty(),
        "nothing is half-created in M3"
    );

    // Fix each at its source, then release.
    // In M3: release the item, make the customer definite.
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{discontinued}"),
        serde_json::json!({"stat": "20"}),
    );
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/customers/{}", preliminary.cuno),
        serde_json::json!({"stat": "20"}),
    );
    release(&stack, stat90, false);
    release(&stack, prelim, false);
    // In QuoteWerks (the rep edits the quotes): the right item, the right account.
    let qw = rusqlite::Connection::open(stack.dir.path().join("qw.db")).expect("qw db");
    qw.execute("UPDATE DocumentItems SET ManufacturerPartNumber = ?1 WHERE DocID = ?2 AND ManufacturerPartNumber = 'NOSUCH-ITEM'", rusqlite::params![items[3], unknown_item]).expect("fix item");
    qw.execute(
        "UPDATE DocumentHeaders SET SoldToCompany = ?1, SoldToEmail = ?2 WHERE ID = ?3",
        rusqlite::params![good.name, good.email, unknown_customer],
    )
    .expect("fix customer");
    release(&stack, unknown_item, true);
    release(&stack, unknown_customer, true);

    for id in [unknown_item, stat90, unknown_customer, prelim] {
        wait_for(&stack, id, "done");
    }
    let orders = stack.m3_orders();
    assert_eq!(orders.len(), 4);
    let b1 = orders
        .iter()
        .find(|o| o.cuor.trim() == "B1")
        .expect("B1 order");
    assert!(
        b1.lines.iter().any(|l| l.itno.trim() == items[3]),
        "the fixed item was ordered"
    );
    let b3 = orders
        .iter()
        .find(|o| o.cuor.trim() == "B3")
        .expect("B3 order");
    assert_eq!(b3.cuno.trim(), good.cuno);
}

#[test]
fn redeliveries_reapprovals_and_revisions_create_nothing_new() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let expected = create_quotes(&stack, 5);
    approve_all(&stack, &expected);
    stack.settle(5, Duration::from_secs(120));
    assert_eq!(stack.m3_orders().len(), 5);

    // The rep re-approves every quote (new webhooks), and QuoteWerks re-sends an old one.
    for e in &expected {
        stack.set_status(e.doc_id, "4-Presented to Customer");
        stack.set_status(e.doc_id, READY);
    }
    let client = reqwest::blocking::Client::new();
    let hook = format!(
        "{}/hooks/{}/quotewerks",
        stack.ferry_url(),
        ferry_tests::stack::TENANT
    );
    let body = serde_json::json!({"DocID": expected[0].doc_id.to_string(), "DocStatus": READY, "EventID": "replayed-1"}).to_string();
    let secret = std::fs::read_to_string(stack.dir.path().join("webhook.secret")).expect("secret");
    for _ in 0..2 {
        let r = client
            .post(&hook)
            .header("X-QuoteWerks-Secret", secret.trim())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .expect("post");
        assert!(
            r.status().is_success() || r.status() == 400,
            "{}",
            r.status()
        );
    }
    // A forged one is refused.
    let forged = client
        .post(&hook)
        .header("X-QuoteWerks-Secret", "guess")
        .body(body.clone())
        .send()
        .expect("post");
    assert_eq!(forged.status(), 401);

    // A new revision of a transferred quote (QuoteWerks numbers it with a suffix) is held for
    // review, not ordered a second time.
    let items = sellable_items();
    let customers = definite_customers();
    let (mut revision, _, _, _) = quote(0, &items, &customers);
    revision.doc_no = Some(format!("{}-01", expected[0].doc_no));
    let (rev_id, _) = stack.create_quote(&revision);
    stack.set_status(rev_id, READY);
    let held = wait_for(&stack, rev_id, "held");
    assert!(
        held.2
            .as_deref()
            .unwrap_or_default()
            .contains("already carries reference"),
        "{held:?}"
    );

    // Past a poll interval, still exactly one order per original quote.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(stack.m3_orders().len(), 5);
    let jobs = stack.jobs();
    assert_eq!(jobs.iter().filter(|j| j.1 == "done").count(), 5, "{jobs:?}");
    // The rep re-approved them, so their status is theirs; orders and order numbers stand.
    assert_orders(&stack, &expected, false);
}

#[test]
fn m3_order_status_is_polled_back_onto_the_quote() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let expected = create_quotes(&stack, 2);
    approve_all(&stack, &expected);
    stack.settle(2, Duration::from_secs(120));
    for (order, status, name) in [(0, "44", "7-M3 Picked"), (1, "77", "9-M3 Invoiced")] {
        let e = &expected[order];
        let orno = stack
            .m3_orders()
            .into_iter()
            .find(|o| o.cuor.trim() == e.doc_no)
            .expect("order")
            .orno;
        stack.m3_control(
            reqwest::Method::POST,
            &format!("/_control/orders/{}/advance", orno.trim()),
            serde_json::json!({ "to": status }),
        );
        let start = std::time::Instant::now();
        loop {
            let doc = stack.document(e.doc_id);
            if doc["header"]["DocStatus"] == name {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{}: quote status still {} (M3 order {orno} at {status})",
                e.doc_no,
                doc["header"]["DocStatus"]
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
