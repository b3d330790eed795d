//! One M3 customer linked to a QuoteWerks company, as the customer tests drive it: M3 changes
//! the customer and sends its SyncCustomerPartyMaster BOD to Ferry's ION endpoint, and the test
//! reads what reached the QuoteWerks contact.

use std::time::{Duration, Instant};

use ferry_sim::m3::CustomerChange;
use ferry_sim::quotewerks::{NewLine, NewQuote};
use ferry_sim::seed::SeedCustomer;
use serde_json::json;

use crate::orders::sellable_items;
use crate::stack::Stack;

/// An open quote sold to `customer` under the contact manager account `account`: what a
/// customer sync links to the M3 customer.
pub fn open_quote(customer: &SeedCustomer, account: &str) -> NewQuote {
    let mut q: NewQuote = serde_json::from_value(json!({
        "sold_to": {"company": customer.name, "email": customer.email, "cm_account_no": account},
        "status": "1-In Progress",
        "lines": [],
    }))
    .expect("quote");
    q.lines = vec![NewLine::product(&sellable_items()[0], 1.into())];
    q
}

/// The city of the QuoteWerks contact with `account`.
pub fn contact_city(stack: &Stack, account: &str) -> String {
    let contacts = stack.qw.contacts().expect("contacts");
    contacts
        .iter()
        .find(|c| c.get("AccountNo").map(String::as_str) == Some(account))
        .and_then(|c| c.get("City").cloned())
        .unwrap_or_default()
}

/// The newest SyncCustomerPartyMaster BOD M3 sent about `cuno`.
pub fn newest_bod(stack: &Stack, cuno: &str) -> String {
    stack
        .m3
        .bods()
        .expect("bods")
        .into_iter()
        .rev()
        .find(|b| b.xml.contains("SyncCustomerPartyMaster") && b.xml.contains(cuno))
        .unwrap_or_else(|| panic!("no SyncCustomerPartyMaster BOD for {cuno}"))
        .xml
}

/// Changes the customer's town in M3 and posts the BOD M3 sends about it (retrying while a
/// restarted Ferry is not listening yet).
pub fn move_and_post(stack: &Stack, cuno: &str, town: &str) {
    stack
        .m3
        .change_customer(
            cuno,
            &CustomerChange {
                town: Some(town.into()),
                ..Default::default()
            },
        )
        .expect("change");
    let bod = newest_bod(stack, cuno);
    assert!(bod.contains(town), "the BOD carries {town}");
    let start = Instant::now();
    loop {
        match stack.post_bod(&bod) {
            Ok((status, reply)) => {
                assert_eq!(status, 202, "{town}: {reply}");
                return;
            }
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(20), "post: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
