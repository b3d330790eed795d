//! How the command line behaves as a Unix tool: piped into `head` it ends quietly, an error
//! is printed once, a wrong command line exits 64, logs carry no color codes unless they go
//! to a terminal and can be JSON lines, and completions and a man page come from the binary.

use std::path::Path;
use std::process::{Command, Stdio};

use ferry_tests::{Run, ferry, ferry_bin, plugin, spawn_logged};

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs `ferry ARGS` with stdout a pipe whose reader is already gone (as `| head` leaves it
/// once it has its lines): every write fails with EPIPE.
fn into_closed_pipe(data: &Path, args: &[&str]) -> Run {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(ferry_bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("FERRY_LOG", "warn")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("running ferry");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn piped_into_a_reader_that_went_away_every_command_ends_quietly() {
    let data = tempfile::tempdir().expect("tmp");
    let transform = plugin("test_transform");
    for args in [
        &["plugin", "check", path(&transform)][..],
        &["plugin", "list"],
        &[
            "mapping",
            "suggest",
            "--from",
            "quotewerks:quote",
            "--to",
            "m3:order",
        ],
        &["completions", "bash"],
        &["man"],
    ] {
        let run = into_closed_pipe(data.path(), args);
        assert_eq!(run.code, 0, "{args:?} exit code; stderr:\n{}", run.stderr);
        assert_eq!(run.stderr, "", "{args:?} said something");
    }
}

#[test]
fn an_error_is_printed_once_and_a_wrong_command_line_exits_64() {
    let data = tempfile::tempdir().expect("tmp");
    let d = data.path();
    let config = d.join("ferry.toml");
    std::fs::write(&config, "[tenants.acme]\n").expect("config");
    let refused = ferry(
        d,
        &[
            "--config",
            path(&config),
            "plugin",
            "install",
            path(&plugin("future_transform")),
            "--tenant",
            "acme",
            "--role",
            "transform",
        ],
    )
    .expect_code(3);
    assert_eq!(
        refused
            .stderr
            .matches("built for ferry:transform@2.0.0")
            .count(),
        1,
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("error: incompatible plugin: "));

    let usage = ferry(d, &["plugin", "frobnicate"]).expect_code(64);
    assert!(
        usage.stderr.contains("unrecognized subcommand"),
        "{}",
        usage.stderr
    );
    ferry(
        d,
        &[
            "plugin", "install", "x.wasm", "--tenant", "acme", "--role", "crm",
        ],
    )
    .expect_code(64);
    let help = ferry(d, &["--help"]).expect_code(0);
    assert!(help.stdout.contains("Usage: ferry"), "{}", help.stdout);
}

/// A server's log, written to a file (not a terminal): plain text with no escape codes, or one
/// JSON object per line with `--log-format json`.
#[test]
fn logs_have_no_color_codes_off_a_terminal_and_can_be_json_lines() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // No webhook secret: the server warns about it at start.
    std::fs::write(
        d.join("ferry.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\n[tenants.acme]\n",
    )
    .expect("config");
    let start = |log: &str, extra: &[&str]| {
        let mut args: Vec<String> = vec!["--data-dir".into(), path(&d.join("data")).into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["--config".into(), "ferry.toml".into(), "serve".into()]);
        let mut server = spawn_logged(d, &args, &d.join(log));
        server.kill();
        std::fs::read_to_string(d.join(log)).expect("log")
    };

    let text = start("text.log", &[]);
    assert!(text.contains("no host.webhook_secret"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a log file:\n{text:?}"
    );

    let json = start("json.log", &["--log-format", "json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let warning = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("no host.webhook_secret"))
        })
        .unwrap_or_else(|| panic!("no warning among {lines:?}"));
    assert_eq!(warning["level"], "WARN");
}

#[test]
fn completions_and_the_man_page_come_from_the_binary() {
    let data = tempfile::tempdir().expect("tmp");
    let d = data.path();
    let bash = ferry(d, &["completions", "bash"]).expect_code(0);
    assert!(bash.stdout.contains("_ferry()"), "{}", bash.stdout);
    // Subcommands and the role's values are offered.
    assert!(
        bash.stdout.contains("doctor"),
        "no doctor in bash completions"
    );
    assert!(
        bash.stdout.contains("erp quoting transform"),
        "roles are not completed"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = ferry(d, &["completions", shell]).expect_code(0);
        assert!(out.stdout.contains("ferry"), "{shell}: {}", out.stdout);
    }
    ferry(d, &["completions", "tcsh"]).expect_code(64);
    let man = ferry(d, &["man"]).expect_code(0);
    assert!(man.stdout.starts_with(".ie"), "{}", man.stdout);
    assert!(man.stdout.contains(".TH ferry 1"), "{}", man.stdout);
    assert!(man.stdout.contains("trace"), "{}", man.stdout);
}
