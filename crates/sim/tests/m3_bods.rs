//! BOD publishing as ION's messaging service does it: multipart POST with ParameterRequest
//! (JSON) and MessagePayload (OAGIS XML), parsed here with multer and quick-xml.

mod common;

use common::{get, next_request, place_order, spawn_receiver, start_m3, token};
use ferry_sim::m3::{CustomerChange, ItemChange, StockChange};
use ferry_sim::seed;
use quick_xml::Reader;
use quick_xml::events::Event;
use rust_decimal::Decimal;

struct Bod {
    params: serde_json::Value,
    root: String,
    xml: String,
}

async fn parse(headers: &axum::http::HeaderMap, body: axum::body::Bytes) -> Bod {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .expect("content-type");
    assert!(ct.starts_with("multipart/form-data"), "{ct}");
    let boundary = multer::parse_boundary(ct).expect("boundary");
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut params = None;
    let mut xml = None;
    while let Some(field) = mp.next_field().await.expect("field") {
        match field.name() {
            Some("ParameterRequest") => {
                let text = field.text().await.expect("params");
                params =
                    Some(serde_json::from_str::<serde_json::Value>(&text).expect("params json"));
            }
            Some("MessagePayload") => xml = Some(field.text().await.expect("payload")),
            other => panic!("unexpected part {other:?}"),
        }
    }
    let xml = xml.expect("MessagePayload part");
    let mut reader = Reader::from_str(&xml);
    let root = loop {
        match reader.read_event().expect("xml") {
            Event::Start(e) => break AsRef::<str>::as_ref(&e.name()).to_string(),
            Event::Eof => panic!("no root element"),
            _ => {}
        }
    };
    Bod {
        params: params.expect("ParameterRequest part"),
        root,
        xml,
    }
}

#[tokio::test]
async fn changes_publish_multipart_bods_in_order() {
    let (url, mut rx) = spawn_receiver().await;
    let m3 = start_m3(|c| {
        c.bod_endpoint = Some(url.clone());
        c.bod_token = Some("ims-token".into());
    })
    .await;
    let itno = seed::item_number(3);
    m3.change_item(
        &itno,
        &ItemChange {
            sapr: Some(Decimal::new(12345, 2)),
            stock: vec![StockChange {
                whlo: "100".into(),
                stqt: Decimal::from(77),
            }],
            ..ItemChange::default()
        },
    )
    .expect("change item");
    let (method, headers, body) = next_request(&mut rx).await;
    assert_eq!(method, "POST");
    assert_eq!(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Bearer ims-token")
    );
    let bod = parse(&headers, body).await;
    assert_eq!(bod.params["documentName"], "SyncItemMaster");
    assert_eq!(bod.params["fromLogicalId"], "lid://infor.m3.m3");
    assert_eq!(bod.root, "SyncItemMaster");
    assert!(bod.xml.contains(&format!(">{itno}</ID>")));
    assert!(
        bod.xml
            .contains(r#"<NameValue name="m3.SAPR" type="StringType">123.45</NameValue>"#)
    );
    assert!(
        bod.xml
            .contains(r#"<NameValue name="m3.STQT.100" type="StringType">77</NameValue>"#)
    );

    m3.change_customer(
        "1000003",
        &CustomerChange {
            mail: Some("new@x.example.com".into()),
            ..Default::default()
        },
    )
    .expect("change customer");
    let (_, headers, body) = next_request(&mut rx).await;
    let bod = parse(&headers, body).await;
    assert_eq!(bod.root, "SyncCustomerPartyMaster");
    assert!(bod.xml.contains("<URI>new@x.example.com</URI>"));

    // Through MI: ChgBasicData publishes too, and a confirmed order publishes its status.
    let t = token(&m3).await;
    let (s, _) = get(
        &m3,
        &t,
        "/v2/execute/CRS610MI/ChgBasicData?CUNO=1000004&PHNO=555-0100",
    )
    .await;
    assert_eq!(s, 200);
    let (_, headers, body) = next_request(&mut rx).await;
    assert_eq!(parse(&headers, body).await.root, "SyncCustomerPartyMaster");
    let orno = place_order(&m3, &t, "1000001", "BOD-1", &[(&seed::item_number(0), "1")]).await;
    let (_, headers, body) = next_request(&mut rx).await;
    let bod = parse(&headers, body).await;
    assert_eq!(bod.root, "SyncSalesOrder");
    assert!(bod.xml.contains(&format!(">{orno}</ID>")));
    assert!(bod.xml.contains("<ID>BOD-1</ID>"));
    m3.advance_order(&orno, Some("66")).expect("deliver");
    let mut roots = Vec::new();
    for _ in 0..2 {
        let (_, headers, body) = next_request(&mut rx).await;
        roots.push(parse(&headers, body).await.root);
    }
    assert!(roots.contains(&"SyncSalesOrder".to_string()), "{roots:?}");
    assert!(
        roots.contains(&"SyncItemMaster".to_string()),
        "delivery moves stock: {roots:?}"
    );
}

#[tokio::test]
async fn bods_wait_in_the_outbox_while_the_endpoint_is_down() {
    // No endpoint: BODs are kept, not lost.
    let m3 = start_m3(|_| {}).await;
    m3.change_item(
        &seed::item_number(0),
        &ItemChange {
            stat: Some("90".into()),
            ..Default::default()
        },
    )
    .expect("change");
    let bods = m3.bods().expect("bods");
    assert_eq!(bods.len(), 1);
    assert!(!bods[0].sent);
    assert_eq!(m3.summary().expect("summary").bods_pending, 1);
}
