//! `ferry doctor`: one line per check (secrets, OAuth grants, SQL connections, configured
//! plugin files against the active ones), what to do under each failure, exit 4 when any
//! failed; `ferry serve` logs the same failures at WARN when it starts.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use ferry_tests::{ferry, plugin, spawn_logged};

/// A token endpoint that grants every request (an ION API gateway's `/token`, for the check).
fn token_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let body = r#"{"access_token":"t0k3n","token_type":"Bearer","expires_in":3600}"#;
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/")
}

/// An `.ionapi` file whose token URL is `pu` + `token`.
fn ionapi(dir: &Path, name: &str, pu: &str) {
    let text = serde_json::json!({
        "ti": "TENANT", "cn": "ferry", "ci": "client", "cs": "secret",
        "iu": "http://127.0.0.1:9/", "pu": pu, "oa": "authorize", "ot": "token", "or": "revoke",
        "saak": "svc", "sask": "pw"
    });
    std::fs::write(dir.join(name), text.to_string()).expect("ionapi");
}

fn write_config(d: &Path, good_pu: &str) -> std::path::PathBuf {
    ionapi(d, "good.ionapi", good_pu);
    // Nothing listens on port 9 (discard): the grant fails at once.
    ionapi(d, "bad.ionapi", "http://127.0.0.1:9/");
    rusqlite::Connection::open(d.join("qw.db"))
        .expect("db")
        .execute_batch("CREATE TABLE IF NOT EXISTS t (x INTEGER);")
        .expect("schema");
    std::fs::write(d.join("webhook.secret"), "s3cret").expect("secret");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[tenants.good.connections.m3]
kind = "http"
ionapi = {{ file = "good.ionapi" }}
[tenants.good.connections.qw]
kind = "sqlite"
path = "qw.db"
[tenants.good.host]
webhook_secret = {{ file = "webhook.secret" }}
[tenants.good.plugins.transform]
file = "{transform}"

[tenants.bad.connections.m3]
kind = "http"
ionapi = {{ file = "bad.ionapi" }}
[tenants.bad.connections.qw]
kind = "sqlite"
path = "missing.db"
[tenants.bad.secrets]
api_key = {{ env = "FERRY_DOCTOR_TEST_NEVER_SET" }}
[tenants.bad.plugins.transform]
file = "{transform}"
"#,
        transform = plugin("test_transform").display()
    );
    let path = d.join("ferry.toml");
    std::fs::write(&path, text).expect("config");
    path
}

fn line<'a>(out: &'a str, start: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{out}"))
}

#[test]
fn doctor_checks_secrets_grants_connections_and_plugin_files_one_line_each() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let config = write_config(d, &token_server());
    let data = d.join("data");
    let cfg = config.to_str().expect("utf-8");
    let doctor = |extra: &[&str]| {
        let mut args = vec!["--config", cfg, "doctor"];
        args.extend_from_slice(extra);
        ferry(&data, &args)
    };

    let good = doctor(&["--tenant", "good"]).expect_code(0);
    for l in [
        "ok    good         secret connections.m3.ionapi: readable",
        "ok    good         secret host.webhook_secret: readable",
        "ok    good         connection m3: OAuth grant ok",
        "ok    good         connection qw: SELECT 1 ok",
        "ok    good         plugin transform: ",
    ] {
        line(&good.stdout, l);
    }

    let all = doctor(&[]).expect_code(4);
    let out = &all.stdout;
    assert!(
        line(out, "FAIL  bad          secret secrets.api_key:")
            .contains("FERRY_DOCTOR_TEST_NEVER_SET is not set"),
        "{out}"
    );
    assert!(
        line(out, "FAIL  bad          connection m3:").contains("OAuth grant failed"),
        "{out}"
    );
    assert!(
        line(out, "FAIL  bad          connection qw:").contains("no database file"),
        "{out}"
    );
    // Each failure says what to do, on the line under it.
    let lines: Vec<&str> = out.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("FAIL") {
            assert!(
                lines
                    .get(i + 1)
                    .is_some_and(|n| n.starts_with("      fix: ")),
                "no fix under {l:?}:\n{out}"
            );
        }
    }

    // Another version activated by hand while the config still names the file: a changed
    // file that was never activated is a failure, with the command that activates it.
    ferry(
        &data,
        &[
            "--config",
            cfg,
            "plugin",
            "install",
            plugin("test_transform_v2").to_str().expect("utf-8"),
            "--tenant",
            "good",
            "--role",
            "transform",
            "--activate",
        ],
    )
    .expect_code(0);
    let changed = doctor(&["--tenant", "good"]).expect_code(4);
    assert!(
        line(&changed.stdout, "FAIL  good         plugin transform:")
            .contains("was never activated"),
        "{}",
        changed.stdout
    );
    assert!(
        changed.stdout.contains(&format!(
            "fix: ferry plugin install {} --tenant good --role transform --activate",
            plugin("test_transform").display()
        )),
        "{}",
        changed.stdout
    );

    let json = doctor(&["--json", "--tenant", "bad"]).expect_code(4).json();
    assert!(
        json.as_array().is_some_and(|checks| checks
            .iter()
            .any(|c| c["ok"] == false && c["fix"].is_string())),
        "{json}"
    );
    let unknown = doctor(&["--tenant", "globex"]).expect_code(3);
    assert!(
        unknown.stderr.contains("tenant 'globex' is not configured"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn serve_logs_the_doctors_failures_at_warn_when_it_starts() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // Only what lets the server start: the bad tenant's unreadable secret and missing
    // database would stop it (or be created by it), its failing OAuth grant does not.
    let config = write_config(d, &token_server());
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text
        .replace(
            "[tenants.bad.secrets]\napi_key = { env = \"FERRY_DOCTOR_TEST_NEVER_SET\" }\n",
            "",
        )
        .replace("path = \"missing.db\"", "path = \"qw.db\"");
    std::fs::write(&config, text).expect("config");
    let log = d.join("serve.log");
    let _server = spawn_logged(
        d,
        &[
            "--data-dir".into(),
            d.join("data").to_str().expect("utf-8").into(),
            "--config".into(),
            config.to_str().expect("utf-8").into(),
            "serve".into(),
        ],
        &log,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(l) = logged
            .lines()
            .find(|l| l.contains("doctor: connection m3: OAuth grant failed"))
        {
            assert!(l.contains("WARN"), "{l}");
            assert!(
                l.contains("tenant=\"bad\"") || l.contains("tenant=bad"),
                "{l}"
            );
            assert!(!logged.contains("doctor: connection m3: OAuth grant ok"));
            break;
        }
        assert!(Instant::now() < deadline, "no doctor warning in:\n{logged}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
