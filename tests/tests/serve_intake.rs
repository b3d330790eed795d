//! `ferry serve`'s webhook intake over a real socket: the host checks the shared secret before
//! any plugin code runs, bodies are size-limited, events are stored before 202 and deduplicated;
//! refused requests store nothing, and error replies give nothing away.

use ferry_tests::{plugin, spawn};

fn setup(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::write(dir.join("webhook.secret"), "s3cret\n").expect("secret");
    let db = dir.join("qw.db");
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute_batch(
        "CREATE TABLE DocumentHeaders (ID TEXT, DocNo TEXT, SoldToCompany TEXT, GrandTotal REAL, DocStatus TEXT, CustomText01 TEXT);
         CREATE TABLE DocumentItems (DocID TEXT, SortOrder INTEGER, ItemNumber TEXT, QtyTotal REAL, UnitPrice REAL);
         INSERT INTO DocumentHeaders VALUES ('7', 'Q0007', 'Acme', 10.5, 'Approved', NULL);",
    )
    .expect("schema");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
max_body_bytes = 4096

[tenants.acme.connections.qw]
kind = "sqlite"
path = "qw.db"

[tenants.acme.host]
webhook_secret = {{ file = "webhook.secret" }}
webhook_header = "X-Ferry-Secret"

[tenants.acme.quote_to_order]
ready_status = "Approved"
poll_interval_secs = 0

[tenants.acme.plugins.quoting]
file = "{}"
connections = ["qw"]
"#,
        plugin("test_quoting").display()
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, config).expect("config");
    path
}

fn inbox_count(data: &std::path::Path) -> i64 {
    let db = rusqlite::Connection::open(data.join("ferry.db")).expect("db");
    db.query_row("SELECT count(*) FROM inbox", [], |r| r.get(0))
        .expect("count")
}

#[tokio::test]
async fn forged_oversized_and_malformed_webhooks_store_nothing_and_redeliveries_dedupe() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = setup(dir.path());
    let data = dir.path().join("data");
    let server = spawn(
        &data,
        &["--config", config.to_str().expect("utf-8"), "serve"],
    );
    let url = format!("{}/hooks/acme/quotewerks", server.base_url());
    // No pooled connections: after a 413 the server closes the connection without reading the
    // rest of the body, and a pooled connection could be reused just as it closes.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let post = |secret: Option<&'static str>, body: String| {
        let mut req = http.post(&url).body(body);
        if let Some(s) = secret {
            req = req.header("X-Ferry-Secret", s);
        }
        req.send()
    };
    let ok_body = r#"{"DocID": "7", "DocStatus": "Approved", "EventID": "e-1"}"#.to_string();

    assert_eq!(
        post(None, ok_body.clone()).await.expect("send").status(),
        401
    );
    assert_eq!(
        post(Some("s3creT"), ok_body.clone())
            .await
            .expect("send")
            .status(),
        401
    );
    assert_eq!(
        post(Some("s3cret"), "{not json".into())
            .await
            .expect("send")
            .status(),
        400
    );
    assert_eq!(
        post(Some("s3cret"), "x".repeat(10_000))
            .await
            .expect("send")
            .status(),
        413
    );
    let unknown = http
        .post(format!("{}/hooks/nobody/quotewerks", server.base_url()))
        .header("X-Ferry-Secret", "s3cret")
        .body(ok_body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(
        unknown.status(),
        401,
        "an unknown tenant looks like a wrong secret"
    );
    assert_eq!(inbox_count(&data), 0, "refused requests store nothing");

    let first = post(Some("s3cret"), ok_body.clone()).await.expect("send");
    assert_eq!(first.status(), 202);
    let reply: serde_json::Value = first.json().await.expect("json");
    assert_eq!(reply["outcome"], "queued");
    let again: serde_json::Value = post(Some("s3cret"), ok_body.clone())
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(again["outcome"], "duplicate");
    let draft = r#"{"DocID": "8", "DocStatus": "Draft", "EventID": "e-2"}"#.to_string();
    let stored: serde_json::Value = post(Some("s3cret"), draft)
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stored["outcome"], "stored",
        "a non-ready status is recorded but starts nothing"
    );
    assert_eq!(inbox_count(&data), 2);

    // A quote the database doesn't have.
    let missing = r#"{"DocID": "9", "DocStatus": "Approved", "EventID": "e-3"}"#.to_string();
    assert_eq!(
        post(Some("s3cret"), missing).await.expect("send").status(),
        202
    );

    // The jobs are durable and visible: quote 7 was fetched, then held because this tenant has
    // no transform plugin yet (and the hold says so); quote 9 is a dead letter.
    let settled = |key: &'static str, state: &'static str| {
        let data = data.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let out = ferry_tests::ferry(&data, &["trace", key, "--tenant", "acme", "--json"])
                    .expect_code(0)
                    .json();
                if out["job"]["state"] == state {
                    return out;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "quote {key} never became {state}: {out}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    };
    let held = settled("7", "held").await;
    assert_eq!(held["job"]["step"], "fetched");
    assert!(
        held["job"]["hold_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no active transform plugin"),
        "{held}"
    );
    settled("9", "dead").await;
    let dlq = ferry_tests::ferry(&data, &["dlq", "list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(dlq[0]["key"], "9");
    assert!(
        dlq[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not found: quote 9"),
        "{dlq}"
    );
    let holds = ferry_tests::ferry(&data, &["holds", "list"]).expect_code(0);
    assert!(holds.stdout.contains("acme/7"), "{}", holds.stdout);
}

/// The reply's JSON without its correlation id (which differs per request).
async fn shape(r: reqwest::Response) -> (u16, serde_json::Value, String) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let mut json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let id = json
        .as_object_mut()
        .and_then(|o| o.remove("correlation_id"));
    assert!(
        id.as_ref()
            .and_then(|v| v.as_str())
            .is_some_and(|v| v.len() >= 16),
        "an error reply carries a correlation id: {text}"
    );
    (status, json, text)
}

#[tokio::test]
async fn anonymous_webhooks_never_reach_the_plugin_and_errors_leak_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = setup(dir.path());
    let data = dir.path().join("data");
    let server = spawn(
        &data,
        &["--config", config.to_str().expect("utf-8"), "serve"],
    );
    let http = reqwest::Client::new();
    let hook = |tenant: &str| format!("{}/hooks/{tenant}/quotewerks", server.base_url());
    let panic_body = r#"{"DocID": "7", "behave": "panic"}"#;
    let post = |url: String, secret: Option<&'static str>| {
        let mut req = http.post(url).body(panic_body);
        if let Some(s) = secret {
            req = req.header("X-Ferry-Secret", s);
        }
        req.send()
    };

    // Without the secret the plugin never runs: its panic would be a 500.
    let (none, none_body, _) = shape(post(hook("acme"), None).await.expect("send")).await;
    let (wrong, wrong_body, _) =
        shape(post(hook("acme"), Some("s3creT")).await.expect("send")).await;
    assert_eq!((none, wrong), (401, 401));
    // An unknown tenant gets the very same answer, and its name is not echoed.
    let (unknown, unknown_body, text) = shape(
        post(hook("nobody-xyz"), Some("s3cret"))
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(unknown, 401);
    assert_eq!(unknown_body, wrong_body);
    assert_eq!(none_body, wrong_body);
    assert!(!text.contains("nobody-xyz"), "{text}");

    // With the secret the plugin runs and panics: the caller learns only that it failed.
    let (status, body, text) = shape(post(hook("acme"), Some("s3cret")).await.expect("send")).await;
    assert_eq!(status, 500, "{text}");
    assert_eq!(body, serde_json::json!({"error": "internal error"}));
    for leak in [
        "panic",
        "src/",
        "lib.rs",
        "test-quoting",
        "unreachable",
        "wasm",
    ] {
        assert!(!text.contains(leak), "the reply leaks '{leak}': {text}");
    }
    assert_eq!(inbox_count(&data), 0, "nothing stored");

    // The plugin never sees the secret: it gets every header but that one.
    let echo = http
        .post(hook("acme"))
        .header("X-Ferry-Secret", "s3cret")
        .header("X-Other", "kept")
        .body(r#"{"DocID": "7", "DocStatus": "Approved", "EventID": "e-h", "behave": "headers"}"#)
        .send()
        .await
        .expect("send");
    let (status, body, text) = shape(echo).await;
    assert_eq!(status, 400, "{text}");
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("x-other"), "{text}");
    assert!(
        !reason.to_ascii_lowercase().contains("x-ferry-secret"),
        "{text}"
    );
    assert!(!reason.contains("s3cret"), "{text}");
}
