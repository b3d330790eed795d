//! `ferry export runs|audit`: a tenant's runs and audit trail as JSON lines, on the real stack
//! (simulators, `ferry serve`), one ordered quote and one held; `--since` narrows, a `--since`
//! that is not RFC 3339 and a tenant the config doesn't name are errors.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_tests::ferry;
use ferry_tests::orders::{d, definite_customers, sellable_items};
use ferry_tests::stack::{Options, READY, Stack};
use rust_decimal::Decimal;

fn quote(doc_no: &str, sold_to: SoldTo, line: NewLine) -> NewQuote {
    NewQuote {
        sold_to,
        ship_to: None,
        doc_no: Some(doc_no.into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: "PO-EXPORT".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: vec![line],
    }
}

fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
        .collect()
}

#[test]
fn runs_and_audit_export_as_json_lines() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let customers = definite_customers();
    let items = sellable_items();
    let sold_to = || SoldTo::from_seed(&customers[0]);
    let (done_id, _) = stack.create_quote(&quote(
        "Q2042",
        sold_to(),
        NewLine::product(&items[0], d(2)),
    ));
    let (held_id, _) = stack.create_quote(&quote(
        "Q2043",
        sold_to(),
        NewLine::product("NOSUCH-ITEM", d(1)).with_price(d(10)),
    ));
    stack.set_status(done_id, READY);
    stack.set_status(held_id, READY);
    stack.settle(2, Duration::from_secs(120));
    let data = &stack.data;

    let runs = lines(
        &ferry(data, &["export", "runs", "--tenant", "acme"])
            .expect_code(0)
            .stdout,
    );
    let state = |id: i64| {
        runs.iter()
            .find(|r| r["kind"] == "quote-to-order" && r["key"].as_str() == Some(&id.to_string()))
            .map(|r| r["state"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(state(done_id).as_deref(), Some("done"), "{runs:?}");
    assert_eq!(state(held_id).as_deref(), Some("held"), "{runs:?}");
    assert!(runs.iter().all(|r| r["tenant"] == "acme"));

    let audit = lines(
        &ferry(data, &["export", "audit", "--tenant", "acme"])
            .expect_code(0)
            .stdout,
    );
    assert!(
        audit
            .iter()
            .any(|e| e["key"].as_str() == Some(&done_id.to_string())),
        "{audit:?}"
    );
    let ats: Vec<&str> = audit.iter().filter_map(|e| e["at"].as_str()).collect();
    assert!(
        ats.windows(2).all(|w| w[0] <= w[1]),
        "oldest first: {ats:?}"
    );

    let later = ferry(
        data,
        &[
            "export",
            "audit",
            "--tenant",
            "acme",
            "--since",
            "2999-01-01T00:00:00Z",
        ],
    )
    .expect_code(0);
    assert_eq!(later.stdout, "");
    ferry(
        data,
        &["export", "runs", "--tenant", "acme", "--since", "yesterday"],
    )
    .expect_code(3);
    ferry(data, &["export", "runs", "--tenant", "nope"]).expect_code(3);
}
