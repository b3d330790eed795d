//! `ferry plugin …` driven like a user does: the real binary, real components, a real data
//! directory.

use ferry_tests::{ferry, plugin};

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn check_reports_the_world_and_refuses_incompatible_components() {
    let data = tempfile::tempdir().expect("tmp");
    let ok = ferry(
        data.path(),
        &["plugin", "check", path(&plugin("test_transform"))],
    )
    .expect_code(0);
    assert!(
        ok.stdout.contains("world:   ferry:transform/plugin"),
        "{}",
        ok.stdout
    );
    assert!(
        ok.stdout
            .contains("ferry:transform/transform@1.1.0: map-document, describe"),
        "{}",
        ok.stdout
    );
    assert!(ok.stdout.contains("ok: compatible"), "{}", ok.stdout);

    let future = ferry(
        data.path(),
        &["plugin", "check", path(&plugin("future_transform"))],
    )
    .expect_code(1);
    assert!(
        future.stdout.contains("built for ferry:transform@2.0.0"),
        "{}",
        future.stdout
    );
    assert!(
        future.stdout.contains("imports ferry:transform/kv@2.0.0"),
        "{}",
        future.stdout
    );

    let json = ferry(
        data.path(),
        &[
            "plugin",
            "check",
            "--json",
            "--role",
            "quoting",
            path(&plugin("test_erp")),
        ],
    )
    .expect_code(1)
    .json();
    assert_eq!(json["role"], "quoting");
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap_or_default()
            .contains("needs world ferry:quoting/plugin")
    );

    let missing = ferry(data.path(), &["plugin", "check", "/nonexistent/x.wasm"]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("reading /nonexistent/x.wasm"),
        "{}",
        missing.stderr
    );
}

#[test]
fn install_activate_list_and_rollback_through_the_cli() {
    let data = tempfile::tempdir().expect("tmp");
    let d = data.path();
    // Registry commands are about configured tenants only.
    let cfg = d.join("ferry.toml");
    std::fs::write(&cfg, "[tenants.acme]\n[tenants.globex]\n").expect("config");
    let cfg = path(&cfg).to_string();
    let ferry = |d: &std::path::Path, args: &[&str]| {
        let mut all = vec!["--config", cfg.as_str()];
        all.extend_from_slice(args);
        ferry(d, &all)
    };
    let v1 = ferry(
        d,
        &[
            "plugin",
            "install",
            path(&plugin("test_transform")),
            "--tenant",
            "acme",
            "--role",
            "transform",
        ],
    )
    .expect_code(0);
    let digest1 = v1
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("digest")
        .to_string();
    assert_eq!(digest1.len(), 64, "{}", v1.stdout);
    // Installed is not active.
    let listed = ferry(d, &["plugin", "list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(listed[0]["active"], false);

    ferry(
        d,
        &[
            "plugin",
            "activate",
            &digest1[..12],
            "--tenant",
            "acme",
            "--role",
            "transform",
        ],
    )
    .expect_code(0);
    let v2 = ferry(
        d,
        &[
            "plugin",
            "install",
            path(&plugin("test_transform_v2")),
            "--tenant",
            "acme",
            "--role",
            "transform",
            "--activate",
        ],
    )
    .expect_code(0);
    let digest2 = v2
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("digest")
        .to_string();
    let listed = ferry(d, &["plugin", "list", "--json", "--tenant", "acme"])
        .expect_code(0)
        .json();
    let active: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r["active"] == true)
        .filter_map(|r| r["digest"].as_str())
        .collect();
    assert_eq!(active, vec![digest2.as_str()]);

    let back = ferry(
        d,
        &[
            "plugin",
            "rollback",
            "--tenant",
            "acme",
            "--role",
            "transform",
        ],
    )
    .expect_code(0);
    assert!(back.stdout.contains(&digest1), "{}", back.stdout);
    let table = ferry(d, &["plugin", "list"]).expect_code(0);
    let active_line = table
        .stdout
        .lines()
        .find(|l| l.contains(" yes "))
        .expect("an active row");
    assert!(active_line.contains(&digest1), "{}", table.stdout);

    // Refusals change nothing and say why.
    let bad = ferry(
        d,
        &[
            "plugin",
            "install",
            path(&plugin("future_transform")),
            "--tenant",
            "acme",
            "--role",
            "transform",
        ],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("incompatible plugin"), "{}", bad.stderr);
    let wrong_role = ferry(
        d,
        &[
            "plugin",
            "install",
            path(&plugin("test_transform")),
            "--tenant",
            "acme",
            "--role",
            "erp",
        ],
    );
    assert_ne!(wrong_role.code, 0);
    assert!(
        wrong_role
            .stderr
            .contains("role erp needs world ferry:erp/plugin"),
        "{}",
        wrong_role.stderr
    );
    let none = ferry(
        d,
        &[
            "plugin",
            "rollback",
            "--tenant",
            "globex",
            "--role",
            "transform",
        ],
    );
    assert_ne!(none.code, 0);
    assert!(
        none.stderr.contains("no earlier activation"),
        "{}",
        none.stderr
    );
    assert_eq!(
        ferry(d, &["plugin", "list", "--json"])
            .expect_code(0)
            .json()
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn run_calls_a_component_and_says_why_a_call_was_stopped() {
    let data = tempfile::tempdir().expect("tmp");
    let d = data.path();
    let input = d.join("in.json");
    let write = |kind: &str| {
        let doc = serde_json::json!({
            "kind": kind,
            "input": {"kind": "quote", "id": "Q1", "fields": [{"name": "DocNo", "value": {"text": "Q1"}}], "lines": []},
            "context": {"tenant": "acme", "settings": [], "ids": []}
        });
        std::fs::write(&input, doc.to_string()).expect("write");
    };
    let t = plugin("test_transform");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "run",
            path(&t),
            "--world",
            "transform",
            "--call",
            "map-document",
            "--input",
            path(&input),
        ];
        args.extend_from_slice(extra);
        ferry(d, &args)
    };

    write("echo");
    let out = run(&["--setting", "greeting=hi"]).expect_code(0).json();
    let fields = out["ok"]["document"]["fields"]
        .as_array()
        .expect("fields")
        .clone();
    assert!(
        fields.contains(&serde_json::json!({"name": "Greeting", "value": {"text": "hi"}})),
        "{out}"
    );

    write("fail");
    let out = run(&[]).expect_code(1).json();
    assert_eq!(out["err"][0]["field"], "ORQT");

    write("spin");
    let stopped = run(&["--deadline-ms", "200"]).expect_code(2);
    assert!(
        stopped.stderr.contains("ran past its 200 ms deadline"),
        "{}",
        stopped.stderr
    );

    write("hog");
    let stopped = run(&["--memory-mib", "16"]).expect_code(2);
    assert!(stopped.stderr.contains("16 MiB cap"), "{}", stopped.stderr);

    // A quoting connector against a SQLite file, granted on the command line.
    let db = d.join("qw.db");
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute_batch(
        "CREATE TABLE DocumentHeaders (ID TEXT, DocNo TEXT, SoldToCompany TEXT, GrandTotal REAL, DocStatus TEXT, CustomText01 TEXT);
         CREATE TABLE DocumentItems (DocID TEXT, SortOrder INTEGER, ItemNumber TEXT, QtyTotal REAL, UnitPrice REAL);
         INSERT INTO DocumentHeaders VALUES ('1', 'Q0001', 'Acme', 10.5, 'Approved', NULL);",
    )
    .expect("schema");
    std::fs::write(&input, r#"{"id": "1"}"#).expect("write");
    let q = plugin("test_quoting");
    let sqlite = format!("qw={}", path(&db));
    let out = ferry(
        d,
        &[
            "plugin",
            "run",
            path(&q),
            "--world",
            "quoting-connector",
            "--call",
            "get-quote",
            "--input",
            path(&input),
            "--sqlite",
            &sqlite,
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(
        out["ok"]["fields"][0],
        serde_json::json!({"name": "DocNo", "value": {"text": "Q0001"}})
    );
    // Without the grant, the plugin's SQL is refused and the error is printed, classified.
    let out = ferry(
        d,
        &[
            "plugin",
            "run",
            path(&q),
            "--world",
            "quoting-connector",
            "--call",
            "get-quote",
            "--input",
            path(&input),
        ],
    )
    .expect_code(1)
    .json();
    assert!(
        out["err"]["fatal"]
            .as_str()
            .unwrap_or_default()
            .contains("no SQL connection named 'qw'"),
        "{out}"
    );

    // Bad input is a clear error.
    std::fs::write(&input, "[1, 2]").expect("write");
    let bad = ferry(
        d,
        &[
            "plugin",
            "run",
            path(&q),
            "--world",
            "quoting-connector",
            "--call",
            "get-quote",
            "--input",
            path(&input),
        ],
    );
    assert!(
        bad.stderr.contains("JSON object of parameters"),
        "{}",
        bad.stderr
    );
    std::fs::write(&input, r#"{"id": 5}"#).expect("write");
    let bad = ferry(
        d,
        &[
            "plugin",
            "run",
            path(&q),
            "--world",
            "quoting-connector",
            "--call",
            "get-quote",
            "--input",
            path(&input),
        ],
    );
    assert!(
        bad.stderr.contains("id: expected a string"),
        "{}",
        bad.stderr
    );
    let bad = ferry(
        d,
        &[
            "plugin",
            "run",
            path(&q),
            "--world",
            "quoting-connector",
            "--call",
            "nope",
            "--input",
            path(&input),
        ],
    );
    assert!(
        bad.stderr.contains("exports no function 'nope'"),
        "{}",
        bad.stderr
    );
}
