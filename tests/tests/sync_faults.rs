//! Issue 12, acceptance 4: the catalog, price and stock syncs through a faulty, slow M3 (20% of
//! its calls 503, 10% 429 with Retry-After, 5% connection resets, 100-150 ms each) and a
//! `kill -9` of `ferry serve` in the middle of each run. The restarted server resumes each run
//! at the page its checkpoint names (every page committed once: it did not start over), no
//! item is skipped (each read once), QuoteWerks has one product row per M3 item and ends equal
//! to M3.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ferry_tests::ferry;
use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_job};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The sim's product database is `M3`: its table `M3_Products`.
const TABLE: &str = "M3_Products";
const WAREHOUSE: &str = "200";
/// Items per page: the sim's 120 items are 12 pages.
const PAGE: u64 = 10;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s.trim()).unwrap_or_else(|e| panic!("{s:?} is no decimal: {e}"))
}

fn open(path: &std::path::Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).expect("database");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    db
}

/// Ferry's own store (SQLite in its data directory).
fn ferry_db(stack: &Stack) -> rusqlite::Connection {
    open(&ferry_layout::DataDir::new(&stack.data).db())
}

/// The job of `kind`: its state and checkpoint.
fn job(stack: &Stack, kind: &str) -> Option<(String, Value)> {
    ferry_db(stack)
        .query_row(
            "SELECT state, checkpoint FROM jobs WHERE tenant = ?1 AND kind = ?2 AND key NOT LIKE '%dry-run'",
            [TENANT, kind],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .ok()
        .map(|(state, cp)| (state, serde_json::from_str(&cp).expect("checkpoint JSON")))
}

fn last_audit_id(stack: &Stack) -> i64 {
    ferry_db(stack)
        .query_row("SELECT COALESCE(MAX(id), 0) FROM audit", [], |r| r.get(0))
        .expect("audit")
}

/// The page commits of `kind`'s runs after audit entry `after`, oldest first.
fn page_commits(stack: &Stack, kind: &str, after: i64) -> Vec<String> {
    let db = ferry_db(stack);
    let mut st = db
        .prepare(
            "SELECT a.message FROM audit a JOIN jobs j ON j.id = a.job_id
             WHERE a.id > ?1 AND j.kind = ?2 AND a.step IN ('page', 'synced') ORDER BY a.id",
        )
        .expect("prepare");
    st.query_map(rusqlite::params![after, kind], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// M3's items: ITNO → (name, list price, allocatable stock in [`WAREHOUSE`]).
fn m3(stack: &Stack) -> BTreeMap<String, (String, Decimal, Decimal)> {
    let db = open(&stack.m3.db_path());
    let mut st = db
        .prepare(
            "SELECT i.itno, i.itds, i.sapr, COALESCE(b.stqt, '0'), COALESCE(b.alqt, '0') FROM items i
             LEFT JOIN balances b ON b.itno = i.itno AND b.whlo = ?1",
        )
        .expect("prepare");
    st.query_map([WAREHOUSE], |r| {
        let (itno, itds, sapr, stqt, alqt): (String, String, String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        Ok((itno, (itds, dec(&sapr), dec(&stqt) - dec(&alqt))))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// QuoteWerks' product rows: (key, Description, List, Availability), every row (duplicates
/// too).
fn products(stack: &Stack) -> Vec<(String, String, Option<String>, Option<String>)> {
    let db = open(&stack.qw.db_path);
    let mut st = db
        .prepare(&format!(
            "SELECT ManufacturerPartNumber, Description, CAST(List AS TEXT), CAST(Availability AS TEXT)
             FROM {TABLE} ORDER BY 1"
        ))
        .expect("prepare");
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// One product row per M3 item, no other; with what `check` compares.
fn assert_one_row_per_item(
    stack: &Stack,
    check: impl Fn(&str, &(String, Decimal, Decimal), &(String, String, Option<String>, Option<String>)),
) {
    let m3 = m3(stack);
    let rows = products(stack);
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *per_key.entry(row.0.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "duplicate product rows: {twice:?}");
    assert_eq!(
        per_key.keys().copied().collect::<Vec<_>>(),
        m3.keys().map(String::as_str).collect::<Vec<_>>(),
        "QuoteWerks' products are M3's items"
    );
    for row in &rows {
        check(&row.0, &m3[&row.0], row);
    }
}

fn faulty_m3(stack: &Stack) {
    stack.m3_control(
        reqwest::Method::PUT,
        "/_control/faults",
        json!({
            "latency": { "min_ms": 100, "max_ms": 150 },
            "rate_503": 0.2,
            "rate_429": 0.1,
            "rate_reset": 0.05,
            "retry_after_secs": 1,
        }),
    );
}

/// Queues `ferry sync WHAT` without waiting, kills `ferry serve` (SIGKILL) once the run has
/// committed a few pages and before its last, starts it again and waits for the run to end.
/// Returns the pages committed before the kill.
fn run_killed_mid_way(
    stack: &mut Stack,
    what: &str,
    kind: &str,
    pages: u64,
    extra: &[&str],
) -> u64 {
    let config = stack.config.to_str().expect("utf-8").to_string();
    let mut args = vec![
        "--config",
        &config,
        "sync",
        what,
        "--tenant",
        TENANT,
        "--no-wait",
    ];
    args.extend_from_slice(extra);
    ferry(&stack.data, &args).expect_code(0);
    let start = Instant::now();
    loop {
        if let Some((state, cp)) = job(stack, kind) {
            assert_ne!(state, "done", "{what}: the run ended before the kill: {cp}");
            if state == "running" && cp["report"]["pages"].as_u64().unwrap_or(0) >= 2 {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: no page in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stack.kill_ferry();
    let (state, cp) = job(stack, kind).expect("the job");
    let done = cp["report"]["pages"].as_u64().unwrap_or(0);
    assert!(
        state != "done" && !cp["finished"].as_bool().unwrap_or(true) && done < pages,
        "{what}: the kill landed after the run: {state} {cp}"
    );
    stack.start_ferry();
    let start = Instant::now();
    loop {
        let (state, cp) = job(stack, kind).expect("the job");
        match state.as_str() {
            "done" => break,
            "held" | "dead" => panic!("{what} ended {state}: {cp}"),
            _ => {}
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not done in 60 s: {state} {cp}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    done
}

/// The run after the kill went on from its checkpoint: every page committed exactly once, each
/// item read once.
fn assert_resumed(stack: &Stack, kind: &str, before: i64, pages: u64, items: u64, killed_at: u64) {
    let (_, cp) = job(stack, kind).expect("the job");
    let commits = page_commits(stack, kind, before);
    assert_eq!(
        commits.len() as u64,
        pages,
        "{kind}: one commit per page (killed after page {killed_at}): {commits:#?}"
    );
    assert!(
        commits[killed_at as usize].starts_with(&format!("page {}:", killed_at + 1)),
        "{kind}: the restarted run went on at page {}: {commits:#?}",
        killed_at + 1
    );
    assert_eq!(
        (count(&cp, "pages"), count(&cp, "read")),
        (pages, items),
        "{kind}: every page and item once: {cp}"
    );
}

#[test]
fn syncs_survive_faults_and_kill_9_resuming_without_skips_or_duplicates() {
    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    // A short lease: the restarted server takes the killed one's run over within seconds.
    let text = std::fs::read_to_string(&stack.config).expect("config");
    let text = text.replacen("[server]\n", "[server]\nlease_ms = 2000\n", 1);
    std::fs::write(
        &stack.config,
        format!(
            "{text}\n[tenants.{TENANT}.sync.catalog]\npage_size = {PAGE}\nbatch_size = 4\n\
             \n[tenants.{TENANT}.sync.prices]\npage_size = {PAGE}\nbatch_size = 5\n\
             \n[tenants.{TENANT}.sync.stock]\npage_size = {PAGE}\nbatch_size = 5\nwarehouses = [\"{WAREHOUSE}\"]\n"
        ),
    )
    .expect("config");
    drop(listener);
    stack.start_ferry();

    // The simulator seeds QuoteWerks with M3's items; start from an empty product table.
    open(&stack.qw.db_path)
        .execute(&format!("DELETE FROM {TABLE}"), [])
        .expect("empty the product table");
    let items = m3(&stack).len() as u64;
    let pages = items.div_ceil(PAGE);
    assert!(pages >= 6, "{items} items");

    faulty_m3(&stack);
    for (what, kind, extra) in [
        ("catalog", "catalog-sync", &["--full"][..]),
        ("prices", "price-sync", &[][..]),
        ("stock", "stock-sync", &[][..]),
    ] {
        let before = last_audit_id(&stack);
        let killed_at = run_killed_mid_way(&mut stack, what, kind, pages, extra);
        assert_resumed(&stack, kind, before, pages, items, killed_at);
    }
    let served = stack.m3_control(reqwest::Method::GET, "/_control/requests", Value::Null);
    stack.m3_control(reqwest::Method::DELETE, "/_control/faults", Value::Null);

    assert_one_row_per_item(
        &stack,
        |itno, (itds, price, stock), (_, name, list, available)| {
            // The mapping writes the name first, then the vendor and the long text.
            assert!(
                name.starts_with(itds.trim()),
                "description of {itno}: {name}"
            );
            assert_eq!(
                dec(list.as_deref().unwrap_or("")),
                *price,
                "list price of {itno}"
            );
            assert_eq!(
                dec(available.as_deref().unwrap_or("")),
                *stock,
                "stock of {itno}"
            );
        },
    );
    // Nothing is left to write: what Ferry recorded as written is what QuoteWerks has.
    for what in ["prices", "stock"] {
        // In full: a price run is a delta by default (it would read only today's changes).
        let run = sync_job(&stack, what, &["--full"]);
        assert_eq!(
            (count(&run, "written"), count(&run, "unchanged")),
            (0, items),
            "{what}: {run}"
        );
    }
    let run = sync_job(&stack, "catalog", &["--full"]);
    assert_eq!(
        (
            count(&run, "inserted"),
            count(&run, "updated"),
            count(&run, "read")
        ),
        (0, 0, items),
        "catalog: {run} (M3 served {served})"
    );
}
