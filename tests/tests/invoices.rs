//! Invoices back, over the real `ferry serve`, plugins and simulators: an approved quote's M3
//! order driven to 77 (M3 invoices it) gets the invoice number and date in the QuoteWerks
//! columns the connector writes by default (`CustomText23`, `CustomDate05`).

use std::time::{Duration, Instant};

use ferry_tests::orders::{approve_all, create_quotes, settle_all_done};
use ferry_tests::stack::{Options, Stack};

#[test]
fn an_invoiced_order_brings_its_invoice_number_and_date_onto_the_quote() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let expected = create_quotes(&stack, 1);
    approve_all(&stack, &expected);
    settle_all_done(&stack, 1, Duration::from_secs(120));
    let orno = stack
        .m3_orders()
        .into_iter()
        .find(|o| o.cuor.trim() == expected[0].doc_no)
        .expect("order")
        .orno
        .trim()
        .to_string();
    let header = stack.document(expected[0].doc_id)["header"].clone();
    assert!(
        header["CustomText23"].as_str().unwrap_or("").is_empty(),
        "no invoice before M3 invoices: {header}"
    );

    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/orders/{orno}/advance"),
        serde_json::json!({ "to": "77" }),
    );
    // Status polling (every second in the stack) sees 77 and pushes status and invoice.
    let start = Instant::now();
    let header = loop {
        let header = stack.document(expected[0].doc_id)["header"].clone();
        if !header["CustomText23"].as_str().unwrap_or("").is_empty() {
            break header;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no invoice on the quote: {header}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(header["DocStatus"], "9-M3 Invoiced", "{header}");
    // The simulator numbers invoices from 200001 and sets EXIN to the number.
    let number: u64 = header["CustomText23"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("an invoice number: {header}"));
    assert!(number >= 200_001, "{header}");
    let date = header["CustomDate05"].as_str().unwrap_or("").to_string();
    let iso = date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    assert!(iso, "an ISO invoice date: {header}");
}
