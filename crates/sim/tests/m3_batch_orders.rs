//! Batch orders a client lost track of can be found and cleaned: LstBatchHead by customer (with
//! CUOR and ORNR), LstBatchLine, DelBatchLine, DelBatchHead; and the "503 after the write"
//! fault that makes a blind resend dangerous.

mod common;

use common::{client, get, start_m3, token};
use ferry_sim::m3::{FaultKind, QueuedFault};

fn records(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["results"][0]["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn batch_orders_are_listed_by_customer_and_deleted_with_their_lines() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let mut ornos = Vec::new();
    for cuor in ["REF-A", "REF-A", "REF-B"] {
        let (s, head) = get(
            &m3,
            &t,
            &format!("/v2/execute/OIS100MI/AddBatchHead?CUNO=1000001&CUOR={cuor}"),
        )
        .await;
        assert_eq!(s, 200, "{head}");
        ornos.push(
            records(&head)[0]["ORNO"]
                .as_str()
                .expect("ORNO")
                .to_string(),
        );
    }
    for itno in ["BRG10000", "BRG10000"] {
        let (s, r) = get(
            &m3,
            &t,
            &format!(
                "/v2/execute/OIS100MI/AddBatchLine?ORNO={}&ITNO={itno}&ORQT=2",
                ornos[0]
            ),
        )
        .await;
        assert_eq!(s, 200, "{r}");
    }

    let (_, list) = get(&m3, &t, "/v2/execute/OIS100MI/LstBatchHead?CUNO=1000001").await;
    let heads = records(&list);
    let with_a: Vec<_> = heads
        .iter()
        .filter(|h| h["CUOR"].as_str().map(str::trim) == Some("REF-A"))
        .collect();
    assert_eq!(with_a.len(), 2, "{list}");
    assert!(with_a.iter().all(|h| h["STAT"] == "10"), "{list}");

    let (_, lines) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/LstBatchLine?ORNO={}", ornos[0]),
    )
    .await;
    let lines = records(&lines);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ITNO"].as_str().map(str::trim), Some("BRG10000"));
    let ponr = lines[0]["PONR"].as_str().expect("PONR").trim().to_string();

    let (s, _) = get(
        &m3,
        &t,
        &format!(
            "/v2/execute/OIS100MI/DelBatchLine?ORNO={}&PONR={ponr}",
            ornos[0]
        ),
    )
    .await;
    assert_eq!(s, 200);
    let (_, left) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/LstBatchLine?ORNO={}", ornos[0]),
    )
    .await;
    assert_eq!(records(&left).len(), 1);

    assert_eq!(m3.summary().expect("summary").unconfirmed_batch_orders, 3);
    let (s, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/DelBatchHead?ORNO={}", ornos[0]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(m3.summary().expect("summary").unconfirmed_batch_orders, 2);
    // Deleting it again: M3 says it does not exist.
    let (s, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/DelBatchHead?ORNO={}", ornos[0]),
    )
    .await;
    assert_eq!(s, 400);

    // A confirmed batch order shows its final number and cannot be deleted.
    let (s, r) = get(
        &m3,
        &t,
        &format!(
            "/v2/execute/OIS100MI/AddBatchLine?ORNO={}&ITNO=BRG10000&ORQT=1",
            ornos[2]
        ),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/Confirm?ORNO={}", ornos[2]),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let final_orno = records(&r)[0]["ORNO"]
        .as_str()
        .expect("ORNO")
        .trim()
        .to_string();
    let (_, list) = get(&m3, &t, "/v2/execute/OIS100MI/LstBatchHead?CUNO=1000001").await;
    let b = records(&list)
        .into_iter()
        .find(|h| h["CUOR"].as_str().map(str::trim) == Some("REF-B"))
        .expect("REF-B");
    assert_eq!(b["STAT"], "90");
    assert_eq!(b["ORNR"].as_str().map(str::trim), Some(final_orno.as_str()));
    let (s, _) = get(
        &m3,
        &t,
        &format!("/v2/execute/OIS100MI/DelBatchHead?ORNO={}", ornos[2]),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(m3.summary().expect("summary").unconfirmed_batch_orders, 1);
}

#[tokio::test]
async fn a_503_after_the_write_has_performed_it() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    m3.push_fault(QueuedFault {
        kind: FaultKind::UnavailableAfterWrite,
        target: Some("OIS100MI/AddBatchHead".into()),
        count: 1,
    });
    let url = format!(
        "{}/v2/execute/OIS100MI/AddBatchHead?CUNO=1000001&CUOR=GW-1",
        m3.api_base()
    );
    let resp = client()
        .get(&url)
        .bearer_auth(&t)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 503);
    assert_eq!(
        m3.summary().expect("summary").batch_orders,
        1,
        "the write happened although the answer says unavailable"
    );
}
