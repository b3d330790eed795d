//! Helpers shared by the simulator tests: real HTTP over 127.0.0.1 only.
#![allow(dead_code)]

use ferry_sim::m3::{M3Sim, M3SimConfig, M3SimHandle};
use serde_json::Value;

pub async fn start_m3(f: impl FnOnce(&mut M3SimConfig)) -> M3SimHandle {
    let mut cfg = M3SimConfig::default();
    f(&mut cfg);
    M3Sim::start(cfg).await.expect("start M3 simulator")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Password grant with the .ionapi credentials, as a backend service account does it.
pub async fn token_response(m3: &M3SimHandle) -> Value {
    let i = &m3.ionapi;
    let resp = client()
        .post(i.token_url())
        .form(&[
            ("grant_type", "password"),
            ("client_id", i.ci.as_str()),
            ("client_secret", i.cs.as_str()),
            ("username", i.saak.as_str()),
            ("password", i.sask.as_str()),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status(), 200, "token endpoint answers 200");
    resp.json().await.expect("token json")
}

pub async fn token(m3: &M3SimHandle) -> String {
    token_response(m3).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// GET a v1 or v2 URL (relative to the api base) and return (status, json).
pub async fn get(m3: &M3SimHandle, token: &str, path: &str) -> (u16, Value) {
    let resp = client()
        .get(format!("{}{}", m3.api_base(), path))
        .bearer_auth(token)
        .send()
        .await
        .expect("MI request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// v1 record `i` as (name, value) pairs.
pub fn v1_value<'a>(body: &'a Value, row: usize, name: &str) -> Option<&'a str> {
    body["MIRecord"][row]["NameValue"]
        .as_array()?
        .iter()
        .find(|nv| nv["Name"] == name)
        .and_then(|nv| nv["Value"].as_str())
}

/// Place a whole order through v2: AddBatchHead, lines, Confirm. Returns the final ORNO.
pub async fn place_order(
    m3: &M3SimHandle,
    token: &str,
    cuno: &str,
    cuor: &str,
    lines: &[(&str, &str)],
) -> String {
    let (s, head) = get(
        m3,
        token,
        &format!("/v2/execute/OIS100MI/AddBatchHead?CUNO={cuno}&CUOR={cuor}&righttrim=true"),
    )
    .await;
    assert_eq!(s, 200, "{head}");
    let orno = head["results"][0]["records"][0]["ORNO"]
        .as_str()
        .expect("ORNO")
        .to_string();
    for (itno, qty) in lines {
        let (s, body) = get(
            m3,
            token,
            &format!("/v2/execute/OIS100MI/AddBatchLine?ORNO={orno}&ITNO={itno}&ORQT={qty}"),
        )
        .await;
        assert_eq!(s, 200, "{body}");
    }
    let (s, conf) = get(
        m3,
        token,
        &format!("/v2/execute/OIS100MI/Confirm?ORNO={orno}&righttrim=true"),
    )
    .await;
    assert_eq!(s, 200, "{conf}");
    conf["results"][0]["records"][0]["ORNO"]
        .as_str()
        .expect("final ORNO")
        .to_string()
}

/// A real HTTP receiver on 127.0.0.1 that hands every request (method, headers, body) to the test.
pub async fn spawn_receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, axum::http::HeaderMap, axum::body::Bytes)>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              headers: axum::http::HeaderMap,
              body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((method.to_string(), headers, body));
                axum::http::StatusCode::ACCEPTED
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind receiver");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), rx)
}

pub async fn next_request(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(
        String,
        axum::http::HeaderMap,
        axum::body::Bytes,
    )>,
) -> (String, axum::http::HeaderMap, axum::body::Bytes) {
    tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
        .await
        .expect("a request arrives")
        .expect("receiver open")
}
