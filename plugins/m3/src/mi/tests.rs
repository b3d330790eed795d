//! MI answers (v1, v2, NOKs, partial failures) and query encoding.

use super::*;

fn resp(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![("Retry-After".into(), "3".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn v2_records_are_trimmed() {
    let r = parse_response(
        Api::V2,
        "MMS200MI/GetItmBasic",
        &resp(200, r#"{"results":[{"transaction":"GetItmBasic","records":[{"ITNO":"A1   ","ITDS":"Bolt  "}]}],"wasTerminated":false,"nrOfSuccessfullTransactions":1,"nrOfFailedTransactions":0}"#),
    )
    .expect("ok")
    .expect("records");
    assert_eq!(r[0]["ITNO"], "A1");
    assert_eq!(r[0]["ITDS"], "Bolt");
}

#[test]
fn v2_http_400_is_a_nok_with_its_field() {
    let nok = parse_response(
        Api::V2,
        "CRS610MI/GetBasicData",
        &resp(400, r#"{"errorMessage":"Customer number X does not exist","errorType":"ServerReturnedNOK","errorCode":"XRE0103","errorField":"CUNO","results":[]}"#),
    )
    .expect("answer")
    .expect_err("nok");
    assert_eq!(nok.field, "CUNO");
    assert!(matches!(nok.classify(), Error::NotFound(m) if m.contains("does not exist")));
}

#[test]
fn a_classified_nok_reports_m3s_own_terms_as_details() {
    let nok = parse_response(
        Api::V2,
        "CRS610MI/GetBasicData",
        &resp(400, r#"{"errorMessage":"Customer number X does not exist","errorType":"ServerReturnedNOK","errorCode":"XRE0103","errorField":"CUNO","results":[]}"#),
    )
    .expect("answer")
    .expect_err("nok");
    let _ = ferry_pdk::take_reported();
    nok.classify();
    let details = ferry_pdk::take_reported();
    let get = |k: &str| {
        details
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("m3.program"), Some("CRS610MI"));
    assert_eq!(get("m3.transaction"), Some("GetBasicData"));
    assert_eq!(get("m3.message-id"), Some("XRE0103"));
    assert_eq!(get("m3.field"), Some("CUNO"));
    assert_eq!(get("m3.error-type"), Some("ServerReturnedNOK"));
}

#[test]
fn v2_http_400_with_the_nok_only_in_results_is_that_nok() {
    let r = parse_response(
        Api::V2,
        "OIS100MI/AddBatchLine",
        &resp(400, r#"{"results":[{"transaction":"AddBatchLine","errorMessage":"Item X does not exist","errorType":"ServerReturnedNOK","errorCode":"XRE0103","errorField":"ITNO"}],"wasTerminated":false,"nrOfSuccessfullTransactions":0,"nrOfFailedTransactions":1}"#),
    )
    .expect("a NOK, not a transport error");
    let nok = r.expect_err("NOK");
    assert_eq!(nok.field, "ITNO");
    assert!(nok.message.contains("does not exist"), "{}", nok.message);
}

#[test]
fn v1_nok_and_partial_list_failure_are_noks() {
    let nok = parse_response(
        Api::V1,
        "OIS100MI/AddBatchLine",
        &resp(200, r#"{"@type":"InputFieldTooLong","@code":"","@field":"ITDS","@cfg":null,"Message":"Field ITDS too long          "}"#),
    )
    .expect("answer")
    .expect_err("nok");
    assert!(matches!(nok.classify(), Error::Invalid(e) if e[0].field == "ITDS"));
    let partial = parse_response(
        Api::V1,
        "X/Lst",
        &resp(200, r#"{"MIRecord":[{"RowIndex":0,"NameValue":[{"Name":"A","Value":"1"}]}],"ErrorMessage":{"@type":"ServerReturnedNOK","@code":"CPF9898","@field":"RCNT","Message":"Designed to fail!"}}"#),
    )
    .expect("answer");
    assert!(partial.is_err());
}

#[test]
fn v1_records_come_from_name_values() {
    let r = parse_response(
        Api::V1,
        "CRS610MI/GetBasicData",
        &resp(200, r#"{"Program":"CRS610MI","Transaction":"GetBasicData","MIRecord":[{"RowIndex":0,"NameValue":[{"Name":"CUNO","Value":"C100      "},{"Name":"CUNM","Value":"Acme   "}]}]}"#),
    )
    .expect("ok")
    .expect("records");
    assert_eq!(r[0]["CUNO"], "C100");
    assert_eq!(r[0]["CUNM"], "Acme");
}

#[test]
fn statuses_are_classified() {
    assert!(matches!(
        parse_response(Api::V2, "x", &resp(429, "")),
        Err(Error::RateLimited(r)) if r.retry_after_ms == Some(3000)
    ));
    assert!(matches!(
        parse_response(Api::V2, "x", &resp(503, "")),
        Err(Error::Transient(_))
    ));
    assert!(matches!(
        parse_response(Api::V2, "x", &resp(401, "")),
        Err(Error::Unauthorized(_))
    ));
    assert!(matches!(
        parse_response(Api::V2, "x", &resp(200, "<html>")),
        Err(Error::Transient(_))
    ));
}

#[test]
fn transaction_not_found_is_fatal_and_conflicts_are_conflicts() {
    let nok = |kind: &str, msg: &str| Nok {
        transaction: "OIS100MI/X".into(),
        kind: kind.into(),
        code: String::new(),
        field: "ORNO".into(),
        message: msg.into(),
    };
    assert!(matches!(
        nok("TransactionNotFound", "no").classify(),
        Error::Fatal(_)
    ));
    assert!(matches!(
        nok(
            "ServerReturnedNOK",
            "Batch order 9 is already confirmed as order 1"
        )
        .classify(),
        Error::Conflict(_)
    ));
    assert!(matches!(
        nok("ServerReturnedNOK", "Quantity must be positive").classify(),
        Error::Invalid(e) if e[0].field == "ORNO"
    ));
}

#[test]
fn query_values_are_percent_encoded() {
    assert_eq!(encode("A&B Co/1 ü"), "A%26B%20Co%2F1%20%C3%BC");
}

#[test]
fn a_sync_listing_leaves_blank_fields_out_and_every_other_call_keeps_them() {
    for (api, keep, omit) in [
        (Api::V2, "excludeempty=false", "excludeempty=true"),
        (Api::V1, "excludempty=false", "excludempty=true"),
    ] {
        let mi = Mi::new(Settings {
            connection: "m3".into(),
            api,
            base_path: "T/M3/m3api-rest".into(),
            cono: None,
            divi: None,
            page_size: 100,
            bulk_orders: false,
            bulk_size: 500,
        });
        let inputs = [("ITNO".to_string(), String::new())];
        let call = mi.path("MMS200MI", "LstItmByItm", &inputs, Some(501), Blanks::Keep);
        let list = mi.path("MMS200MI", "LstItmByItm", &inputs, Some(501), Blanks::Omit);
        assert!(call.contains(keep) && !call.contains(omit), "{call}");
        assert!(list.contains(omit) && !list.contains(keep), "{list}");
        assert!(list.contains("maxrecs=501"), "{list}");
        // `returncols` is an option, never a transaction field.
        let inputs = [
            ("FWHL".to_string(), "100".to_string()),
            (super::RETURN_COLUMNS.to_string(), "ITNO,STQT".to_string()),
        ];
        let p = mi.path(
            "MMS080MI",
            "LstItemWarehous",
            &inputs,
            Some(0),
            Blanks::Omit,
        );
        assert_eq!(p.matches("returncols=ITNO%2CSTQT").count(), 1, "{p}");
        if api == Api::V1 {
            // A v1 option is a matrix parameter, before the query's fields.
            assert!(p.contains(";returncols=") && p.contains("?FWHL=100"), "{p}");
        }
    }
}

#[test]
fn v2_values_that_are_not_strings_are_read_as_their_text() {
    let r = parse_response(
        Api::V2,
        "MMS080MI/LstItemWarehous",
        &resp(200, r#"{"results":[{"transaction":"LstItemWarehous","records":[{"ITNO":"A1","STQT":12.5,"CHNO":3,"SALE":true,"ITDS":null}]}]}"#),
    )
    .expect("ok")
    .expect("records");
    assert_eq!(r[0]["STQT"], "12.5");
    assert_eq!(r[0]["CHNO"], "3");
    assert_eq!(r[0]["SALE"], "true");
    assert_eq!(r[0]["ITDS"], "");
}

#[test]
fn a_bulk_answer_keeps_each_results_records_or_its_nok_apart() {
    let answer: answer::V2Answer = parse_json(
        "MMS200MI bulk",
        br#"{"results":[
            {"transaction":"GetItmBasic","records":[{"ITNO":"A1  "}]},
            {"transaction":"GetItmBasic","errorMessage":"Item B2 does not exist","errorCode":"WITNO03","errorField":"ITNO","records":[]},
            {"transaction":"GetItmBasic"}
        ],"nrOfFailedTransactions":1}"#,
    )
    .expect("answer");
    assert!(answer.nok("MMS200MI bulk").is_none(), "no top-level error");
    let mut results = answer
        .results
        .expect("results")
        .into_iter()
        .map(|r| r.into_records("MMS200MI/GetItmBasic"));
    assert_eq!(
        results.next().expect("first").expect("records")[0]["ITNO"],
        "A1"
    );
    let nok = results.next().expect("second").expect_err("nok");
    assert_eq!((nok.code.as_str(), nok.field.as_str()), ("WITNO03", "ITNO"));
    assert!(results.next().expect("third").expect("records").is_empty());
}

#[test]
fn a_v2_answer_that_is_not_json_is_an_error_not_an_empty_listing() {
    assert!(parse_json::<answer::V2Answer>("MMS200MI/LstItmByItm", b"<html>busy</html>").is_err());
}

#[test]
fn v2_null_records_results_and_elements_that_are_no_record_read_as_none() {
    let answer: answer::V2Answer = parse_json(
        "MMS200MI bulk",
        br#"{"results":[
            {"transaction":"GetItmBasic","records":null},
            null,
            {"transaction":"GetItmBasic","records":[7, "x", null, ["a"], {"ITNO":"A1 "}]}
        ]}"#,
    )
    .expect("answer");
    let results: Vec<Vec<Record>> = answer
        .results
        .expect("results")
        .into_iter()
        .map(|r| r.into_records("MMS200MI/GetItmBasic").expect("records"))
        .collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_empty() && results[1].is_empty());
    assert_eq!(results[2].len(), 1);
    assert_eq!(results[2][0]["ITNO"], "A1");
}

#[test]
fn a_v2_error_is_a_message_or_code_in_text_and_a_number_there_is_none() {
    let records = parse_response(
        Api::V2,
        "MMS200MI/GetItmBasic",
        &resp(200, r#"{"results":[{"transaction":"GetItmBasic","errorCode":0,"errorMessage":null,"records":[{"ITNO":"A1"}]}]}"#),
    )
    .expect("ok")
    .expect("a number as the code is no error");
    assert_eq!(records[0]["ITNO"], "A1");
    let nok = parse_response(
        Api::V2,
        "MMS200MI/GetItmBasic",
        &resp(200, r#"{"results":[{"transaction":"GetItmBasic","errorCode":"WITNO03","errorField":7,"records":[]}]}"#),
    )
    .expect("ok")
    .expect_err("a code in text is");
    assert_eq!((nok.code.as_str(), nok.field.as_str()), ("WITNO03", "7"));
}
