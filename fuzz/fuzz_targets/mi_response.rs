//! An MI REST answer (v1 or v2 JSON, any status): records, a NOK or an error, never a panic;
//! a NOK always classifies.
#![no_main]

use ferry_fuzz::mi::{Api, parse_response};
use ferry_pdk::http::Response;
use libfuzzer_sys::fuzz_target;

const STATUSES: [u16; 7] = [200, 400, 401, 404, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let api = if selector & 1 == 0 { Api::V2 } else { Api::V1 };
    let response = Response {
        status: STATUSES[usize::from(selector >> 1) % STATUSES.len()],
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_vec(),
    };
    if let Ok(Err(nok)) = parse_response(api, "OIS100MI/AddBatchHead", &response) {
        let _ = nok.classify();
    }
});
