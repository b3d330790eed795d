//! `ferry serve` bounds every connection and request (issue 10 item 3 and its Low list), over
//! raw loopback sockets against the real binary: slow headers and idle connections are
//! closed, a slow body gets 408, an announced 1 GB body 413 at once, connections beyond the
//! limit are turned away while the server keeps answering, one tenant's flood gets 429 while
//! another's requests pass, `/readyz` says 503 when the store can't write, plugin log lines
//! can't forge lines, webhook JSON with a duplicate key is refused with nothing stored, and the
//! admin routes that change state (edit, fixes, replays) refuse an oversized body with 413.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_tests::{Running, ferry_bin, plugin, spawn};

/// Small timeouts so each test runs in seconds; `extra` adds or overrides `[server]` keys.
const SERVER: &str = "listen = \"127.0.0.1:0\"
max_body_bytes = 4096
header_timeout_ms = 600
body_timeout_ms = 1000
idle_timeout_ms = 1500
max_connections = 64
tenant_rate_per_sec = 1
tenant_burst = 5
ready_timeout_ms = 1500
";

/// Starts `ferry serve` with tenants `acme` and `beta` (no plugins unless `tenants` says).
fn start(dir: &Path, server: &str, tenants: &str) -> (Running, PathBuf) {
    let config = dir.join("ferry.toml");
    std::fs::write(
        &config,
        format!("[server]\n{server}\n[tenants.acme]\n[tenants.beta]\n{tenants}"),
    )
    .expect("config");
    let data = dir.join("data");
    let running = spawn(
        &data,
        &["--config", config.to_str().expect("utf-8"), "serve"],
    );
    (running, data)
}

fn addr(server: &Running) -> String {
    server.base_url().trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `within` passes): what it sent, and
/// whether it closed.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // Reset by the server: closed too.
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

/// One keep-alive `GET path` on `stream`; the status line and headers of the reply.
fn get_keep_alive(stream: &mut TcpStream, path: &str) -> String {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: ferry\r\n\r\n").expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).expect("reply");
        assert!(n > 0, "closed before replying");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// No pooled connections: a refusal (413, 429) closes its connection, and a pooled one could
/// be reused just as it closes.
fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

#[test]
fn slow_headers_are_cut_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, _) = start(dir.path(), SERVER, "");
    let addr = addr(&server);

    // Slowloris: a header byte every 100 ms, never finishing. The header timeout counts from
    // the first byte, so trickling doesn't keep the connection open.
    let mut slow = TcpStream::connect(&addr).expect("connect");
    let mut writer = slow.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        let _ = writer.write_all(b"POST /hooks/acme/quotewerks HTTP/1.1\r\nHost: ferry\r\n");
        for _ in 0..100 {
            if writer.write_all(b"X").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(6));
    assert!(
        closed,
        "a never-finished header kept its connection for 6 s"
    );
    let _ = trickle.join();
}

#[test]
fn idle_connections_are_closed() {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, _) = start(dir.path(), SERVER, "");
    let addr = addr(&server);

    // Idle keep-alive: answered, then closed after the idle timeout.
    let mut idle = TcpStream::connect(&addr).expect("connect");
    assert!(get_keep_alive(&mut idle, "/healthz").starts_with("HTTP/1.1 200"));
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(6));
    assert!(closed, "an idle keep-alive connection stayed open for 6 s");

    // A connection that never sends a byte is idle too.
    let mut silent = TcpStream::connect(&addr).expect("connect");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(6));
    assert!(closed, "a silent connection stayed open for 6 s");
}

#[test]
fn a_slow_body_gets_408() {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, _) = start(dir.path(), SERVER, "");
    let addr = addr(&server);

    let mut slow = TcpStream::connect(&addr).expect("connect");
    slow.write_all(
        b"POST /hooks/acme/quotewerks HTTP/1.1\r\nHost: ferry\r\nContent-Length: 100\r\n\r\n{\"a\":",
    )
    .expect("write");
    let (reply, closed) = read_until_closed(&mut slow, Duration::from_secs(6));
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply:?}");
    assert!(closed, "the connection stayed open after the 408");
}

#[test]
fn an_announced_gigabyte_body_gets_413_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, _) = start(dir.path(), SERVER, "");
    let addr = addr(&server);

    // 1 GB announced, 1 KB sent: refused from the header alone, without waiting for the rest.
    let mut big = TcpStream::connect(&addr).expect("connect");
    big.write_all(
        b"POST /ion/beta/events HTTP/1.1\r\nHost: ferry\r\nContent-Length: 1073741824\r\n\r\n",
    )
    .expect("write");
    big.write_all(&[b'x'; 1024]).expect("write");
    let (reply, _) = read_until_closed(&mut big, Duration::from_secs(3));
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
}

#[test]
fn connections_beyond_the_limit_are_turned_away_and_the_server_still_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let limit = 16;
    // A long idle timeout, so the held connections stay held during the test.
    let server_cfg = SERVER
        .replace(
            "max_connections = 64",
            &format!("max_connections = {limit}"),
        )
        .replace("idle_timeout_ms = 1500", "idle_timeout_ms = 60000");
    let (server, _) = start(dir.path(), &server_cfg, "");
    let addr = addr(&server);

    let mut held: Vec<TcpStream> = (0..limit)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    for stream in &mut held {
        assert!(get_keep_alive(stream, "/healthz").starts_with("HTTP/1.1 200"));
    }
    for _ in 0..4 {
        let mut extra = TcpStream::connect(&addr).expect("connect (the kernel accepts)");
        let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: ferry\r\n\r\n");
        let (reply, closed) = read_until_closed(&mut extra, Duration::from_secs(3));
        assert!(closed, "a connection over the limit was kept: {reply:?}");
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 503"),
            "over the limit yet served: {reply:?}"
        );
    }
    // The held ones still work, and once they go, new connections are served again.
    assert!(get_keep_alive(&mut held[0], "/healthz").starts_with("HTTP/1.1 200"));
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut fresh = TcpStream::connect(&addr).expect("connect");
        let _ =
            fresh.write_all(b"GET /healthz HTTP/1.1\r\nHost: ferry\r\nConnection: close\r\n\r\n");
        let (reply, _) = read_until_closed(&mut fresh, Duration::from_secs(2));
        if reply.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served after the limit freed: {reply:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_tenants_flood_gets_429_while_another_tenant_is_served() {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, _) = start(dir.path(), SERVER, "");
    let http = client();
    let post = |tenant: &str| {
        http.post(format!("{}/hooks/{tenant}/quotewerks", server.base_url()))
            .body("{}")
            .send()
            .expect("send")
    };
    // Burst 5 at 1/s: of 10 back-to-back requests the first 5 pass the limiter.
    let statuses: Vec<u16> = (0..10).map(|_| post("acme").status().as_u16()).collect();
    assert!(statuses[..5].iter().all(|s| *s != 429), "{statuses:?}");
    // The sixth may meet a token refilled meanwhile; by the seventh the bucket is empty.
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    let limited = post("acme");
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // An encoded name is the same tenant.
    assert_eq!(post("%61cme").status(), 429);
    // beta has its own bucket.
    for _ in 0..5 {
        assert_ne!(post("beta").status(), 429);
    }
}

#[test]
fn readyz_is_503_while_the_store_cannot_write() {
    let dir = tempfile::tempdir().expect("tmp");
    // One job worker: while the lock is held it waits on the database, and the test wants
    // the server's other threads free to answer.
    let (server, data) = start(dir.path(), &format!("{SERVER}workers = 1\n"), "");
    let http = client();
    let readyz = || {
        let r = http
            .get(format!("{}/readyz", server.base_url()))
            .send()
            .expect("send");
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    assert_eq!(readyz().0, 200);
    // Another process holds the database's write lock (as a stuck writer or a full disk
    // would keep writes from landing): not ready, and it says why; /healthz still answers.
    let db = rusqlite::Connection::open(data.join("ferry.db")).expect("db");
    db.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let (status, body) = readyz();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("store"), "{body}");
    let health = http
        .get(format!("{}/healthz", server.base_url()))
        .send()
        .expect("send");
    assert_eq!(health.status(), 200);
    db.execute_batch("COMMIT").expect("unlock");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = readyz();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready again: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_plugin_log_message_cannot_forge_a_log_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = dir.path().join("in.json");
    let forged = "quote\nFORGED ERROR ferry: admin token accepted\r\u{1b}[2K";
    let call = serde_json::json!({
        "kind": "echo",
        "input": {"kind": forged, "id": "Q1", "fields": [], "lines": []},
        "context": {"tenant": "acme", "settings": [], "ids": []}
    });
    std::fs::write(&input, call.to_string()).expect("write");
    let out = std::process::Command::new(ferry_bin())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["plugin", "run"])
        .arg(plugin("test_transform"))
        .args(["--world", "transform", "--call", "map-document", "--input"])
        .arg(&input)
        .env("FERRY_LOG", "info")
        .output()
        .expect("ferry");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("echoed a"))
        .unwrap_or_else(|| panic!("the plugin's line is missing:\n{stderr}"));
    assert!(
        line.contains(r"quote\nFORGED ERROR ferry: admin token accepted\r\u{1b}[2K document"),
        "{line}"
    );
    assert!(
        !stderr.lines().any(|l| l.starts_with("FORGED")),
        "a forged line reached the log:\n{stderr}"
    );
}

#[test]
fn webhook_json_with_a_duplicate_key_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("webhook.secret"), "s3cret\n").expect("secret");
    rusqlite::Connection::open(dir.path().join("qw.db"))
        .expect("db")
        .execute_batch("CREATE TABLE DocumentHeaders (ID INTEGER, DocNo TEXT, DocStatus TEXT);")
        .expect("schema");
    let tenants = format!(
        "[tenants.acme.connections.quotewerks]\nkind = \"sqlite\"\npath = \"qw.db\"\n\
         [tenants.acme.host]\nwebhook_secret = {{ file = \"webhook.secret\" }}\n\
         [tenants.acme.quote_to_order]\npoll_interval_secs = 0\n\
         [tenants.acme.plugins.quoting]\nfile = \"{}\"\nconnections = [\"quotewerks\"]\n",
        plugin("quotewerks_connector").display()
    );
    let (server, data) = start(dir.path(), SERVER, &tenants);
    let http = client();
    let post = |body: &str| {
        http.post(format!("{}/hooks/acme/quotewerks", server.base_url()))
            .header("X-QuoteWerks-Secret", "s3cret")
            .body(body.to_string())
            .send()
            .expect("send")
    };
    let inbox = || -> i64 {
        rusqlite::Connection::open(data.join("ferry.db"))
            .expect("db")
            .query_row("SELECT count(*) FROM inbox", [], |r| r.get(0))
            .expect("count")
    };
    for body in [
        r#"{"event":"StatusChanged","eventId":"e-1","eventId":"e-2","document":{"id":7,"status":"Approved"}}"#,
        r#"{"event":"StatusChanged","eventId":"e-1","document":{"id":7,"id":8,"status":"Approved"}}"#,
    ] {
        let reply = post(body);
        assert_eq!(reply.status(), 400, "{body}");
        let text = reply.text().unwrap_or_default();
        assert!(text.contains("duplicate key"), "{text}");
    }
    assert_eq!(inbox(), 0, "a refused body stores nothing");
    // The same body without the duplicate is taken: it was the duplicate that was refused.
    let ok = post(
        r#"{"event":"StatusChanged","eventId":"e-1","document":{"id":7,"status":"Approved"}}"#,
    );
    assert_eq!(ok.status(), 202);
    assert_eq!(inbox(), 1);
}

#[test]
fn sigterm_stops_the_server_promptly_with_idle_connections_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let server_cfg = SERVER.replace("idle_timeout_ms = 1500", "idle_timeout_ms = 60000");
    let (mut server, _) = start(dir.path(), &server_cfg, "");
    let addr = addr(&server);
    let mut idle = TcpStream::connect(&addr).expect("connect");
    assert!(get_keep_alive(&mut idle, "/healthz").starts_with("HTTP/1.1 200"));
    let _silent = TcpStream::connect(&addr).expect("connect");
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    // Graceful: idle connections don't hold the stop up (the drain waits only for requests
    // in flight), and the process exits cleanly.
    let deadline = Instant::now() + Duration::from_secs(8);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 8 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(2));
    assert!(closed);
}

/// `pooling = "auto"` falls back to on-demand allocation where the pool can't be reserved:
/// the memory cap must hold there too (it is the store's limiter, not the pool's slot size).
#[test]
fn on_demand_allocation_keeps_the_memory_cap() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("ferry.toml");
    std::fs::write(
        &config,
        "[runtime]\npooling = \"off\"\nmemory_limit_mib = 16\n",
    )
    .expect("config");
    let input = dir.path().join("in.json");
    let call = serde_json::json!({
        "kind": "hog",
        "input": {"kind": "quote", "id": "Q1", "fields": [], "lines": []},
        "context": {"tenant": "acme", "settings": [], "ids": []}
    });
    std::fs::write(&input, call.to_string()).expect("write");
    let out = std::process::Command::new(ferry_bin())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["plugin", "run"])
        .arg(plugin("test_transform"))
        .args(["--world", "transform", "--call", "map-document", "--input"])
        .arg(&input)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("16 MiB cap"), "{stderr}");
}

/// Config nonsense stops `ferry` at load with the reason (each rule has a unit test in
/// `crates/ferry/src/config/validate.rs`; this is the user's view of it).
#[test]
fn a_config_with_nonsense_is_refused_at_load_with_its_reasons() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("ferry.toml");
    std::fs::write(
        &config,
        "[tenants.\"../evil\"]\n[runtime]\ncall_deadline_ms = 0\nmemory_limit_mib = 8192\n",
    )
    .expect("config");
    let out = std::process::Command::new(ferry_bin())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["dlq", "list"])
        .env("FERRY_LOG", "warn")
        .output()
        .expect("ferry");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    for reason in [
        "tenant name '../evil' is refused",
        "call_deadline_ms = 0",
        "memory_limit_mib = 8192",
    ] {
        assert!(stderr.contains(reason), "missing '{reason}' in:\n{stderr}");
    }
}

#[test]
fn admin_routes_that_change_state_refuse_an_oversized_body_with_413_and_store_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (server, data) = start(dir.path(), SERVER, "");
    let config = dir.path().join("ferry.toml");
    let token = ferry_tests::ferry(
        &data,
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "tokens",
            "create",
            "--tenant",
            "acme",
        ],
    )
    .expect_code(0)
    .stdout
    .trim()
    .to_string();
    let rows = || -> i64 {
        let db = rusqlite::Connection::open(data.join("ferry.db")).expect("db");
        ["audit", "jobs", "xref"]
            .iter()
            .map(|t| {
                db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .expect("count")
            })
            .sum()
    };
    let before = rows();
    let http = client();
    let base = server.base_url();
    // 8 KiB of valid JSON against `max_body_bytes = 4096`, with a valid token.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(8 << 10));
    for (method, path) in [
        (reqwest::Method::PUT, "/api/v1/tenants/acme/runs/Q1/order"),
        (reqwest::Method::POST, "/api/v1/tenants/acme/holds/Q1/fixes"),
        (reqwest::Method::POST, "/api/v1/tenants/acme/replays"),
    ] {
        let send = |body: &str, token: Option<&str>| {
            let request = http
                .request(method.clone(), format!("{base}{path}"))
                .header("content-type", "application/json")
                .body(body.to_string());
            match token {
                Some(t) => request.bearer_auth(t),
                None => request,
            }
            .send()
            .expect("send")
            .status()
        };
        assert_eq!(send(&big, Some(&token)), 413, "{method} {path}");
        // The route is there (an unknown one would be 404) and asks for a token.
        assert_eq!(send("{}", None), 401, "{method} {path}");
    }
    assert_eq!(rows(), before, "a refused body stores nothing");
}
