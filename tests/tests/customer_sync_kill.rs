//! Issue 12, acceptance 4, for the customer sync: `ferry sync customers` is killed (SIGKILL)
//! while it creates M3 customers for new QuoteWerks companies, right after one is created and
//! before it is linked. The next run skips no company and makes no second M3 customer (it
//! finds the dead run's by e-mail and links it), and a third run writes nothing.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote};
use ferry_tests::ferry_bin;
use ferry_tests::orders::sellable_items;
use ferry_tests::stack::{Options, Stack, TENANT};
use ferry_tests::sync::{count, sync_json};
use serde_json::json;

const NEW: usize = 40;
/// Enough created before the kill to show the run was under way.
const KILL_AT: usize = 3;

fn open(path: &std::path::Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).expect("database");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    db
}

fn company(i: usize) -> (String, String, String) {
    (
        format!("CM95{i:03}"),
        format!("Kestrel Tools {i:02} Ltd"),
        format!("buyer{i:02}@kestrel{i:02}.example"),
    )
}

fn m3_count(stack: &Stack) -> i64 {
    open(&stack.m3.db_path())
        .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0))
        .expect("count")
}

/// The new companies' M3 customers: e-mail → every (CUNO, name) carrying it.
fn m3_new(stack: &Stack) -> BTreeMap<String, Vec<(String, String)>> {
    let db = open(&stack.m3.db_path());
    let mut st = db
        .prepare("SELECT lower(mail), cuno, cunm FROM customers WHERE mail LIKE '%@kestrel%'")
        .expect("prepare");
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .expect("query")
        .collect::<Result<Vec<(String, (String, String))>, _>>()
        .expect("rows");
    let mut by_mail: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (mail, c) in rows {
        by_mail.entry(mail).or_default().push(c);
    }
    by_mail
}

/// Ferry's customer links: QuoteWerks account → M3 customer.
fn links(stack: &Stack) -> BTreeMap<String, String> {
    let db = open(&ferry_layout::DataDir::new(&stack.data).db());
    let mut st = db
        .prepare("SELECT local_id, remote_id FROM xref WHERE tenant = ?1 AND kind = 'customer'")
        .expect("prepare");
    st.query_map([TENANT], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_killed_customer_sync_resumes_without_skips_or_duplicates() {
    let (mut stack, listener) = Stack::simulators(Options {
        // Only the read after a create is slow: a kill just after a create lands before the
        // link is stored, the window where a careless re-run would create the customer again.
        m3_flags: &[
            "--fault-latency-ms",
            "250-250",
            "--fault-target",
            "CRS610MI/GetBasicData",
        ],
        create_customers: true,
        order_entry: "batch",
    });
    // New M3 customers are made from one of the sim's templates.
    let text = std::fs::read_to_string(&stack.config).expect("config");
    assert!(text.contains("\"TEMPLATE\""), "{text}");
    std::fs::write(&stack.config, text.replace("\"TEMPLATE\"", "\"TMPLDOM\"")).expect("config");
    // `ferry serve` installs the configured plugins; the sync itself runs in the CLI's process.
    drop(listener);
    stack.start_ferry();

    let before = m3_count(&stack);
    for i in 1..=NEW {
        let (account, name, mail) = company(i);
        let mut q: NewQuote = serde_json::from_value(json!({
            "sold_to": {"company": name, "email": mail, "address1": format!("{i} Quay Street"),
                "city": "Galway", "country": "IE", "cm_account_no": account},
            "status": "1-In Progress",
            "lines": [],
        }))
        .expect("quote");
        q.lines = vec![NewLine::product(&sellable_items()[0], 1.into())];
        stack.create_quote(&q);
    }
    assert!(m3_new(&stack).is_empty(), "M3 knows a new company already");

    let config = stack.config.to_str().expect("utf-8");
    let log = stack.dir.path().join("killed-sync.log");
    let mut child = Command::new(ferry_bin())
        .arg("--data-dir")
        .arg(&stack.data)
        .args(["--config", config, "sync", "customers", "--tenant", TENANT])
        .args(["--full", "--json"])
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("starting ferry sync customers");
    let start = Instant::now();
    loop {
        if m3_new(&stack).len() >= KILL_AT {
            break;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("the sync ended ({status}) before {KILL_AT} customers existed:\n{log}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "fewer than {KILL_AT} customers created in 120 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let killed_after = start.elapsed();
    // A call already in the simulator finishes without its caller.
    std::thread::sleep(Duration::from_millis(500));
    let created = m3_new(&stack);
    let linked = links(&stack);
    let orphans: Vec<&String> = created
        .values()
        .flatten()
        .map(|(cuno, _)| cuno)
        .filter(|cuno| !linked.values().any(|l| l == *cuno))
        .collect();
    eprintln!(
        "killed after {killed_after:?}: {} of {NEW} created, {} linked, unlinked {orphans:?}",
        created.len(),
        linked.len()
    );
    assert!(
        (KILL_AT..NEW).contains(&created.len()),
        "the kill was not mid-run: {created:?}"
    );
    assert!(
        created.values().all(|c| c.len() == 1),
        "duplicates before the kill: {created:?}"
    );
    assert!(
        !orphans.is_empty(),
        "the kill missed the window between a create and its link: {created:?} {linked:?}"
    );

    let started = Instant::now();
    let resumed = sync_json(&stack, "customers", &[]);
    eprintln!("the re-run took {:?}", started.elapsed());
    assert_eq!(count(&resumed, "failed"), 0, "{resumed}");
    assert_eq!(count(&resumed, "held"), 0, "{resumed}");
    // The rest are created, the dead run's unlinked ones found and linked, none made again.
    assert_eq!(
        count(&resumed, "inserted"),
        (NEW - created.len()) as u64,
        "{resumed}"
    );
    assert_eq!(count(&resumed, "linked"), orphans.len() as u64, "{resumed}");

    let m3 = m3_new(&stack);
    let links = links(&stack);
    let twice: Vec<_> = m3.iter().filter(|(_, c)| c.len() > 1).collect();
    assert!(twice.is_empty(), "duplicate M3 customers: {twice:?}");
    for i in 1..=NEW {
        let (account, name, mail) = company(i);
        let Some([(cuno, cunm)]) = m3.get(&mail).map(Vec::as_slice) else {
            panic!("{name} ({mail}) has no single M3 customer: {m3:?}");
        };
        assert_eq!(cunm, &name, "{cuno}");
        assert_eq!(links.get(&account), Some(cuno), "{account} → {cuno}");
    }
    assert_eq!(m3_count(&stack) - before, NEW as i64, "new M3 customers");

    // Everything is linked and synced: nothing left to write.
    let third = sync_json(&stack, "customers", &["--full"]);
    for what in ["inserted", "updated", "linked", "failed", "held"] {
        assert_eq!(count(&third, what), 0, "{what}: {third}");
    }
}
