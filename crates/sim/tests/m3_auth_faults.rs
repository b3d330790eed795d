//! OAuth (expiry, refresh, 401 challenges), fault injection, control-token protection,
//! restart persistence and the order status ladder of the M3 simulator.

mod common;

use std::time::Duration;

use common::{client, get, place_order, start_m3, token, token_response};
use ferry_sim::m3::{FaultConfig, FaultKind, QueuedFault};
use ferry_sim::seed;

#[tokio::test]
async fn missing_and_expired_tokens_get_401_with_www_authenticate() {
    let m3 = start_m3(|c| c.token_lifetime_secs = 1).await;
    let url = format!(
        "{}/v2/execute/CRS610MI/GetBasicData?CUNO=1000001",
        m3.api_base()
    );
    let resp = client().get(&url).send().await.expect("request");
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().is_ok_and(|s| s.starts_with("Bearer")))
    );

    let tr = token_response(&m3).await;
    assert_eq!(tr["token_type"], "Bearer");
    assert_eq!(tr["expires_in"], 1);
    let access = tr["access_token"].as_str().expect("access").to_string();
    let refresh = tr["refresh_token"].as_str().expect("refresh").to_string();
    let resp = client()
        .get(&url)
        .bearer_auth(&access)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);

    // Let the one-second token lapse.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let resp = client()
        .get(&url)
        .bearer_auth(&access)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401);
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.contains("invalid_token"), "{challenge}");

    // Refresh grant gives a working token.
    let i = &m3.ionapi;
    let resp = client()
        .post(i.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", i.ci.as_str()),
            ("client_secret", i.cs.as_str()),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(resp.status(), 200);
    let fresh: serde_json::Value = resp.json().await.expect("json");
    let fresh = fresh["access_token"].as_str().expect("access").to_string();
    let resp = client()
        .get(&url)
        .bearer_auth(&fresh)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_control_expiry_works() {
    let m3 = start_m3(|_| {}).await;
    let i = &m3.ionapi;
    assert!(i.ci.starts_with(&format!("{}~", i.ti)) && i.saak.starts_with(&format!("{}#", i.ti)));
    assert_eq!(
        i.token_url(),
        format!("{}/{}/as/token.oauth2", m3.base_url, m3.tenant)
    );
    let file: ferry_sim::m3::IonApi =
        serde_json::from_str(&std::fs::read_to_string(&m3.ionapi_path).expect("ionapi file"))
            .expect("ionapi json");
    assert_eq!(&file, i);
    let resp = client()
        .post(i.token_url())
        .form(&[
            ("grant_type", "password"),
            ("client_id", i.ci.as_str()),
            ("client_secret", i.cs.as_str()),
            ("username", i.saak.as_str()),
            ("password", "wrong"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 400);
    let t = token(&m3).await;
    assert_eq!(
        get(&m3, &t, "/v2/execute/MMS200MI/GetItmBasic?ITNO=BRG10000")
            .await
            .0,
        200
    );
    assert!(m3.expire_tokens().expect("expire") >= 1);
    assert_eq!(
        get(&m3, &t, "/v2/execute/MMS200MI/GetItmBasic?ITNO=BRG10000")
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn control_endpoints_require_the_control_token() {
    let m3 = start_m3(|_| {}).await;
    let url = format!("{}/_control/faults", m3.base_url);
    let body = serde_json::json!({"rate_503": 1.0});
    let resp = client().put(&url).json(&body).send().await.expect("put");
    assert_eq!(resp.status(), 401);
    let resp = client()
        .put(&url)
        .bearer_auth("not-the-token")
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 401);
    let resp = client()
        .put(&url)
        .bearer_auth(&m3.control_token)
        .json(&body)
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), 200);
    let t = token(&m3).await;
    assert_eq!(
        get(&m3, &t, "/v2/execute/MMS200MI/GetItmBasic?ITNO=BRG10000")
            .await
            .0,
        503
    );
    let resp = client()
        .delete(&url)
        .bearer_auth(&m3.control_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    assert_eq!(
        get(&m3, &t, "/v2/execute/MMS200MI/GetItmBasic?ITNO=BRG10000")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn status_faults_answer_as_configured_and_then_stop() {
    let m3 = start_m3(|c| c.fault_retry_after_secs = 7).await;
    let t = token(&m3).await;
    m3.push_fault(QueuedFault {
        kind: FaultKind::TooManyRequests,
        target: Some("MMS200MI".into()),
        count: 1,
    });
    m3.push_fault(QueuedFault {
        kind: FaultKind::InternalError,
        target: None,
        count: 1,
    });
    m3.push_fault(QueuedFault {
        kind: FaultKind::Unavailable,
        target: None,
        count: 1,
    });
    let url = format!(
        "{}/v2/execute/MMS200MI/GetItmBasic?ITNO=BRG10000",
        m3.api_base()
    );
    let r = client()
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .expect("429");
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(
        client()
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .expect("500")
            .status(),
        500
    );
    assert_eq!(
        client()
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .expect("503")
            .status(),
        503
    );
    assert_eq!(
        client()
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .expect("ok")
            .status(),
        200
    );
    // Rates: 1.0 always fires, limited to the target.
    m3.set_faults(FaultConfig {
        rate_429: 1.0,
        target: Some("OIS100MI".into()),
        ..FaultConfig::default()
    });
    assert_eq!(
        client()
            .get(&url)
            .bearer_auth(&t)
            .send()
            .await
            .expect("ok")
            .status(),
        200
    );
    let (s, _) = get(&m3, &t, "/v2/execute/OIS100MI/LstHead?CUNO=1000001").await;
    assert_eq!(s, 429);
    m3.clear_faults();
}

#[tokio::test]
async fn reset_fault_fails_the_call_without_processing_it() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    m3.push_fault(QueuedFault {
        kind: FaultKind::Reset,
        target: Some("OIS100MI/AddBatchHead".into()),
        count: 1,
    });
    let url = format!(
        "{}/v2/execute/OIS100MI/AddBatchHead?CUNO=1000001",
        m3.api_base()
    );
    let err = client().get(&url).bearer_auth(&t).send().await;
    assert!(err.is_err(), "the connection is reset, no HTTP answer");
    assert_eq!(
        m3.summary().expect("summary").batch_orders,
        0,
        "nothing was written"
    );
    let ok = client()
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .expect("second try");
    assert_eq!(ok.status(), 200);
    assert_eq!(m3.summary().expect("summary").batch_orders, 1);
}

#[tokio::test]
async fn drop_response_fault_commits_the_write_but_the_client_sees_a_reset() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (_, head) = get(
        &m3,
        &t,
        "/v2/execute/OIS100MI/AddBatchHead?CUNO=1000001&CUOR=DROP-1&righttrim=true",
    )
    .await;
    let orno = head["results"][0]["records"][0]["ORNO"]
        .as_str()
        .expect("ORNO")
        .to_string();
    let (s, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/AddBatchLine?ORNO={orno}&ITNO=BRG10000&ORQT=1"),
    )
    .await;
    assert_eq!(s, 200);
    m3.push_fault(QueuedFault {
        kind: FaultKind::DropResponse,
        target: Some("OIS100MI/Confirm".into()),
        count: 1,
    });
    let res = client()
        .get(format!(
            "{}/v2/execute/OIS100MI/Confirm?ORNO={orno}",
            m3.api_base()
        ))
        .bearer_auth(&t)
        .send()
        .await;
    assert!(res.is_err(), "the client never learns the outcome");
    // …but M3 did create the order: a blind retry would be refused, a lookup finds it.
    assert_eq!(m3.orders_by_cuor("DROP-1").expect("orders").len(), 1);
    let (s, retry) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/Confirm?ORNO={orno}"),
    )
    .await;
    assert_eq!(s, 400, "{retry}");
    let (_, no) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/GetOrderNo?ORNO={orno}&righttrim=true"),
    )
    .await;
    assert_eq!(
        no["results"][0]["records"][0]["ORNR"],
        m3.orders_by_cuor("DROP-1").expect("orders")[0]
            .orno
            .as_str()
    );
}

#[tokio::test]
async fn latency_fault_delays_but_still_answers() {
    let m3 = start_m3(|c| c.fault_latency_ms = Some("20-40".parse().expect("latency"))).await;
    let t = token(&m3).await;
    let (s, _) = get(&m3, &t, "/v2/execute/MMS200MI/GetItmBasic?ITNO=BRG10000").await;
    assert_eq!(s, 200);
    m3.set_faults(FaultConfig::default());
}

#[tokio::test]
async fn restart_over_the_same_state_dir_keeps_orders_tokens_and_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m3 = start_m3(|c| c.state = Some(dir.path().to_path_buf())).await;
    let t = token(&m3).await;
    let orno = place_order(
        &m3,
        &t,
        "1000002",
        "RESTART-1",
        &[(&seed::item_number(1), "2")],
    )
    .await;
    let ionapi = m3.ionapi.clone();
    m3.shutdown().await;

    let orders = ferry_sim::m3::read_orders_from_state_dir(dir.path()).expect("read state");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].orno, orno);

    let m3 = start_m3(|c| c.state = Some(dir.path().to_path_buf())).await;
    assert_eq!(m3.ionapi.ci, ionapi.ci);
    assert_eq!(m3.ionapi.saak, ionapi.saak);
    let (s, head) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/GetHead?ORNO={orno}&righttrim=true"),
    )
    .await;
    assert_eq!(
        s, 200,
        "the old token still works and the order survived: {head}"
    );
    assert_eq!(head["results"][0]["records"][0]["CUOR"], "RESTART-1");
    // New orders get new numbers.
    let orno2 = place_order(
        &m3,
        &t,
        "1000002",
        "RESTART-2",
        &[(&seed::item_number(1), "1")],
    )
    .await;
    assert_ne!(orno, orno2);
}

#[tokio::test]
async fn order_status_walks_the_ladder_on_control_calls() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let orno = place_order(
        &m3,
        &t,
        "1000001",
        "LADDER-1",
        &[(&seed::item_number(0), "1")],
    )
    .await;
    let mut seen = vec![m3.orders().expect("orders")[0].stat.clone()];
    // Over HTTP once, then through the library.
    let resp = client()
        .post(format!("{}/_control/orders/{orno}/advance", m3.base_url))
        .bearer_auth(&m3.control_token)
        .send()
        .await
        .expect("advance");
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.expect("json");
    seen.push(v["stat"].as_str().expect("stat").to_string());
    while seen.last().map(String::as_str) != Some("77") && seen.len() < 10 {
        seen.push(m3.advance_order(&orno, None).expect("advance"));
    }
    let tail: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s == "20")
        .collect();
    assert_eq!(tail, ["22", "33", "44", "66", "77"]);
    let (_, head) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/GetHead?ORNO={orno}&righttrim=true"),
    )
    .await;
    assert_eq!(head["results"][0]["records"][0]["STAT"], "77");
}

#[tokio::test]
async fn status_clock_advances_orders_on_its_own() {
    let m3 = start_m3(|c| c.status_clock_secs = 1).await;
    let t = token(&m3).await;
    let orno = place_order(
        &m3,
        &t,
        "1000001",
        "CLOCK-1",
        &[(&seed::item_number(0), "1")],
    )
    .await;
    let start = m3.orders().expect("orders")[0].stat.clone();
    // Poll (no timing assertion): the clock must move the order past where Confirm left it.
    let mut now = start.clone();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = m3.orders().expect("orders")[0].stat.clone();
        if now > start {
            break;
        }
    }
    assert!(now > start, "order {orno} still at {now}");
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let m3 = start_m3(|c| c.max_body_bytes = 4096).await;
    let t = token(&m3).await;
    let big = serde_json::json!({
        "program": "MMS200MI",
        "transactions": [{"transaction": "GetItmBasic", "record": {"ITNO": "X".repeat(10_000)}}]
    });
    let resp = client()
        .post(format!("{}/v2/execute", m3.api_base()))
        .bearer_auth(&t)
        .json(&big)
        .send()
        .await
        .expect("bulk");
    assert_eq!(resp.status(), 413);
    let resp = client()
        .put(format!("{}/_control/faults", m3.base_url))
        .bearer_auth(&m3.control_token)
        .body(vec![b' '; 10_000])
        .send()
        .await
        .expect("control");
    assert_eq!(resp.status(), 413);
}
