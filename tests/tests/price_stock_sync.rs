//! The price and stock syncs over the real binary and both simulators: after `ferry sync
//! catalog`, `ferry sync prices` and `ferry sync stock` leave every QuoteWerks product with
//! M3's list price and the allocatable stock of the configured warehouse; a second run writes
//! nothing and, as a delta, reads nothing; a few values changed in M3 are exactly what the
//! next run reads and writes (a `--dry-run`
//! first writes nothing); and runs against an M3 answering 20% of its calls with 503 end in the
//! same state as M3.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::str::FromStr;

use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_job};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The sim's product database is `M3`: its table `M3_Products`.
const TABLE: &str = "M3_Products";
/// The tenant's stock comes from this warehouse only (the sim stocks every item in 100, 200
/// and 300).
const WAREHOUSE: &str = "200";

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s.trim()).unwrap_or_else(|e| panic!("{s:?} is no decimal: {e}"))
}

/// QuoteWerks' products: key → (List, Availability).
fn quotewerks(stack: &Stack) -> BTreeMap<String, (String, String)> {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("the QuoteWerks database");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let mut st = db
        .prepare(&format!(
            "SELECT ManufacturerPartNumber, CAST(List AS TEXT), CAST(Availability AS TEXT) FROM {TABLE}"
        ))
        .expect("prepare");
    st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// M3's items: ITNO → (list price SAPR, allocatable stock in [`WAREHOUSE`]).
fn m3(stack: &Stack) -> BTreeMap<String, (Decimal, Decimal)> {
    let db = rusqlite::Connection::open(stack.m3.db_path()).expect("the M3 database");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let mut st = db
        .prepare(
            "SELECT i.itno, i.sapr, COALESCE(b.stqt, '0'), COALESCE(b.alqt, '0') FROM items i
             LEFT JOIN balances b ON b.itno = i.itno AND b.whlo = ?1",
        )
        .expect("prepare");
    st.query_map([WAREHOUSE], |r| {
        let (itno, sapr, stqt, alqt): (String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        Ok((itno, (dec(&sapr), dec(&stqt) - dec(&alqt))))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Every M3 item is a QuoteWerks product with its list price and stock.
fn assert_in_step(stack: &Stack) {
    let (m3, qw) = (m3(stack), quotewerks(stack));
    assert!(m3.len() > 100, "{} items", m3.len());
    for (itno, (price, stock)) in &m3 {
        let (list, available) = qw
            .get(itno)
            .unwrap_or_else(|| panic!("item {itno} has no product"));
        assert_eq!(dec(list), *price, "list price of {itno}");
        assert_eq!(dec(available), *stock, "stock of {itno}");
    }
}

/// (written, unchanged) of a run.
fn wrote(run: &Value) -> (u64, u64) {
    (count(run, "written"), count(run, "unchanged"))
}

fn set_price(stack: &Stack, itno: &str, price: &str) {
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{itno}"),
        json!({ "sapr": price }),
    );
}

fn set_stock(stack: &Stack, itno: &str, whlo: &str, on_hand: &str) {
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{itno}"),
        json!({ "stock": [{ "whlo": whlo, "stqt": on_hand }] }),
    );
}

#[test]
fn prices_and_stock_follow_m3_writing_only_what_changed_even_through_503s() {
    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&stack.config)
        .expect("config");
    writeln!(
        config,
        "\n[tenants.{TENANT}.sync.prices]\npage_size = 50\nbatch_size = 20\n\
         \n[tenants.{TENANT}.sync.stock]\npage_size = 50\nbatch_size = 20\nwarehouses = [\"{WAREHOUSE}\"]"
    )
    .expect("write config");
    drop(config);
    drop(listener);
    stack.start_ferry();

    sync_job(&stack, "catalog", &["--full"]);
    let items: Vec<String> = m3(&stack).into_keys().collect();
    let n = items.len() as u64;

    // First runs: every item's values written (none was before), QuoteWerks as M3.
    let prices = sync_job(&stack, "prices", &[]);
    assert_eq!(prices["target"], "prices", "{prices}");
    assert_eq!(
        (count(&prices, "read"), wrote(&prices)),
        (n, (n, 0)),
        "{prices}"
    );
    assert!(count(&prices, "batches") < n, "batched: {prices}");
    let stock = sync_job(&stack, "stock", &[]);
    assert_eq!(
        (count(&stock, "read"), wrote(&stock)),
        (n, (n, 0)),
        "{stock}"
    );
    assert_in_step(&stack);

    // Again: nothing changed, nothing written. Both run as deltas now: prices (no reference
    // customer) from M3's items listed by change date, stock from its balances listed by
    // change date (MMS080MI/LstItemWarehous): none changed since the last run, none read.
    for what in ["prices", "stock"] {
        let again = sync_job(&stack, what, &[]);
        assert_eq!(
            (count(&again, "read"), wrote(&again)),
            (0, (0, 0)),
            "{again}"
        );
        assert!(again["report"]["since"].is_string(), "a delta: {again}");
        assert_eq!(wrote(&sync_job(&stack, what, &["--full"])), (0, n));
    }

    // A few values change in M3; stock outside the tenant's warehouse is none of its business.
    let before = quotewerks(&stack);
    for (i, itno) in items.iter().take(3).enumerate() {
        set_price(&stack, itno, &format!("{}.25", 1000 + i));
    }
    set_stock(&stack, &items[10], WAREHOUSE, "4321");
    set_stock(&stack, &items[11], WAREHOUSE, "0");
    set_stock(&stack, &items[12], "100", "777");

    // A dry run tells which, and writes nothing.
    let dry = sync_job(&stack, "prices", &["--dry-run"]);
    assert_eq!(
        (count(&dry, "would_write"), count(&dry, "written")),
        (3, 0),
        "{dry}"
    );
    let mut keys: Vec<&str> = dry["report"]["would_write_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        items[..3].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let dry = sync_job(&stack, "stock", &["--dry-run"]);
    assert_eq!(
        (count(&dry, "would_write"), count(&dry, "written")),
        (2, 0),
        "{dry}"
    );
    assert_eq!(quotewerks(&stack), before, "a dry run wrote to QuoteWerks");

    // The runs write exactly those, and read only them: a stock change is no change of the
    // item (its price delta does not list it), and a balance changed outside the tenant's
    // warehouse is not listed by its stock delta.
    let prices = sync_job(&stack, "prices", &[]);
    assert_eq!(
        (count(&prices, "read"), wrote(&prices)),
        (3, (3, 0)),
        "{prices}"
    );
    let stock = sync_job(&stack, "stock", &[]);
    assert_eq!(
        (count(&stock, "read"), wrote(&stock)),
        (2, (2, 0)),
        "{stock}"
    );
    assert_in_step(&stack);

    // M3 answers one call in five with 503 (two for sure): the runs still end with QuoteWerks
    // as M3, every item read once a page completes, nothing written twice.
    for (i, itno) in items.iter().skip(20).take(4).enumerate() {
        set_price(&stack, itno, &format!("{}.50", 2000 + i));
        set_stock(&stack, itno, WAREHOUSE, &format!("{}", 50 + i));
    }
    stack.m3_control(
        reqwest::Method::PUT,
        "/_control/faults",
        json!({ "rate_503": 0.2, "retry_after_secs": 0, "queue": [{ "kind": "503", "count": 2 }] }),
    );
    for what in ["prices", "stock"] {
        let run = sync_job(&stack, what, &[]);
        let (written, unchanged) = wrote(&run);
        // A page cut short by a 503 is read again: what it wrote before counts as unchanged.
        assert!(
            written <= 4 && written + unchanged == count(&run, "read"),
            "{run}"
        );
        // Both by delta: at least the four changed here, never every item.
        let read = count(&run, "read");
        assert!(read >= 4 && read < n, "{run}");
    }
    let faults = stack.m3_control(reqwest::Method::GET, "/_control/faults", Value::Null);
    assert_eq!(
        faults["queue"],
        json!([]),
        "the two sure 503s were served: {faults}"
    );
    stack.m3_control(reqwest::Method::DELETE, "/_control/faults", Value::Null);
    assert_in_step(&stack);
    assert_eq!(wrote(&sync_job(&stack, "prices", &["--full"])), (0, n));
    assert_eq!(wrote(&sync_job(&stack, "stock", &["--full"])), (0, n));
}
