//! Per-plugin grants, checked when a plugin is loaded for its tenant: `ferry serve` and
//! `ferry plugin install` refuse a plugin that asks for a connection its tenant does not grant
//! it, naming the tenant, the plugin's role and what is missing; granted, the same plugin
//! serves.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_tests::{Run, ferry, ferry_bin, plugin, spawn};

/// A tenant whose database exists and whose quoting plugin (the QuoteWerks connector, which
/// imports `sql`) gets `grant` as its plugin section's extra lines.
fn config(dir: &Path, grant: &str, with_file: bool) -> PathBuf {
    rusqlite::Connection::open(dir.join("qw.db"))
        .expect("db")
        .execute_batch("CREATE TABLE IF NOT EXISTS DocumentHeaders (ID INTEGER);")
        .expect("schema");
    std::fs::write(dir.join("webhook.secret"), "s3cret").expect("secret");
    let file = if with_file {
        format!("file = \"{}\"\n", plugin("quotewerks_connector").display())
    } else {
        String::new()
    };
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"

[tenants.acme.connections.quotewerks]
kind = "sqlite"
path = "qw.db"

[tenants.acme.connections.archive]
kind = "sqlite"
path = "qw.db"

[tenants.acme.host]
webhook_secret = {{ file = "webhook.secret" }}

[tenants.acme.quote_to_order]
poll_interval_secs = 0

[tenants.acme.plugins.quoting]
{file}{grant}
"#
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// `ferry serve` expected to refuse: it must exit on its own. One that is still running after
/// a minute started anyway: it is killed and the run reported as such (so a regression fails
/// the test instead of hanging it).
fn serve(dir: &Path, config: &Path) -> Run {
    let mut child = Command::new(ferry_bin())
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--config", config.to_str().expect("utf-8"), "serve"])
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ferry");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Run {
                code: 0,
                stdout: String::new(),
                stderr: "(still serving after 60 s: the plugin was not refused)".into(),
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn refused_naming(run: &Run, wanted: &[&str]) {
    assert_ne!(run.code, 0, "started anyway:\n{}", run.stderr);
    for w in wanted {
        assert!(run.stderr.contains(w), "missing {w:?} in:\n{}", run.stderr);
    }
}

#[test]
fn a_plugin_asking_for_an_ungranted_connection_fails_at_load_with_the_named_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();

    // The tenant has the connection, the plugin's section grants it nothing: the component
    // imports `sql`, so it is refused before any of its code runs.
    let run = serve(d, &config(d, "", true));
    refused_naming(
        &run,
        &[
            "tenant 'acme', plugin quoting",
            "imports sql",
            "granted no sql connection",
            "[tenants.acme.plugins.quoting]",
        ],
    );

    // Granted one connection, its setting names another the tenant has.
    let run = serve(
        d,
        &config(
            d,
            "connections = [\"quotewerks\"]\nsettings = { connection = \"archive\" }",
            true,
        ),
    );
    refused_naming(
        &run,
        &[
            "tenant 'acme', plugin quoting",
            "connection = \"archive\"",
            "not granted",
        ],
    );

    // Granted a connection the tenant doesn't have.
    let run = serve(d, &config(d, "connections = [\"crm\"]", true));
    refused_naming(&run, &["tenant 'acme', plugin quoting", "\"crm\""]);

    // Granted what it uses, the same plugin serves.
    let ok = config(d, "connections = [\"quotewerks\"]", true);
    let server = spawn(
        &d.join("data"),
        &["--config", ok.to_str().expect("utf-8"), "serve"],
    );
    assert!(
        server.base_url().starts_with("http://"),
        "{:?}",
        server.ready
    );
}

#[test]
fn installing_a_plugin_for_a_role_that_lacks_its_grants_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let data = d.join("data");
    let component = plugin("quotewerks_connector");
    let install = |config: &Path| {
        ferry(
            &data,
            &[
                "--config",
                config.to_str().expect("utf-8"),
                "plugin",
                "install",
                component.to_str().expect("utf-8"),
                "--tenant",
                "acme",
                "--role",
                "quoting",
                "--activate",
            ],
        )
    };
    let ungranted = config(d, "", false);
    let run = install(&ungranted);
    refused_naming(
        &run,
        &["tenant 'acme', plugin quoting", "granted no sql connection"],
    );
    let listed = ferry(&data, &["plugin", "list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(listed, serde_json::json!([]), "nothing installed or active");

    let granted = config(d, "connections = [\"quotewerks\"]", false);
    install(&granted).expect_code(0);
    let listed = ferry(&data, &["plugin", "list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(listed[0]["active"], serde_json::json!(true), "{listed}");
}

/// Activation is checked against the config the server runs with, even when the operator
/// gives none: `ferry serve` records its config in the data directory, and `ferry plugin
/// activate` without `--config` checks the grants in it (before, it checked nothing and the
/// running server picked the ungranted plugin up within a second). With no config at all,
/// the tenant is unknown and nothing is activated.
#[test]
fn activating_without_config_checks_the_grants_of_the_config_the_server_runs_with() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let data = d.join("data");
    let component = plugin("quotewerks_connector");
    // Installed (not active) under a config that grants the connection...
    let granted_dir = d.join("granted");
    std::fs::create_dir_all(&granted_dir).expect("dir");
    let granted = config(&granted_dir, "connections = [\"quotewerks\"]", false);
    let installed = ferry(
        &data,
        &[
            "--config",
            granted.to_str().expect("utf-8"),
            "plugin",
            "install",
            component.to_str().expect("utf-8"),
            "--tenant",
            "acme",
            "--role",
            "quoting",
        ],
    )
    .expect_code(0);
    let digest = installed
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("digest")
        .to_string();
    let activate = |data: &Path| {
        ferry(
            data,
            &[
                "plugin", "activate", &digest, "--tenant", "acme", "--role", "quoting",
            ],
        )
    };
    let nothing_active = |data: &Path| {
        let listed = ferry(data, &["plugin", "list", "--json"])
            .expect_code(0)
            .json();
        assert!(
            listed
                .as_array()
                .is_some_and(|rows| rows.iter().all(|r| r["active"] == false)),
            "{listed}"
        );
    };

    // No config anywhere: refused, nothing changes.
    let run = activate(&data);
    refused_naming(&run, &["tenant 'acme' is not configured", "--config"]);

    // ...while the server runs with one that grants this role nothing.
    let ungranted = config(d, "", false);
    let _server = spawn(
        &data,
        &["--config", ungranted.to_str().expect("utf-8"), "serve"],
    );
    let run = activate(&data);
    refused_naming(
        &run,
        &["tenant 'acme', plugin quoting", "granted no sql connection"],
    );
    nothing_active(&data);

    // Once the server's config grants it, the same activation goes through.
    std::fs::write(
        &ungranted,
        std::fs::read_to_string(&granted).expect("granted config"),
    )
    .expect("rewrite");
    activate(&data).expect_code(0);
}
