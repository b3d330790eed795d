//! The QuoteWerks simulator: its tables as an integrator reads them over SQL, seeded documents
//! covering every line type, the webhook emitter (a real receiver), the control API, and
//! agreement with the M3 simulator's customers and items.

mod common;

use std::collections::HashSet;

use common::{client, get, next_request, spawn_receiver, start_m3, token};
use ferry_sim::quotewerks::{NewLine, NewQuote, QuoteWerksSim, QuoteWerksSimConfig, SoldTo};
use ferry_sim::seed;
use rusqlite::Connection;
use rust_decimal::Decimal;

async fn start(
    f: impl FnOnce(&mut QuoteWerksSimConfig),
) -> ferry_sim::quotewerks::QuoteWerksSimHandle {
    let mut cfg = QuoteWerksSimConfig::default();
    f(&mut cfg);
    QuoteWerksSim::start(cfg)
        .await
        .expect("start QuoteWerks simulator")
}

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

#[tokio::test]
async fn seeded_documents_cover_every_line_type_and_join_on_docid() {
    let qw = start(|_| {}).await;
    let db = Connection::open(&qw.db_path).expect("open QuoteWerks db");
    let line_types: HashSet<i64> = db
        .prepare("SELECT DISTINCT di.LineType FROM DocumentItems di JOIN DocumentHeaders dh ON di.DocID = dh.ID")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    for t in [1, 2, 4, 8, 16, 64, 128, 256] {
        assert!(
            line_types.contains(&t),
            "LineType {t} seeded: {line_types:?}"
        );
    }
    let attr = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).expect("count") };
    assert!(
        attr("SELECT COUNT(*) FROM DocumentItems WHERE LineAttributes & 1 = 1") > 0,
        "excluded lines"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentItems WHERE LineAttributes & 272 = 16") > 0,
        "unselected options"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentItems WHERE LineAttributes & 272 = 272") > 0,
        "selected options"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentItems WHERE ItemType = 'TAX'") > 0,
        "a TAX line"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentItems WHERE PriceModifier LIKE 'D%\\%'") > 0,
        "chained D modifier"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentHeaders WHERE DocNo LIKE '%-01'") > 0,
        "a revision"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentHeaders WHERE DocNo LIKE 'QW%'") > 0,
        "a legacy DocNo"
    );
    assert!(
        attr("SELECT COUNT(*) FROM DocumentHeaders WHERE CustomText01 <> ''") > 0,
        "custom header fields"
    );
    assert!(attr("SELECT COUNT(*) FROM LookupItems WHERE LookupName = 'TB_DOCSTATUS_QUOTE'") >= 5);
    // Group members carry the header's quantity as QtyGroupMultiplier.
    let (header_qty, member_mult): (String, String) = db
        .query_row(
            "SELECT h.QtyTotal, m.QtyGroupMultiplier FROM DocumentItems h JOIN DocumentItems m
               ON m.DocID = h.DocID AND m.ID = h.ID + 1
             WHERE h.LineType = 8 AND m.LineAttributes & 8 = 8 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("group");
    assert_eq!(dec(&header_qty), dec(&member_mult));
    // GrandTotal = SubTotal + TotalTax + ShippingAmount on every document.
    let mut st = db
        .prepare("SELECT SubTotal, TotalTax, ShippingAmount, GrandTotal FROM DocumentHeaders")
        .expect("prep");
    let rows: Vec<(String, String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 12);
    for (s, t, sh, g) in rows {
        assert_eq!(dec(&s) + dec(&t) + dec(&sh), dec(&g));
    }
}

#[tokio::test]
async fn quotes_use_the_m3_simulators_customers_and_items() {
    let m3 = start_m3(|_| {}).await;
    let qw = start(|_| {}).await;
    let t = token(&m3).await;
    let db = Connection::open(&qw.db_path).expect("open");
    let mpns: Vec<String> = db
        .prepare(
            "SELECT DISTINCT ManufacturerPartNumber FROM DocumentItems WHERE LineType = 1 AND ItemType <> 'TAX'
               AND ManufacturerPartNumber <> ''",
        )
        .expect("prep")
        .query_map([], |r| r.get(0))
        .expect("q")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(!mpns.is_empty());
    for mpn in &mpns {
        let (s, body) = get(
            &m3,
            &t,
            &format!("/v2/execute/MMS200MI/GetItmBasic?ITNO={mpn}&righttrim=true"),
        )
        .await;
        assert_eq!(s, 200, "{mpn} exists in M3");
        assert_eq!(
            body["results"][0]["records"][0]["STAT"], "20",
            "{mpn} is sellable"
        );
    }
    // Product database rows are the M3 items, priced as M3 prices them.
    let (price, list): (String, String) = db
        .query_row(
            &format!(
                "SELECT Price, List FROM [{}] WHERE ManufacturerPartNumber = ?1",
                qw.product_table
            ),
            [seed::item_number(0)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("product");
    assert_eq!(dec(&price), seed::item(42, 0).sales_price);
    assert_eq!(dec(&list), seed::item(42, 0).sales_price);
    // FRYQ1000's sold-to is an M3 customer with the same e-mail.
    let id = qw.find_doc_no("FRYQ1000").expect("FRYQ1000");
    let doc = qw.document(id).expect("doc");
    let email = doc.text("SoldToEmail");
    let company = doc.text("SoldToCompany");
    let (_, custs) = get(
        &m3,
        &t,
        "/v2/execute/CRS610MI/LstByNumber?maxrecs=0&righttrim=true",
    )
    .await;
    let found = custs["results"][0]["records"]
        .as_array()
        .expect("records")
        .iter()
        .any(|c| c["MAIL"] == email.as_str() && c["CUNM"] == company.as_str());
    assert!(found, "{company} <{email}> is an M3 customer");
}

#[tokio::test]
async fn status_change_fires_the_webhook_with_secret_header_and_rendered_body() {
    let (url, mut rx) = spawn_receiver().await;
    let qw = start(|c| {
        c.webhook = Some(url.clone());
        c.secret = Some("s3cret-value".into());
    })
    .await;
    let id = qw.find_doc_no("FRYQ1001").expect("doc");
    let change = qw.set_status(id, "3-Manager Approved").expect("status");
    assert_eq!(change.previous, "4-Presented to Customer");
    let (method, headers, body) = next_request(&mut rx).await;
    assert_eq!(method, "POST");
    assert_eq!(
        headers
            .get("x-quotewerks-secret")
            .and_then(|v| v.to_str().ok()),
        Some("s3cret-value")
    );
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let v: serde_json::Value = serde_json::from_slice(&body).expect("rendered body is JSON");
    assert_eq!(v["event"], "QuoteWerks.DocumentStatusChanged");
    assert_eq!(
        v["eventId"],
        change.event_id.clone().unwrap_or_default().as_str()
    );
    assert_eq!(v["document"]["id"], id);
    assert_eq!(v["document"]["docNo"], "FRYQ1001");
    assert_eq!(v["document"]["status"], "3-Manager Approved");
    assert_eq!(v["document"]["previousStatus"], "4-Presented to Customer");
    // Setting the same status again is not a change: no second webhook.
    let again = qw.set_status(id, "3-Manager Approved").expect("status");
    assert!(again.event_id.is_none());
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );
    let log = qw.webhook_log().expect("log");
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn custom_xml_template_is_rendered_with_escaping_and_unknown_macros_kept() {
    let (url, mut rx) = spawn_receiver().await;
    let dir = tempfile::tempdir().expect("dir");
    let tpl = dir.path().join("hook.xml");
    std::fs::write(
        &tpl,
        "<Event name=\"{{System.EventName}}\" ctx=\"{{System.EventContext}}\"><Doc>{{Document.DocNo}}</Doc>\
         <Company>{{Document.SoldToCompany}}</Company><X>{{Document.NoSuchColumn}}</X></Event>",
    )
    .expect("write template");
    let qw = start(|c| {
        c.webhook = Some(url.clone());
        c.webhook_template = Some(tpl.clone());
        c.webhook_content_type = "application/xml".into();
        c.secret_header = "X-Ferry-Token".into();
    })
    .await;
    let secret = qw.webhook_secret.clone().expect("generated secret");
    let doc = qw
        .create_quote(&NewQuote {
            sold_to: SoldTo {
                company: "Tool & Die <West>".into(),
                ..SoldTo::default()
            },
            ship_to: None,
            doc_no: None,
            doc_name: None,
            doc_type: "QUOTE".into(),
            status: "1-In Progress".into(),
            doc_date: None,
            sales_rep: String::new(),
            po_number: String::new(),
            project_no: None,
            local_tax_rate: Decimal::ZERO,
            shipping_amount: Decimal::ZERO,
            custom: Default::default(),
            lines: vec![NewLine::product(&seed::item_number(0), Decimal::ONE)],
        })
        .expect("create");
    qw.set_status(doc.id, "Accepted").expect("status");
    let (_, headers, body) = next_request(&mut rx).await;
    assert_eq!(
        headers.get("x-ferry-token").and_then(|v| v.to_str().ok()),
        Some(secret.as_str())
    );
    let body = String::from_utf8(body.to_vec()).expect("utf8");
    assert_eq!(
        body,
        format!(
            "<Event name=\"DocumentStatusChanged\" ctx=\"QuoteWerks\"><Doc>{}</Doc>\
             <Company>Tool &amp; Die &lt;West&gt;</Company><X>{{{{Document.NoSuchColumn}}}}</X></Event>",
            doc.doc_no
        )
    );
}

#[tokio::test]
async fn control_api_creates_quotes_and_approves_them_with_the_control_token() {
    let qw = start(|_| {}).await;
    let c = seed::customer(42, 0);
    let body = serde_json::json!({
        "sold_to": {"company": c.name, "email": c.email, "contact": c.contact_name()},
        "status": "2-Awaiting Manager Approval",
        "po_number": "PO-HTTP-1",
        "custom": {"CustomText01": c.cuno},
        "lines": [
            {"mpn": seed::item_number(0), "qty": "2"},
            {"line_type": 2, "description": "Rush order"},
            {"mpn": seed::item_number(1), "qty": "1", "price_modifier": "D10"}
        ]
    });
    let url = format!("{}/_control/quotes", qw.base_url);
    assert_eq!(
        client()
            .post(&url)
            .json(&body)
            .send()
            .await
            .expect("post")
            .status(),
        401
    );
    let resp = client()
        .post(&url)
        .bearer_auth(&qw.control_token)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.expect("json");
    let id = created["id"].as_i64().expect("id");
    let resp = client()
        .post(format!("{}/_control/documents/{id}/status", qw.base_url))
        .bearer_auth(&qw.control_token)
        .json(&serde_json::json!({"status": "3-Manager Approved"}))
        .send()
        .await
        .expect("status");
    assert_eq!(resp.status(), 200);
    let doc: serde_json::Value = client()
        .get(format!("{}/_control/documents/{id}", qw.base_url))
        .bearer_auth(&qw.control_token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["header"]["DocStatus"], "3-Manager Approved");
    assert_eq!(doc["header"]["CustomText01"], c.cuno.as_str());
    let items = doc["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    let list = seed::item(42, 1).sales_price;
    let expected = (list * Decimal::new(90, 2)).round_dp(2);
    assert_eq!(
        items[2]["UnitPrice"].as_str().map(dec),
        Some(expected),
        "D10 = 10% off list"
    );
    assert_eq!(items[1]["LineType"], 2);
}

#[tokio::test]
async fn bad_quotes_exist_only_when_asked_for() {
    let qw = start(|_| {}).await;
    assert!(qw.find_doc_no("FRYQ9001").is_err());
    let qw = start(|c| c.bad_quotes = true).await;
    let id = qw.find_doc_no("FRYQ9001").expect("bad quote");
    let doc = qw.document(id).expect("doc");
    assert!(
        doc.items
            .iter()
            .any(|i| i["ManufacturerPartNumber"] == "NOSUCH-ITEM-1")
    );
    assert!(qw.find_doc_no("FRYQ9002").is_ok() && qw.find_doc_no("FRYQ9003").is_ok());
}

#[tokio::test]
async fn database_survives_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("qw.sqlite");
    let qw = start(|c| c.db = Some(path.clone())).await;
    let id = qw.find_doc_no("FRYQ1002").expect("doc");
    qw.set_status(id, "3-Manager Approved").expect("status");
    qw.shutdown().await;
    let qw = start(|c| c.db = Some(path.clone())).await;
    assert_eq!(
        qw.documents(None).expect("docs").len(),
        12,
        "not seeded twice"
    );
    assert_eq!(
        qw.document(id).expect("doc").text("DocStatus"),
        "3-Manager Approved"
    );
}
