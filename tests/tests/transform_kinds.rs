//! Issue 15: a transform is bound per kind. A tenant's transform written for `quote-to-order`
//! alone (the pdk example `example-bundles`, whose `describe` names only that kind) turns an
//! approved quote into an order, its customer resolved by the shipped default
//! `quote-to-customer` mapping; before, the flow asked the plugin for `quote-to-customer` too
//! and held every quote.

use std::time::Duration;

use ferry_tests::orders::{definite_customers, quote, sellable_items};
use ferry_tests::stack::{Options, READY, Stack};

#[test]
fn a_transform_for_quote_to_order_only_leaves_the_customer_to_the_default_mapping() {
    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    drop(listener);
    // The tenant's transform: the quote-to-order-only example instead of the mapping component.
    let config = std::fs::read_to_string(&stack.config).expect("config");
    assert!(config.contains("ferry_mapping.wasm"), "{config}");
    std::fs::write(
        &stack.config,
        config.replace("ferry_mapping.wasm", "example_bundles.wasm"),
    )
    .expect("write config");
    stack.start_ferry();

    let (new_quote, cuno, lines, _tax) = quote(1, &sellable_items(), &definite_customers());
    let (doc_id, doc_no) = stack.create_quote(&new_quote);
    stack.set_status(doc_id, READY);
    let jobs = stack.settle(1, Duration::from_secs(120));
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].1, "done", "{jobs:?}");

    let orders = stack.m3_orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(
        orders[0].cuno, cuno,
        "the customer the default mapping resolved"
    );
    assert_eq!(orders[0].cuor, doc_no, "mapped by the tenant's transform");
    assert_eq!(orders[0].lines.len(), lines.len(), "{orders:?}");
}
