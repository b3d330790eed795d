//! Request/response shapes of the M3 simulator against the reference examples
//! (reference/m3-api.md §1.4, §1.5): v1 and v2, OK and NOK, bulk, paging, and order semantics.

mod common;

use common::{client, get, place_order, start_m3, token, v1_value};
use ferry_sim::seed;
use serde_json::json;

#[tokio::test]
async fn v1_ok_has_program_metadata_and_blank_padded_mirecords() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (status, body) = get(&m3, &t, "/execute/CRS610MI/GetBasicData?CUNO=1000001").await;
    assert_eq!(status, 200);
    assert_eq!(body["Program"], "CRS610MI");
    assert_eq!(body["Transaction"], "GetBasicData");
    let fields = body["Metadata"]["Field"]
        .as_array()
        .expect("Metadata.Field");
    let cunm = fields
        .iter()
        .find(|f| f["@name"] == "CUNM")
        .expect("CUNM metadata");
    assert_eq!(cunm["@type"], "A");
    assert_eq!(cunm["@length"], 36);
    assert_eq!(body["MIRecord"][0]["RowIndex"], 0);
    let value = v1_value(&body, 0, "CUNM").expect("CUNM value");
    assert_eq!(
        value.len(),
        36,
        "v1 values are blank padded to the field length"
    );
    assert_eq!(value.trim_end(), seed::customer(42, 0).name);
    assert_eq!(
        v1_value(&body, 0, "MAIL").map(str::trim_end),
        Some(seed::customer(42, 0).email.as_str())
    );
}

#[tokio::test]
async fn v1_nok_is_server_returned_nok_at_top_level_with_http_200() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (status, body) = get(&m3, &t, "/execute/CRS610MI/GetBasicData?CUNO=NOSUCH").await;
    assert_eq!(status, 200);
    assert_eq!(body["@type"], "ServerReturnedNOK");
    assert_eq!(body["@field"], "CUNO");
    assert!(body["@code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("NOSUCH"))
    );
    assert!(body.get("MIRecord").is_none());
}

#[tokio::test]
async fn metadata_errors_use_the_real_error_types() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    // The marketing names AddHead/AddLine do not exist.
    let (_, body) = get(&m3, &t, "/execute/OIS100MI/AddHead?CUNO=1000001").await;
    assert_eq!(body["@type"], "TransactionNotFound");
    let (_, body) = get(&m3, &t, "/execute/CRS610MI/GetBasicData").await;
    assert_eq!(body["@type"], "MandatoryInputFieldNotFound");
    assert_eq!(body["@field"], "CUNO");
    let long = "X".repeat(37);
    let (_, body) = get(
        &m3,
        &t,
        &format!("/execute/CRS610MI/ChgBasicData?CUNO=1000001&CUNM={long}"),
    )
    .await;
    assert_eq!(body["@type"], "InputFieldTooLong");
    assert_eq!(body["@field"], "CUNM");
    // v2 reports the same with HTTP 400.
    let (status, body) = get(&m3, &t, "/v2/execute/OIS100MI/AddHead?CUNO=1000001").await;
    assert_eq!(status, 400);
    assert_eq!(body["errorType"], "TransactionNotFound");
}

#[tokio::test]
async fn v2_ok_has_flat_records_and_counters() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let itno = seed::item_number(0);
    let (status, body) = get(
        &m3,
        &t,
        &format!("/v2/execute/MMS200MI/GetItmBasic?ITNO={itno}&righttrim=true"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["nrOfSuccessfullTransactions"], 1);
    assert_eq!(body["nrOfFailedTransactions"], 0);
    assert_eq!(body["wasTerminated"], false);
    assert_eq!(body["results"][0]["transaction"], "GetItmBasic");
    let rec = &body["results"][0]["records"][0];
    assert_eq!(rec["ITNO"], itno.as_str());
    assert_eq!(rec["STAT"], "20");
    assert_eq!(rec["ITDS"], seed::item(42, 0).name.as_str());
    // Without righttrim, values keep M3's blank padding.
    let (_, padded) = get(
        &m3,
        &t,
        &format!("/v2/execute/MMS200MI/GetItmBasic?ITNO={itno}"),
    )
    .await;
    assert_eq!(
        padded["results"][0]["records"][0]["ITNO"]
            .as_str()
            .map(str::len),
        Some(15)
    );
}

#[tokio::test]
async fn v2_failed_single_transaction_is_http_400_with_error_fields() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (status, body) = get(&m3, &t, "/v2/execute/MMS200MI/GetItmBasic?ITNO=NOSUCHITEM").await;
    assert_eq!(status, 400);
    assert_eq!(body["errorField"], "ITNO");
    assert!(
        body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("NOSUCHITEM"))
    );
    assert!(body["errorCode"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(body["nrOfFailedTransactions"], 1);
    assert_eq!(body["results"][0]["errorField"], "ITNO");
}

#[tokio::test]
async fn bulk_post_runs_each_transaction_and_reports_per_result_errors() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let body = json!({
        "program": "MMS200MI",
        "rightTrim": true,
        "maxReturnedRecords": 0,
        "transactions": [
            {"transaction": "GetItmBasic", "record": {"ITNO": seed::item_number(1)}, "selectedColumns": ["ITNO", "STAT"]},
            {"transaction": "GetItmBasic", "record": {"ITNO": "NOSUCHITEM"}},
            {"transaction": "GetItmPrice", "record": {"ITNO": seed::item_number(2)}}
        ]
    });
    let resp = client()
        .post(format!("{}/v2/execute", m3.api_base()))
        .bearer_auth(&t)
        .json(&body)
        .send()
        .await
        .expect("bulk");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["nrOfSuccessfullTransactions"], 2);
    assert_eq!(v["nrOfFailedTransactions"], 1);
    let first = v["results"][0]["records"][0].as_object().expect("record");
    assert_eq!(
        first.len(),
        2,
        "selectedColumns limits the record: {first:?}"
    );
    assert!(v["results"][1]["errorMessage"].is_string());
    let price: rust_decimal::Decimal = v["results"][2]["records"][0]["SAPR"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("SAPR decimal");
    assert_eq!(price, seed::item(42, 2).sales_price);
}

#[tokio::test]
async fn list_transactions_page_by_start_key_and_maxrecs() {
    let m3 = start_m3(|c| c.items = 30).await;
    let t = token(&m3).await;
    // Default maxrecs is 100; 0 means all.
    let (_, all) = get(
        &m3,
        &t,
        "/v2/execute/MMS200MI/LstItmByItm?ITNO=&maxrecs=0&righttrim=true",
    )
    .await;
    let all: Vec<String> = all["results"][0]["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["ITNO"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(all.len(), 30);
    // Page through 7 at a time from the last key, the way clients do it.
    let mut paged: Vec<String> = Vec::new();
    let mut from = String::new();
    loop {
        let (_, page) = get(
            &m3,
            &t,
            &format!("/execute/MMS200MI/LstItmByItm;maxrecs=7;returncols=ITNO,ITDS?ITNO={from}"),
        )
        .await;
        let rows = page["MIRecord"].as_array().cloned().unwrap_or_default();
        let keys: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                r["NameValue"][0]["Value"]
                    .as_str()
                    .map(|v| v.trim_end().to_string())
            })
            .collect();
        assert!(keys.len() <= 7);
        let new: Vec<String> = keys
            .into_iter()
            .filter(|k| paged.last() != Some(k))
            .collect();
        if new.is_empty() {
            break;
        }
        from = new.last().cloned().unwrap_or_default();
        paged.extend(new);
    }
    assert_eq!(paged, all);
    // Customers by number with a start key.
    let (_, custs) = get(
        &m3,
        &t,
        "/v2/execute/CRS610MI/LstByNumber?CUNO=1000005&maxrecs=3&righttrim=true",
    )
    .await;
    let cunos: Vec<&str> = custs["results"][0]["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["CUNO"].as_str())
        .collect();
    assert_eq!(cunos, ["1000005", "1000006", "1000007"]);
}

#[tokio::test]
async fn batch_order_confirm_allocates_stock_and_returns_final_number() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let itno = seed::item_number(0);
    let (_, before) = get(
        &m3,
        &t,
        &format!("/v2/execute/MMS200MI/GetItmWhsBal?WHLO=100&ITNO={itno}&righttrim=true"),
    )
    .await;
    let alqt_before: rust_decimal::Decimal = before["results"][0]["records"][0]["ALQT"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ALQT");
    let orno = place_order(&m3, &t, "1000001", "QW-PO-1", &[(&itno, "1")]).await;
    assert_eq!(orno.len(), 10, "final order numbers are A10");
    let (_, head) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/GetHead?ORNO={orno}&righttrim=true"),
    )
    .await;
    let head = &head["results"][0]["records"][0];
    assert_eq!(head["CUOR"], "QW-PO-1");
    assert_eq!(head["CUNO"], "1000001");
    let (_, after) = get(
        &m3,
        &t,
        &format!("/v2/execute/MMS200MI/GetItmWhsBal?WHLO=100&ITNO={itno}&righttrim=true"),
    )
    .await;
    let alqt_after: rust_decimal::Decimal = after["results"][0]["records"][0]["ALQT"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ALQT");
    let stock = seed::item(42, 0).stock[0];
    let expected = if stock >= rust_decimal::Decimal::ONE {
        rust_decimal::Decimal::ONE
    } else {
        stock
    };
    assert_eq!(alqt_after - alqt_before, expected);
    // The order is findable by customer, which is how a retry proves it exists.
    let (_, list) = get(
        &m3,
        &t,
        "/v2/execute/OIS100MI/LstHead?CUNO=1000001&righttrim=true",
    )
    .await;
    assert!(
        list["results"][0]["records"]
            .as_array()
            .expect("records")
            .iter()
            .any(|r| r["ORNO"] == orno.as_str())
    );
    assert_eq!(m3.orders_by_cuor("QW-PO-1").expect("orders").len(), 1);
}

#[tokio::test]
async fn order_validation_rejects_bad_items_and_preliminary_customers() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    // Customer index 7 is seeded preliminary (STAT 10).
    let prelim = seed::customer(42, 7);
    assert_eq!(prelim.stat, "10");
    let (status, body) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/AddBatchHead?CUNO={}", prelim.cuno),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errorField"], "CUNO");
    let (_, head) = get(
        &m3,
        &t,
        "/v2/execute/OIS100MI/AddBatchHead?CUNO=1000001&righttrim=true",
    )
    .await;
    let orno = head["results"][0]["records"][0]["ORNO"]
        .as_str()
        .expect("ORNO")
        .to_string();
    let (status, body) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/AddBatchLine?ORNO={orno}&ITNO=NOPE&ORQT=1"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["errorField"], "ITNO");
    let discontinued = seed::item(42, 13);
    assert_eq!(discontinued.stat, "90");
    let (status, _) = get(
        &m3,
        &t,
        &format!(
            "/v2/execute/OIS100MI/AddBatchLine?ORNO={orno}&ITNO={}&ORQT=1",
            discontinued.itno
        ),
    )
    .await;
    assert_eq!(status, 400);
    // Both rejections are readable the way batch-order errors are read.
    let (_, errs) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/LstErrMsgOrder?ORNO={orno}&righttrim=true"),
    )
    .await;
    assert_eq!(
        errs["results"][0]["records"].as_array().map(Vec::len),
        Some(2)
    );
    // A batch order without lines cannot be confirmed, and no order appears.
    let (status, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/Confirm?ORNO={orno}"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(m3.order_count().expect("count"), 0);
}

#[tokio::test]
async fn customers_are_created_from_a_template() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (_, tmpl) = get(&m3, &t, "/v2/execute/CRS610MI/LstTemplates?righttrim=true").await;
    let cutm = tmpl["results"][0]["records"][0]["CUNO"]
        .as_str()
        .expect("template")
        .to_string();
    let (status, _) = get(
        &m3,
        &t,
        "/v2/execute/CRS610MI/Add?CUNM=New%20Co&CUA1=1%20Main%20St&CUTM=NOPE",
    )
    .await;
    assert_eq!(status, 400);
    let (status, added) = get(
        &m3,
        &t,
        &format!("/v2/execute/CRS610MI/Add?CUTM={cutm}&CUNM=New%20Co%20Inc.&CUA1=1%20Main%20St&MAIL=a%40new.example.com&righttrim=true"),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    let cuno = added["results"][0]["records"][0]["CUNO"]
        .as_str()
        .expect("CUNO")
        .to_string();
    let (_, got) = get(
        &m3,
        &t,
        &format!("/v2/execute/CRS610MI/GetBasicData?CUNO={cuno}&righttrim=true"),
    )
    .await;
    assert_eq!(got["results"][0]["records"][0]["MAIL"], "a@new.example.com");
    let (status, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/CRS610MI/ChgBasicData?CUNO={cuno}&STAT=10"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/AddBatchHead?CUNO={cuno}"),
    )
    .await;
    assert_eq!(
        status, 400,
        "a customer changed to preliminary can no longer order"
    );
}

#[tokio::test]
async fn price_line_applies_the_customer_discount() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let c = seed::customer(42, 0);
    let it = seed::item(42, 0);
    let (status, body) = get(
        &m3,
        &t,
        &format!(
            "/v2/execute/OIS320MI/GetPriceLine?CUNO={}&ITNO={}&ORQA=2&righttrim=true",
            c.cuno, it.itno
        ),
    )
    .await;
    assert_eq!(status, 200);
    let rec = &body["results"][0]["records"][0];
    let netp: rust_decimal::Decimal = rec["NETP"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("NETP");
    let expected = (it.sales_price * (rust_decimal::Decimal::ONE_HUNDRED - c.discount_percent)
        / rust_decimal::Decimal::ONE_HUNDRED)
        .round_dp(2);
    assert_eq!(netp, expected);
    let (_, wh) = get(
        &m3,
        &t,
        &format!(
            "/v2/execute/OIS100MI/LstWarehBalance?ITNO={}&righttrim=true",
            it.itno
        ),
    )
    .await;
    assert_eq!(
        wh["results"][0]["records"].as_array().map(Vec::len),
        Some(3)
    );
    let (_, iw) = get(
        &m3,
        &t,
        "/v2/execute/MMS080MI/LstItemWarehous?FWHL=100&TWHL=100&maxrecs=0&righttrim=true",
    )
    .await;
    assert_eq!(
        iw["results"][0]["records"].as_array().map(Vec::len),
        Some(50)
    );
}

#[tokio::test]
async fn large_seed_of_100k_items_pages_by_change_date() {
    let m3 = start_m3(|c| c.items = 100_000).await;
    assert_eq!(m3.summary().expect("summary").items, 100_000);
    let t = token(&m3).await;
    let (s, body) = get(
        &m3,
        &t,
        "/v2/execute/MMS200MI/LstItmByChgDate?FLMD=20251201&TLMD=20251231&righttrim=true",
    )
    .await;
    assert_eq!(s, 200);
    let recs = body["results"][0]["records"].as_array().expect("records");
    assert_eq!(recs.len(), 100, "default maxrecs caps the page");
    assert!(
        recs.windows(2)
            .all(|w| w[0]["LMDT"].as_str() <= w[1]["LMDT"].as_str())
    );
    assert!(recs.iter().all(|r| {
        r["LMDT"]
            .as_str()
            .is_some_and(|d| ("20251201"..="20251231").contains(&d))
    }));
    let last = seed::item_number(99_999);
    let (s, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/MMS200MI/GetItmBasic?ITNO={last}"),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn new_balances_are_listed_from_a_change_stamp_and_an_older_m3_has_no_such_listing() {
    use ferry_sim::m3::{ItemChange, StockChange};
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    // Seeded balances are stamped with their change date, which is before today.
    let stamp = chrono::Utc::now().timestamp_millis().to_string();
    let path = format!(
        "/v2/execute/OIS100MI/LstNewBalances?LMTS={stamp}&WHLO=200&maxrecs=0&righttrim=true"
    );
    let (status, body) = get(&m3, &t, &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"][0]["records"].as_array().map(Vec::len),
        Some(0)
    );
    let itno = seed::item_number(3);
    for whlo in ["100", "200"] {
        let change = ItemChange {
            stock: vec![StockChange {
                whlo: whlo.into(),
                stqt: 17.into(),
            }],
            ..ItemChange::default()
        };
        m3.change_item(&itno, &change).expect("change");
    }
    let (_, body) = get(&m3, &t, &path).await;
    let recs = body["results"][0]["records"].as_array().expect("records");
    assert_eq!(recs.len(), 1, "only the warehouse asked for: {recs:?}");
    assert_eq!(recs[0]["ITNO"], itno.as_str());
    assert_eq!(recs[0]["WHLO"], "200");
    assert_eq!(recs[0]["STQT"], "17");
    let listed: Option<i64> = recs[0]["LMTS"].as_str().and_then(|s| s.parse().ok());
    assert!(listed.is_some_and(|l| l >= stamp.parse::<i64>().expect("stamp")));
    // Without a warehouse: both of the item's changed balances.
    let all = format!("/v2/execute/OIS100MI/LstNewBalances?LMTS={stamp}&maxrecs=0");
    let (_, body) = get(&m3, &t, &all).await;
    assert_eq!(
        body["results"][0]["records"].as_array().map(Vec::len),
        Some(2)
    );
    let (status, body) = get(&m3, &t, "/v2/execute/OIS100MI/LstNewBalances?LMTS=today").await;
    assert_eq!((status, body["errorField"].as_str()), (400, Some("LMTS")));

    let old = start_m3(|c| c.without_transactions = vec!["OIS100MI/LstNewBalances".into()]).await;
    let t = token(&old).await;
    let (status, body) = get(&old, &t, &path).await;
    assert_eq!(status, 400);
    assert_eq!(body["errorType"], "TransactionNotFound");
    // A misspelt transaction is refused at start, not served as if M3 lacked it.
    let cfg = ferry_sim::m3::M3SimConfig {
        without_transactions: vec!["OIS100MI/LstNewBalance".into()],
        ..Default::default()
    };
    let err = ferry_sim::m3::M3Sim::start(cfg)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("OIS100MI/LstNewBalance: no such transaction"),
        "{err}"
    );
}
