//! An ION BOD (`SyncSalesOrder` and the other nouns), bare or in an IMS multipart message:
//! any bytes give changes or an error, never a panic or a runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [&str; 3] = [
    "application/xml",
    "multipart/form-data; boundary=B",
    "multipart/mixed; boundary=\"--\"",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let _ = ferry_fuzz::bod::parse(content_type, payload, 64 * 1024);
});
