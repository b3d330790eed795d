//! The SQL capability holds: a hostile quoting plugin (plugins/testing/hostile-sql) granted one
//! SQLite file tries every way out of it — ATTACH the host's own database, VACUUM INTO a new
//! file, writable PRAGMAs, load_extension, virtual tables, its own transactions — and gets a
//! clear refusal each time, while the host's database stays byte-identical and no file appears.
//! A query that never ends stops at the call's deadline as a deadline stop, and calls queued on
//! one connection each end by their own deadline. SQL Server's checks run before a session is
//! dialled (a listener that never answers stands in for the server).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use ferry::runtime::bindings::sql::Statement;
use ferry::runtime::bindings::types::{Document, Error, Value};
use ferry::runtime::connections::sql::{SqlConnection, SqlServerSettings, SqlStop, SqliteSettings};
use ferry::runtime::grants::Secret;
use ferry::runtime::{CallError, Grants, Plugin, Role, Runtime, RuntimeSettings};

struct Env {
    dir: tempfile::TempDir,
    host_db: PathBuf,
    granted: PathBuf,
    rt: Arc<Runtime>,
    plugin: Plugin,
    grants: Arc<Grants>,
}

fn env(deadline_ms: u64) -> Env {
    let dir = tempfile::tempdir().expect("tmp");
    // The host's own database, as ferry.db would be: what a tenant must never read or change.
    let host_db = dir.path().join("ferry.db");
    rusqlite::Connection::open(&host_db)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE activations (tenant TEXT, role TEXT, digest TEXT);
                 INSERT INTO activations VALUES ('acme', 'erp', 'aa11'), ('globex', 'quoting', 'bb22');",
            )
        })
        .expect("host db");
    let granted = dir.path().join("quotewerks.db");
    rusqlite::Connection::open(&granted)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE DocumentHeaders (ID TEXT PRIMARY KEY, DocNo TEXT);
                 CREATE TABLE DocumentItems (ID INTEGER PRIMARY KEY, DocID TEXT);
                 INSERT INTO DocumentHeaders VALUES ('7', 'Q1007');",
            )
        })
        .expect("granted db");
    let rt = Runtime::new(RuntimeSettings {
        call_deadline_ms: deadline_ms,
        ..settings()
    })
    .expect("runtime");
    let plugin = load(&rt, "hostile_sql", Role::Quoting);
    let mut g = grants("evil");
    let sqlite = SqliteSettings {
        path: granted.clone(),
        max_rows: 100,
        busy_timeout_ms: 5_000,
    };
    g.sql.insert(
        "qw".into(),
        Arc::new(SqlConnection::sqlite("qw", &sqlite).expect("sql")),
    );
    Env {
        dir,
        host_db,
        granted,
        rt,
        plugin,
        grants: Arc::new(g),
    }
}

/// One attempt of the fixture; the test's own timeout turns a hang into a failure.
async fn attempt(env: &Env, id: &str) -> Result<Result<Document, Error>, CallError> {
    attempt_on(&env.rt, &env.plugin, &env.grants, id).await
}

async fn attempt_on(
    rt: &Runtime,
    plugin: &Plugin,
    grants: &Arc<Grants>,
    id: &str,
) -> Result<Result<Document, Error>, CallError> {
    let call = async {
        let mut call = rt
            .quoting(plugin, grants.clone())
            .await
            .expect("instantiate");
        let (q, store) = call.parts();
        let r = q.ferry_quoting_quoting().call_get_quote(store, id).await;
        call.finish(r)
    };
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .unwrap_or_else(|_| panic!("{id}: still running after 20 s"))
}

/// The fixture's report: step name → what happened.
fn steps(doc: &Document) -> BTreeMap<String, String> {
    doc.fields
        .iter()
        .map(|f| {
            let text = match &f.value {
                Value::Text(t) => t.clone(),
                other => format!("{other:?}"),
            };
            (f.name.clone(), text)
        })
        .collect()
}

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

fn count_headers(env: &Env) -> i64 {
    rusqlite::Connection::open(&env.granted)
        .and_then(|c| c.query_row("SELECT count(*) FROM DocumentHeaders", [], |r| r.get(0)))
        .expect("count")
}

#[tokio::test]
async fn every_escape_is_refused_and_nothing_outside_the_granted_database_changes() {
    let env = env(5_000);
    let host = env.host_db.display().to_string();
    let at = |name: &str| env.dir.path().join(name).display().to_string();
    let host_before = std::fs::read(&env.host_db).expect("host db");
    let mut files_before: Vec<String> = snapshot(env.dir.path()).into_keys().collect();
    files_before.sort();

    // The control: the fixture reads its own database's schema.
    let ok = attempt(&env, "schema")
        .await
        .expect("call")
        .expect("report");
    assert_eq!(
        steps(&ok)["columns"],
        "allowed: 2 row(s): ID, DocNo",
        "the fixture must be able to use its grant"
    );

    let attempts: [(String, &str, &str); 11] = [
        (format!("attach|{host}"), "attach", "ATTACH is not allowed"),
        (
            format!("attach-new|{}", at("new.db")),
            "attach",
            "ATTACH is not allowed",
        ),
        (
            format!("attach-in-transaction|{host}"),
            "transaction",
            "ATTACH is not allowed",
        ),
        (
            format!("attach-second-statement|{host}"),
            "batch",
            "ATTACH is not allowed",
        ),
        ("detach".into(), "detach", "DETACH is not allowed"),
        (
            format!("vacuum-into|{}", at("stolen.db")),
            "vacuum-into",
            "VACUUM is not allowed",
        ),
        (
            "writable-schema".into(),
            "pragma",
            "PRAGMA writable_schema = 1 is not allowed",
        ),
        (
            "database-list".into(),
            "pragma",
            "PRAGMA database_list is not allowed",
        ),
        (
            format!("load-extension|{}", at("evil.so")),
            "load",
            "load_extension() is not allowed",
        ),
        (
            "virtual-table".into(),
            "create",
            "virtual tables are not allowed",
        ),
        ("begin".into(), "begin", "transaction control is the host's"),
    ];
    for (id, step, why) in &attempts {
        let report = attempt(&env, id)
            .await
            .unwrap_or_else(|e| panic!("{id}: the call failed: {e}"))
            .unwrap_or_else(|e| panic!("{id}: the fixture failed: {e:?}"));
        let steps = steps(&report);
        assert!(
            steps[*step].starts_with("refused: ") && steps[*step].contains(why),
            "{id}: {step} was {:?}, expected a refusal saying {why:?}",
            steps[*step]
        );
        // Every later step of the attempt (read the attached db, write through it…) fails too.
        for (name, outcome) in &steps {
            assert!(outcome.starts_with("refused: "), "{id}: {name}: {outcome}");
        }
    }

    assert_eq!(
        std::fs::read(&env.host_db).expect("host db"),
        host_before,
        "the host's database changed"
    );
    let mut files_after: Vec<String> = snapshot(env.dir.path()).into_keys().collect();
    files_after.sort();
    assert_eq!(files_after, files_before, "files appeared or vanished");
    // The insert before the refused ATTACH was rolled back with its transaction.
    assert_eq!(count_headers(&env), 1);
    // And the connection still works, outside any transaction.
    let ok = attempt(&env, "schema")
        .await
        .expect("call")
        .expect("report");
    assert!(steps(&ok)["columns"].starts_with("allowed: "));
}

#[tokio::test]
async fn a_query_that_never_ends_stops_at_the_deadline_as_a_deadline_stop() {
    let env = env(500);
    // Baseline: a quick call's whole cost (instantiation, the import, the report) in this run.
    let started = Instant::now();
    attempt(&env, "schema")
        .await
        .expect("call")
        .expect("report");
    let baseline = started.elapsed();

    let started = Instant::now();
    let outcome = attempt(&env, "slow").await;
    let took = started.elapsed();
    assert_eq!(outcome, Err(CallError::Deadline { deadline_ms: 500 }));
    assert!(
        took < Duration::from_millis(500) + baseline + Duration::from_secs(2),
        "the slow query ran {took:?} past a 500 ms deadline (baseline call {baseline:?})"
    );
    // The connection is free and usable at once.
    let ok = attempt(&env, "schema")
        .await
        .expect("call")
        .expect("report");
    assert!(steps(&ok)["columns"].starts_with("allowed: "));
}

#[tokio::test]
async fn calls_queued_on_one_connection_each_end_by_their_own_deadline() {
    let env = env(500);
    let started = Instant::now();
    attempt(&env, "schema")
        .await
        .expect("call")
        .expect("report");
    let baseline = started.elapsed();

    let started = Instant::now();
    let calls = (0..4).map(|_| async {
        let outcome = attempt(&env, "slow").await;
        (outcome, started.elapsed())
    });
    let outcomes = futures_util::future::join_all(calls).await;
    for (outcome, took) in &outcomes {
        assert_eq!(outcome, &Err(CallError::Deadline { deadline_ms: 500 }));
        // Four 500 ms calls queued on one connection used to take four deadlines and more.
        assert!(
            *took < Duration::from_millis(500) + baseline + Duration::from_millis(1_500),
            "a queued call took {took:?} (baseline call {baseline:?})"
        );
    }
}

#[tokio::test]
async fn a_call_waiting_for_a_busy_connection_gives_up_at_its_own_deadline() {
    // The holder: a call with a 4 s budget running a query that never ends.
    let env = env(4_000);
    // The waiter: another runtime's 500 ms call on the same connection (its own turns, so
    // only the connection is shared).
    let quick = Runtime::new(RuntimeSettings {
        call_deadline_ms: 500,
        ..settings()
    })
    .expect("runtime");
    let quick_plugin = load(&quick, "hostile_sql", Role::Quoting);
    let started = Instant::now();
    attempt_on(&quick, &quick_plugin, &env.grants, "schema")
        .await
        .expect("call")
        .expect("report");
    let baseline = started.elapsed();

    let holder = attempt(&env, "slow");
    let waiter = async {
        // Let the holder take the connection first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        let outcome = attempt_on(&quick, &quick_plugin, &env.grants, "schema").await;
        (outcome, started.elapsed())
    };
    let (held, (waited, took)) = tokio::join!(holder, waiter);
    assert_eq!(waited, Err(CallError::Deadline { deadline_ms: 500 }));
    assert!(
        took < Duration::from_millis(500) + baseline + Duration::from_millis(1_500),
        "the waiting call took {took:?} behind a 4 s holder (baseline call {baseline:?})"
    );
    assert_eq!(held, Err(CallError::Deadline { deadline_ms: 4_000 }));
}

/// A TCP listener that accepts and never answers: a SQL Server that hangs.
async fn silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (
        format!("server=tcp:127.0.0.1,{port};database=qw;user=u;password=p;encrypt=false"),
        accepted,
    )
}

#[tokio::test]
async fn sql_server_refuses_before_dialling_and_stops_at_the_deadline() {
    let (conn_string, accepted) = silent_server().await;
    let conn = SqlConnection::sql_server(
        "qw",
        &SqlServerSettings::default(),
        Secret::new(&conn_string),
    )
    .expect("connection");
    let stmt = |sql: &str| Statement {
        sql: sql.into(),
        params: vec![],
    };
    let soon = || Instant::now() + Duration::from_secs(5);
    for sql in [
        "SELECT * FROM master.dbo.sysdatabases",
        "EXEC xp_cmdshell 'whoami'",
        "SELECT * FROM OPENROWSET(BULK 'C:\\secrets.txt', SINGLE_CLOB) AS x",
        "USE master",
        "SELECT 1; SELECT 2",
        "UPDATE DocumentHeaders SET DocNo = 'x' DELETE FROM DocumentItems",
    ] {
        match conn.query(stmt(sql), soon()).await {
            Err(SqlStop::Failed(Error::Fatal(m))) => {
                assert!(m.contains("refused"), "{sql}: {m}")
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a refused statement dialled"
    );

    // An allowed statement on a server that never answers ends at the caller's deadline.
    let started = Instant::now();
    let outcome = conn
        .query(
            stmt("SELECT TOP 1 * FROM DocumentHeaders"),
            Instant::now() + Duration::from_millis(300),
        )
        .await;
    assert_eq!(outcome, Err(SqlStop::Deadline));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
