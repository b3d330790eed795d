//! `ferry mapping test|check|suggest` over the real binary, and how well `suggest` recovers the
//! shipped quote -> order mapping when half of its rules are hidden.

use std::path::PathBuf;
use std::process::{Command, Output};

use ferry::mapping::default_mapping;
use ferry::mapping::json::read_input;
use ferry::mapping::suggest::{hit_rate, source_schema, target_schema};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn ferry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("run ferry")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn mapping_test_prints_the_order_for_the_sample_quote() {
    let sample = repo("mappings/samples/quote.json");
    let out = ferry(&[
        "mapping",
        "test",
        repo("mappings/quote-to-order.toml").to_str().unwrap(),
        "--input",
        sample.to_str().unwrap(),
        "--id",
        "customer=C100234",
        "--json",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let doc = &json["document"];
    assert_eq!(doc["kind"], "order");
    assert_eq!(doc["fields"]["CUNO"], "C100234");
    assert_eq!(doc["fields"]["RLDT"], "20250307");
    assert_eq!(
        doc["lines"].as_array().map(Vec::len),
        Some(2),
        "the comment line is skipped"
    );
    assert_eq!(doc["lines"][0]["DIA1"]["decimal"], "40.00");
    assert_eq!(doc["lines"][1]["ALUN"], "BOX");
}

#[test]
fn mapping_test_lists_every_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.json");
    std::fs::write(
        &input,
        r#"{"kind": "quote", "fields": {"DocDate": "2025-02-30"},
            "lines": [{"LineType": 1, "ManufacturerPartNumber": "A", "QtyTotal": "abc", "UnitPrice": "1"}]}"#,
    )
    .unwrap();
    let out = ferry(&[
        "mapping",
        "test",
        "quote-to-order",
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("error: CUNO: is required"), "{text}");
    assert!(text.contains("error: CUOR: is required"), "{text}");
    assert!(
        text.contains("error: RLDT: '2025-02-30' is not a date"),
        "{text}"
    );
    assert!(
        text.contains("error: lines[0].ORQT: 'abc' is not a decimal [rule lines.ORQT]"),
        "{text}"
    );
}

#[test]
fn bad_files_get_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("x.json");
    std::fs::write(&not_json, "{ nope").unwrap();
    let out = ferry(&[
        "mapping",
        "test",
        "quote-to-order",
        "--input",
        not_json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("is not JSON"), "{}", stderr(&out));

    let bad_mapping = dir.path().join("m.toml");
    std::fs::write(
        &bad_mapping,
        "[mapping]\nkind = \"k\"\n[header]\nA = \"lookup(nope, B)\"",
    )
    .unwrap();
    let out = ferry(&["mapping", "check", bad_mapping.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("[header] A: lookup at 7: no table 'nope'"),
        "{}",
        stderr(&out)
    );

    let out = ferry(&["mapping", "check", "quote-to-order"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("kind quote-to-order -> order"));
    assert!(!stdout(&out).contains("warning"), "{}", stdout(&out));

    // A CUOR other than the id is dropped by the M3 connector: said, not silently lost.
    let cuor = dir.path().join("cuor.toml");
    std::fs::write(
        &cuor,
        "[mapping]\nkind = \"quote-to-order\"\noutput = \"order\"\nid = \"DocNo\"\n\
         [header]\nCUOR = \"SoldToPONumber\"\nCUNO = \"SoldToCMAccountNo\"\n",
    )
    .unwrap();
    let out = ferry(&["mapping", "check", cuor.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "warning: [header] CUOR = \"SoldToPONumber\" is not sent: the M3 connector sends the order's idempotency reference there (this mapping's `id`), `DocNo`"
        ),
        "{}",
        stdout(&out)
    );

    let out = ferry(&[
        "mapping",
        "suggest",
        "--from",
        "sap:quote",
        "--to",
        "m3:order",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("unknown source 'sap:quote'"));
}

#[test]
fn suggest_proposes_scored_rules_for_m3_order_fields() {
    let sample = repo("mappings/samples/quote.json");
    let out = ferry(&[
        "mapping",
        "suggest",
        "--from",
        "quotewerks:quote",
        "--to",
        "m3:order",
        "--sample",
        sample.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("[header]") && text.contains("[lines.fields]"),
        "{text}"
    );
    let line = |target: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{target} = ")))
            .unwrap_or_else(|| panic!("no suggestion for {target}:\n{text}"))
            .to_string()
    };
    assert!(
        line("ITNO").contains("ManufacturerPartNumber"),
        "{}",
        line("ITNO")
    );
    assert!(
        line("ITNO").contains("max = 15"),
        "M3's length: {}",
        line("ITNO")
    );
    // An M3 date from a QuoteWerks date: converted to yyyyMMdd.
    assert!(
        line("RLDT").contains("format_date(") && line("RLDT").contains("'yyyyMMdd')"),
        "{}",
        line("RLDT")
    );
    // Ship via is free text and M3's delivery method a 3-character code: a lookup table.
    assert!(
        line("MODL").contains("lookup(shipvia, ShipVia)"),
        "{}",
        line("MODL")
    );
}

#[test]
fn suggest_recovers_hidden_rules_of_the_default_quote_to_order_mapping() {
    let mapping = default_mapping("quote-to-order").expect("default");
    let source = source_schema("quotewerks:quote").unwrap();
    let target = target_schema("m3:order").unwrap();
    let sample_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("mappings/samples/quote.json")).unwrap(),
    )
    .unwrap();
    let sample = read_input(&sample_json).unwrap().document;
    let mut hidden = 0;
    let mut recovered = 0;
    for offset in [1, 0] {
        let rate = hit_rate(&mapping, &source, &target, Some(&sample), offset);
        eprintln!(
            "hide {} rules: recovered {}/{} as the top suggestion",
            if offset == 1 {
                "even-numbered"
            } else {
                "odd-numbered"
            },
            rate.recovered,
            rate.hidden
        );
        for (target, expected, top) in &rate.detail {
            eprintln!("  {target:<5} expected one of {expected:?}, top suggestion {top:?}");
        }
        hidden += rate.hidden;
        recovered += rate.recovered;
    }
    eprintln!("suggest hit rate: {recovered}/{hidden}");
    let suggestible = mapping
        .rules()
        .iter()
        .filter(|r| {
            target
                .fields
                .iter()
                .any(|f| f.level == r.level && f.name == r.target)
        })
        .count();
    assert!(hidden > 0);
    assert_eq!(
        hidden, suggestible,
        "each rule of a target field is hidden once"
    );
    // A floor, so a regression in scoring fails the build; the figure itself is printed.
    assert!(
        recovered * 2 >= hidden,
        "suggest recovered only {recovered} of {hidden} hidden rules"
    );
}
