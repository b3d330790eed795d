//! The catalog sync over the real binary and both simulators: `ferry sync catalog --full` puts
//! M3's items into QuoteWerks' product table (a `--dry-run` first writes nothing), a second
//! run writes nothing, an item changed in M3 arrives with a delta, and an item set to status 90
//! is marked discontinued (not deleted), by a delta run and by M3's SyncItemMaster BOD alone.

use std::io::Write as _;

use ferry_tests::ferry;
use ferry_tests::runs::{plugin_calls, requested, run_detail};
use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_job};
use serde_json::json;

/// The sim's product database is `M3`: its table `M3_Products`.
const TABLE: &str = "M3_Products";

fn products(stack: &Stack) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(&stack.qw.db_path).expect("the QuoteWerks database");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    db
}

fn keys(stack: &Stack) -> Vec<String> {
    let db = products(stack);
    let mut st = db
        .prepare(&format!(
            "SELECT ManufacturerPartNumber FROM {TABLE} ORDER BY 1"
        ))
        .expect("prepare");
    st.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn column(stack: &Stack, key: &str, column: &str) -> String {
    products(stack)
        .query_row(
            &format!(
                "SELECT CAST({column} AS TEXT) FROM {TABLE} WHERE ManufacturerPartNumber = ?1"
            ),
            [key],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("product {key}: {e}"))
}

#[test]
fn the_catalog_follows_m3_full_then_by_delta() {
    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    // QuoteWerks has no standard "inactive" column: this tenant marks discontinued products
    // in a custom text field.
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&stack.config)
        .expect("config");
    writeln!(
        config,
        "\n[tenants.{TENANT}.sync.catalog]\npage_size = 50\ninactive_field = \"CustomText02\"\ninactive_value = \"Discontinued\""
    )
    .expect("write config");
    drop(config);
    drop(listener);
    stack.start_ferry();

    // The simulator seeds QuoteWerks with M3's items; start from an empty product table.
    let items = keys(&stack);
    assert!(items.len() > 100, "{} items", items.len());
    products(&stack)
        .execute(&format!("DELETE FROM {TABLE}"), [])
        .expect("empty the product table");

    let config_path = stack.config.to_str().expect("utf-8").to_string();
    // A --since that is no date, or one beside --full, is refused with the reason, before
    // anything is queued.
    let base = [
        "--config",
        config_path.as_str(),
        "sync",
        "catalog",
        "--tenant",
        TENANT,
    ];
    for bad in ["last tuesday", "2026-13-45", "30/11/2026"] {
        let run = ferry(&stack.data, &[&base[..], &["--since", bad]].concat()).expect_code(3);
        assert!(
            run.stderr.contains("--since") && run.stderr.contains(bad),
            "{}",
            run.stderr
        );
    }
    let both = ferry(
        &stack.data,
        &[&base[..], &["--since", "2026-11-30", "--full"]].concat(),
    );
    assert_ne!(both.code, 0);
    assert!(both.stderr.contains("--full"), "{}", both.stderr);

    // A dry run reads and maps everything and writes nothing.
    let dry = ferry(
        &stack.data,
        &[
            "--config",
            &config_path,
            "sync",
            "catalog",
            "--tenant",
            TENANT,
            "--full",
            "--dry-run",
            "--json",
            "--timeout-secs",
            "120",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(count(&dry, "would_write"), items.len() as u64, "{dry}");
    assert_eq!(count(&dry, "inserted"), 0, "{dry}");
    assert!(keys(&stack).is_empty(), "a dry run wrote products");

    let first = sync_job(&stack, "catalog", &["--full"]);
    assert_eq!(count(&first, "inserted"), items.len() as u64, "{first}");
    assert_eq!(count(&first, "failed"), 0, "{first}");
    assert_eq!(keys(&stack), items, "every M3 item is a product");

    // The run detail (issue 13, screen 3) shows the sync's plugin calls: the M3 listing it
    // sent, the mapping, the QuoteWerks write; for the first page and the last, not all of
    // this run's pages.
    let detail = run_detail(&stack, "catalog", Some("catalog-sync"));
    let calls = plugin_calls(&detail);
    assert!(
        calls
            .iter()
            .any(|c| c["role"] == "erp" && requested(c, "MMS200MI/LstItmByItm")),
        "no LstItmByItm request in {}",
        detail["steps"]
    );
    for role in ["transform", "quoting"] {
        assert!(
            calls.iter().any(|c| c["role"] == role),
            "no {role} call in {}",
            detail["steps"]
        );
    }
    let pages = count(&first, "pages");
    assert!(pages > 2, "{first}");
    let logged = detail["trail"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["data"]["calls"].is_array())
        .count();
    assert_eq!(
        logged, 2,
        "entries with calls for {pages} pages: {}",
        detail["trail"]
    );

    let lists = |detail: &serde_json::Value| {
        plugin_calls(detail)
            .iter()
            .filter(|c| c["role"] == "erp")
            .count()
    };
    // The first page's entry holds its own listing and the two made during it (the next page
    // is listed and mapped, the one after it listed, while a page is written); the listings
    // made during the pages between are not kept: a bounded trail, not one entry per page.
    assert_eq!(
        lists(&detail),
        3,
        "the first page's listing and the two made ahead"
    );

    let second = sync_job(&stack, "catalog", &["--full"]);
    assert_eq!(count(&second, "unchanged"), items.len() as u64, "{second}");
    // Every run shares the key `catalog`: the detail's steps are the newest run's alone.
    let again = run_detail(&stack, "catalog", Some("catalog-sync"));
    assert_eq!(lists(&again), 3, "{}", again["steps"]);
    assert_eq!(
        (count(&second, "inserted"), count(&second, "updated")),
        (0, 0),
        "{second}"
    );

    let (renamed, dropped) = (&items[3], &items[7]);
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{renamed}"),
        json!({ "itds": "Renamed in M3" }),
    );
    let delta = sync_job(&stack, "catalog", &[]);
    assert_eq!(count(&delta, "updated"), 1, "{delta}");
    assert!(
        count(&delta, "read") < items.len() as u64,
        "a delta reads the changed items only: {delta}"
    );
    assert!(
        column(&stack, renamed, "Description").starts_with("Renamed in M3"),
        "{}",
        column(&stack, renamed, "Description")
    );

    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{dropped}"),
        json!({ "stat": "90" }),
    );
    let delta = sync_job(&stack, "catalog", &[]);
    assert_eq!(count(&delta, "deactivated"), 1, "{delta}");
    assert_eq!(column(&stack, dropped, "CustomText02"), "Discontinued");
    assert_eq!(keys(&stack).len(), items.len(), "nothing deleted");

    // M3 discontinues another item and sends its SyncItemMaster BOD: with no `ferry sync`,
    // the BOD's catalog delta marks the product.
    let by_bod = items
        .iter()
        .skip(8)
        .find(|i| column(&stack, i, "CustomText02") != "Discontinued")
        .expect("an item still sold");
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/items/{by_bod}"),
        json!({ "stat": "90" }),
    );
    let bod = stack
        .m3
        .bods()
        .expect("bods")
        .into_iter()
        .rev()
        .find(|b| b.xml.contains("SyncItemMaster") && b.xml.contains(by_bod.as_str()))
        .unwrap_or_else(|| panic!("no SyncItemMaster BOD for {by_bod}"))
        .xml;
    let (status, reply) = stack.post_bod(&bod).expect("post");
    assert_eq!(status, 202, "{reply}");
    let start = std::time::Instant::now();
    while column(&stack, by_bod, "CustomText02") != "Discontinued" {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{by_bod} not marked after its BOD: {:?}",
            column(&stack, by_bod, "CustomText02")
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(keys(&stack).len(), items.len(), "nothing deleted");
}
