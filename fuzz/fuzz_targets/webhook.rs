//! A QuoteWerks webhook body: any bytes give an event or an `invalid` error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(event) = ferry_fuzz::webhook::parse(body) {
        // What the parser promises the host: a numeric document id and a bounded event id.
        assert!(event.quote_id.bytes().all(|b| b.is_ascii_digit()));
        assert!(event.event_id.len() <= 200);
    }
});
