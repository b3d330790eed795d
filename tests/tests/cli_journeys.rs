//! `ferry trace`, `holds` and `dlq` take the quote number people use (`Q1042`) as well as the
//! internal id, and a tenant the config doesn't name is an error, not an empty answer. Run on
//! the real stack (simulators, `ferry serve`), without `--config`: the commands use the config
//! the server runs with on that data directory.

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
        po_number: "PO-CLI".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: vec![line],
    }
}

#[test]
fn trace_holds_and_dlq_take_the_quote_number_and_refuse_unknown_tenants() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let customers = definite_customers();
    let items = sellable_items();
    let sold_to = || SoldTo::from_seed(&customers[0]);
    let (done_id, _) = stack.create_quote(&quote(
        "Q1042",
        sold_to(),
        NewLine::product(&items[0], d(2)),
    ));
    let (held_id, _) = stack.create_quote(&quote(
        "Q1043",
        sold_to(),
        NewLine::product("NOSUCH-ITEM", d(1)).with_price(d(10)),
    ));
    stack.set_status(done_id, READY);
    stack.set_status(held_id, READY);
    let jobs = stack.settle(2, Duration::from_secs(120));
    assert!(
        jobs.iter()
            .any(|j| j.0 == done_id.to_string() && j.1 == "done")
            && jobs
                .iter()
                .any(|j| j.0 == held_id.to_string() && j.1 == "held"),
        "{jobs:?}"
    );
    let data = &stack.data;

    // By number: the people's name for it, and the id beside it.
    let trace = ferry(data, &["trace", "Q1042", "--tenant", "acme"]).expect_code(0);
    assert!(
        trace
            .stdout
            .contains(&format!("quote Q1042 (id {done_id}) (tenant acme): done")),
        "{}",
        trace.stdout
    );
    assert!(trace.stdout.contains("ERP order: "), "{}", trace.stdout);
    let by_number = ferry(data, &["trace", "Q1042", "--tenant", "acme", "--json"])
        .expect_code(0)
        .json();
    let by_id = ferry(
        data,
        &["trace", &done_id.to_string(), "--tenant", "acme", "--json"],
    )
    .expect_code(0)
    .json();
    assert_eq!(by_number["quote_id"], done_id.to_string());
    assert_eq!(by_id["quote_number"], "Q1042");
    assert_eq!(by_number["job"], by_id["job"]);

    // Holds: listed by id, released by number.
    let holds = ferry(data, &["holds", "list", "--tenant", "acme"]).expect_code(0);
    assert!(
        holds.stdout.contains(&format!("acme/{held_id}")),
        "{}",
        holds.stdout
    );
    let released = ferry(data, &["holds", "release", "q1043", "--tenant", "acme"]).expect_code(0);
    assert!(
        released
            .stdout
            .contains(&format!("released acme/{held_id}")),
        "{}",
        released.stdout
    );

    // Dead letters by quote: none for a quote that went through, said so.
    let none = ferry(
        data,
        &[
            "dlq", "list", "--tenant", "acme", "--quote", "Q1042", "--json",
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(none, serde_json::json!([]));
    let show = ferry(
        data,
        &["dlq", "show", "--quote", "Q1042", "--tenant", "acme"],
    )
    .expect_code(3);
    assert!(
        show.stderr
            .contains("quote 'Q1042' of tenant 'acme' has no dead letter"),
        "{}",
        show.stderr
    );

    // A number nobody has is "no" (1); a tenant the config doesn't name is an error (3).
    let unknown = ferry(data, &["trace", "Q9999", "--tenant", "acme"]).expect_code(1);
    assert!(
        unknown
            .stderr
            .contains("no record of quote 'Q9999' for tenant 'acme'"),
        "{}",
        unknown.stderr
    );
    for args in [
        &["trace", "Q1042", "--tenant", "globex"][..],
        &["holds", "list", "--tenant", "globex"],
        &["holds", "release", "Q1043", "--tenant", "globex"],
        &["dlq", "list", "--tenant", "globex"],
    ] {
        let run = ferry(data, args).expect_code(3);
        assert!(
            run.stderr.contains("tenant 'globex' is not configured in"),
            "{args:?}: {}",
            run.stderr
        );
    }
}
