//! The catalog, price and stock syncs at scale (issue 12, acceptance 1), over the real binary
//! and both simulators: N items with prices and stock; full `ferry sync catalog`, `prices` and
//! `stock` leave QuoteWerks matching M3 item for item (description, discontinued mark, list
//! price, stock, read from both simulators' databases); a second full round writes nothing
//! (every summary unchanged, and a trigger on QuoteWerks' product table logs no write); 1% of
//! the items changed in M3 (descriptions, prices, stock, one discontinued) are exactly what the
//! next runs write, named in their `--json`, and the discontinued one is marked so.
//!
//! N is `FERRY_SYNC_SCALE_ITEMS`, default 5,000 so the debug build in CI stays under a minute
//! (10,000 took 90 s); 100,000 is run by hand (`FERRY_SYNC_SCALE_ITEMS=100000 cargo test -p
//! ferry-tests --test sync_scale -- --nocapture`, figures printed per run, reported in README's
//! performance section).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::str::FromStr;
use std::time::Instant;

use ferry_tests::ferry;
use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::count;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The sim's product database is `M3`: its table `M3_Products`.
const TABLE: &str = "M3_Products";
/// The tenant's stock comes from this warehouse only.
const WAREHOUSE: &str = "200";
const DEFAULT_ITEMS: usize = 5_000;

fn items_wanted() -> usize {
    std::env::var("FERRY_SYNC_SCALE_ITEMS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(DEFAULT_ITEMS)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s.trim()).unwrap_or_else(|e| panic!("{s:?} is no decimal: {e}"))
}

fn open(path: &std::path::Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).expect("a simulator's database");
    db.busy_timeout(std::time::Duration::from_secs(30))
        .expect("busy timeout");
    db
}

/// One item as both sides should show it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    description: String,
    /// M3: status 90; QuoteWerks: the tenant's inactive field (QuoteWerks has no standard one).
    discontinued: bool,
    list: Decimal,
    stock: Decimal,
}

/// M3's items, from its database: ITNO → what QuoteWerks should show.
fn m3(stack: &Stack) -> BTreeMap<String, Item> {
    let db = open(&stack.m3.db_path());
    let mut st = db
        .prepare(
            "SELECT i.itno, i.itds, i.fuds, i.stat, i.sapr, COALESCE(b.stqt, '0'),
               COALESCE(b.alqt, '0')
             FROM items i LEFT JOIN balances b ON b.itno = i.itno AND b.whlo = ?1",
        )
        .expect("prepare");
    st.query_map([WAREHOUSE], |r| {
        let (itno, itds, fuds, stat): (String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let (sapr, stqt, alqt): (String, String, String) = (r.get(4)?, r.get(5)?, r.get(6)?);
        Ok((
            itno,
            Item {
                description: format!("{} {}", itds.trim(), fuds.trim())
                    .trim()
                    .to_string(),
                discontinued: stat == "90",
                list: dec(&sapr),
                stock: dec(&stqt) - dec(&alqt),
            },
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// QuoteWerks' products, from its database.
fn quotewerks(stack: &Stack) -> BTreeMap<String, Item> {
    let db = open(&stack.qw.db_path);
    let mut st = db
        .prepare(&format!(
            "SELECT ManufacturerPartNumber, Description, CustomText02,
               CAST(List AS TEXT), CAST(Availability AS TEXT) FROM {TABLE}"
        ))
        .expect("prepare");
    st.query_map([], |r| {
        let (key, description, mark, list, stock): (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        Ok((
            key,
            Item {
                description: description.unwrap_or_default().trim().to_string(),
                discontinued: mark.as_deref() == Some("Discontinued"),
                list: dec(&list.unwrap_or_else(|| "0".into())),
                stock: dec(&stock.unwrap_or_else(|| "0".into())),
            },
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Every M3 item is a product with its description, status, list price and stock, and there
/// is no other product.
fn assert_in_step(stack: &Stack, n: usize) {
    let (m3, qw) = (m3(stack), quotewerks(stack));
    assert_eq!(m3.len(), n, "M3 items");
    let mismatched: Vec<_> = m3
        .iter()
        .filter(|(k, item)| qw.get(*k) != Some(item))
        .take(5)
        .map(|(k, item)| (k, item, qw.get(k)))
        .collect();
    assert!(mismatched.is_empty(), "M3 vs QuoteWerks: {mismatched:#?}");
    assert_eq!(qw.len(), m3.len(), "products that are no M3 item");
}

/// Logs every write to QuoteWerks' product table (the key) into `product_writes`.
fn watch_writes(stack: &Stack) {
    open(&stack.qw.db_path)
        .execute_batch(&format!(
            "CREATE TABLE product_writes (key TEXT NOT NULL);
             CREATE TRIGGER product_insert AFTER INSERT ON {TABLE}
               BEGIN INSERT INTO product_writes VALUES (new.ManufacturerPartNumber); END;
             CREATE TRIGGER product_update AFTER UPDATE ON {TABLE}
               BEGIN INSERT INTO product_writes VALUES (new.ManufacturerPartNumber); END;
             CREATE TRIGGER product_delete AFTER DELETE ON {TABLE}
               BEGIN INSERT INTO product_writes VALUES (old.ManufacturerPartNumber); END;"
        ))
        .expect("the write log");
}

/// The products written since the last call (emptying the log).
fn writes(stack: &Stack) -> BTreeSet<String> {
    let db = open(&stack.qw.db_path);
    let mut st = db
        .prepare("SELECT key FROM product_writes")
        .expect("prepare");
    let keys = st
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    db.execute("DELETE FROM product_writes", [])
        .expect("empty the log");
    keys
}

/// `ferry sync WHAT --json EXTRA…` followed to its end (done); prints its time.
fn sync(stack: &Stack, what: &str, extra: &[&str]) -> Value {
    let config = stack.config.to_str().expect("utf-8");
    let mut args = vec![
        "--config",
        config,
        "sync",
        what,
        "--tenant",
        TENANT,
        "--json",
        "--timeout-secs",
        "1200",
    ];
    args.extend(extra);
    let t = Instant::now();
    let run = ferry(&stack.data, &args).expect_code(0).json();
    let mut report = run["report"].clone();
    if let Some(r) = report.as_object_mut() {
        r.remove("written_keys");
        r.remove("would_write_keys");
    }
    eprintln!(
        "sync {what} {extra:?}: {:.2?}, m3 requests so far {}: {report}",
        t.elapsed(),
        stack.m3.mi_requests()
    );
    assert_eq!(run["state"], "done", "{run}");
    run
}

/// `ferry sync WHAT EXTRA…` with its output piped (plain lines), followed to its end; its
/// output.
fn sync_plain(stack: &Stack, what: &str, extra: &[&str]) -> String {
    let config = stack.config.to_str().expect("utf-8");
    let mut args = vec!["--config", config, "sync", what, "--tenant", TENANT];
    args.extend(["--timeout-secs", "1200"]);
    args.extend(extra);
    let t = Instant::now();
    let run = ferry(&stack.data, &args).expect_code(0);
    eprintln!("sync {what} {extra:?} (plain): {:.2?}", t.elapsed());
    run.stdout
}

fn written_keys(run: &Value) -> BTreeSet<String> {
    run["report"]["written_keys"]
        .as_array()
        .unwrap_or_else(|| panic!("written_keys in {run}"))
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

fn change(stack: &Stack, itno: &str, body: Value) {
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{itno}"),
        body,
    );
}

#[test]
fn n_items_sync_in_full_then_a_one_percent_change_writes_exactly_that() {
    let n = items_wanted();
    let t = Instant::now();
    let (mut stack, listener) = Stack::simulators_with_items(
        Options {
            m3_flags: &[],
            create_customers: false,
            order_entry: "batch",
        },
        n,
    );
    eprintln!("{n} items seeded in both simulators: {:.2?}", t.elapsed());
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&stack.config)
        .expect("config");
    writeln!(
        config,
        "\n[tenants.{TENANT}.sync.catalog]\ninactive_field = \"CustomText02\"\n\
         inactive_value = \"Discontinued\"\n\n\
         [tenants.{TENANT}.sync.stock]\nwarehouses = [\"{WAREHOUSE}\"]"
    )
    .expect("write config");
    drop(config);
    drop(listener);
    stack.start_ferry();

    // A new install: QuoteWerks has no product yet.
    open(&stack.qw.db_path)
        .execute(&format!("DELETE FROM {TABLE}"), [])
        .expect("empty the product table");

    let nn = n as u64;
    let catalog = sync(&stack, "catalog", &["--full"]);
    assert_eq!(
        (count(&catalog, "inserted"), count(&catalog, "failed")),
        (nn, 0),
        "{catalog}"
    );
    let prices = sync(&stack, "prices", &[]);
    assert_eq!(count(&prices, "written"), nn, "{prices}");
    let stock = sync(&stack, "stock", &[]);
    assert_eq!(count(&stock, "written"), nn, "{stock}");
    assert_in_step(&stack, n);

    // Again in full: nothing changed, nothing written, on either side. Followed as plain
    // lines (piped): a run that reads every item expects as many as the last one read, so
    // its lines say of how many and when it will end.
    watch_writes(&stack);
    let lines = sync_plain(&stack, "catalog", &["--full"]);
    assert!(
        lines.lines().any(|l| l.starts_with("running: ")
            && l.contains(&format!(" of ~{n} items read ("))
            && l.contains(" items/s, ETA ")),
        "no progress line with an end and an ETA:\n{lines}"
    );
    assert!(
        lines.ends_with(&format!(
            "catalog sync done: {n} read, 0 inserted, 0 updated, {n} unchanged, 0 deactivated, 0 failed\n"
        )),
        "{lines}"
    );
    for what in ["prices", "stock"] {
        let run = sync(&stack, what, &["--full"]);
        assert_eq!(
            (count(&run, "written"), count(&run, "unchanged")),
            (0, nn),
            "{run}"
        );
    }
    assert_eq!(writes(&stack), BTreeSet::new(), "QuoteWerks written");

    // 1% of the items change in M3: a third their description, a third their list price, a
    // third their stock in the tenant's warehouse; one of them is discontinued.
    let before = m3(&stack);
    let keys: Vec<&String> = before.keys().collect();
    let changed: Vec<&String> = keys.iter().step_by(100).copied().collect();
    let (mut described, mut priced, mut stocked) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (i, itno) in changed.iter().enumerate() {
        match i % 3 {
            0 => {
                change(&stack, itno, json!({ "itds": format!("Renamed {i}") }));
                described.insert(itno.to_string());
            }
            1 => {
                change(&stack, itno, json!({ "sapr": format!("{}.75", 100 + i) }));
                priced.insert(itno.to_string());
            }
            _ => {
                change(
                    &stack,
                    itno,
                    json!({ "stock": [{ "whlo": WAREHOUSE, "stqt": format!("{}", 5000 + i) }] }),
                );
                stocked.insert(itno.to_string());
            }
        }
    }
    let dropped = keys
        .iter()
        .find(|k| !changed.contains(k) && !before[**k].discontinued)
        .map(|k| k.to_string())
        .expect("an active item");
    change(&stack, &dropped, json!({ "stat": "90" }));

    // The catalog's delta reads the changed items and writes those whose mapped content
    // changed (the descriptions and the discontinued one); prices and stock theirs.
    let catalog = sync(&stack, "catalog", &[]);
    assert!(
        count(&catalog, "read") < nn / 10,
        "a delta reads the changed items only: {catalog}"
    );
    let mut expected = described.clone();
    expected.insert(dropped.clone());
    assert_eq!(written_keys(&catalog), expected, "catalog delta");
    assert_eq!(count(&catalog, "deactivated"), 1, "{catalog}");
    // Prices by delta: the items M3 changed since the last run, not all of them.
    let prices = sync(&stack, "prices", &[]);
    assert!(
        count(&prices, "read") < nn / 10,
        "a delta reads the changed items only: {prices}"
    );
    assert_eq!(written_keys(&prices), priced, "prices");
    assert_eq!(count(&prices, "written"), priced.len() as u64, "{prices}");
    // Stock by delta too: one listing of the balances M3 changed since the last run.
    let stock = sync(&stack, "stock", &[]);
    assert!(
        count(&stock, "read") < nn / 10,
        "a delta reads the changed items only: {stock}"
    );
    assert_eq!(written_keys(&stock), stocked, "stock");
    assert_eq!(count(&stock, "written"), stocked.len() as u64, "{stock}");

    let all: BTreeSet<String> = expected
        .iter()
        .chain(&priced)
        .chain(&stocked)
        .cloned()
        .collect();
    assert_eq!(writes(&stack), all, "QuoteWerks' written products");
    assert_in_step(&stack, n);
    assert!(
        quotewerks(&stack)[&dropped].discontinued,
        "{dropped} is not marked discontinued"
    );
    eprintln!("total {:.2?}", t.elapsed());
}
