//! Order depth in the M3 simulator, over MI as a client sees it: texts, a head charge and a
//! one-time delivery address on a batch order, read back from the confirmed order; an unknown
//! charge, a second charge and a currency without a rate refused; a credit stop at Confirm
//! (batch status 30) that clears when the limit is raised; an invoice once the order is at 77.

mod common;

use common::{get, start_m3, token};
use ferry_sim::m3::{CreditChange, M3SimHandle};
use rust_decimal::Decimal;

fn records(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["results"][0]["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn field(r: &serde_json::Value, name: &str) -> String {
    r[name].as_str().unwrap_or_default().trim().to_string()
}

async fn mi(m3: &M3SimHandle, t: &str, path: &str) -> (u16, serde_json::Value) {
    get(m3, t, &format!("/v2/execute/{path}")).await
}

async fn batch_with_line(m3: &M3SimHandle, t: &str, cuor: &str, extra: &str) -> (String, String) {
    let (s, head) = mi(
        m3,
        t,
        &format!("OIS100MI/AddBatchHead?CUNO=1000001&CUOR={cuor}{extra}"),
    )
    .await;
    assert_eq!(s, 200, "{head}");
    let orno = field(&records(&head)[0], "ORNO");
    let (s, line) = mi(
        m3,
        t,
        &format!("OIS100MI/AddBatchLine?ORNO={orno}&ITNO=BRG10000&ORQT=2&SAPR=10"),
    )
    .await;
    assert_eq!(s, 200, "{line}");
    (orno, field(&records(&line)[0], "PONR"))
}

#[tokio::test]
async fn texts_charge_and_address_go_with_the_order() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (orno, ponr) = batch_with_line(&m3, &t, "DEPTH-1", "&CUCD=EUR").await;
    for path in [
        format!("OIS100MI/AddBatchText?ORNO={orno}&TYPE=1&TYTR=1&TXHE=CO02&PARM=Thank%20you"),
        format!("OIS100MI/AddBatchText?ORNO={orno}&TYPE=1&TYTR=2&PARM=Prices%20valid%2030%20days"),
        format!("OIS100MI/AddBatchText?ORNO={orno}&TYPE=2&PONR={ponr}&TYTR=2&PARM=Loading%20dock"),
        format!("OIS100MI/AddBatchHeadChg?ORNO={orno}&CRID=FRT&CRAM=45.5"),
        format!(
            "OIS100MI/AddBatchAddress?ORNO={orno}&ADRT=1&CUNM=Reno%20Warehouse&CUA1=1%20Dock%20Rd&TOWN=Reno&ECAR=NV&PONO=89501&CSCD=US"
        ),
    ] {
        let (s, r) = mi(&m3, &t, &path).await;
        assert_eq!(s, 200, "{path}: {r}");
    }
    // A line text names a line the batch order holds.
    let (s, _) = mi(
        &m3,
        &t,
        &format!("OIS100MI/AddBatchText?ORNO={orno}&TYPE=2&PONR=999&TYTR=1&PARM=x"),
    )
    .await;
    assert_eq!(s, 400);
    // The charge master must know the charge, and a charge is on the order once.
    let (s, r) = mi(
        &m3,
        &t,
        &format!("OIS100MI/AddBatchHeadChg?ORNO={orno}&CRID=NOPE&CRAM=1"),
    )
    .await;
    assert_eq!(s, 400, "{r}");
    let (s, r) = mi(
        &m3,
        &t,
        &format!("OIS100MI/AddBatchHeadChg?ORNO={orno}&CRID=FRT&CRAM=45.5"),
    )
    .await;
    assert_eq!(s, 400, "{r}");
    assert!(r.to_string().contains("already exists"), "{r}");
    // DelBatchText empties one place: a client replaces texts instead of doubling them.
    let (s, _) = mi(
        &m3,
        &t,
        &format!("OIS100MI/DelBatchText?ORNO={orno}&TYPE=1&TYTR=2"),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = mi(
        &m3,
        &t,
        &format!("OIS100MI/AddBatchText?ORNO={orno}&TYPE=1&TYTR=2&PARM=Prices%20valid%2060%20days"),
    )
    .await;
    assert_eq!(s, 200);

    let (s, c) = mi(&m3, &t, &format!("OIS100MI/Confirm?ORNO={orno}")).await;
    assert_eq!(s, 200, "{c}");
    let co = field(&records(&c)[0], "ORNO");
    let (_, pre) = mi(&m3, &t, &format!("OIS100MI/LstHeadText?ORNO={co}&TYTR=1")).await;
    let pre = records(&pre);
    assert_eq!(pre.len(), 1);
    assert_eq!(
        (field(&pre[0], "TX60"), field(&pre[0], "TXV9")),
        ("Thank you".into(), "CO02".into())
    );
    let (_, post) = mi(&m3, &t, &format!("OIS100MI/LstHeadText?ORNO={co}&TYTR=2")).await;
    let post: Vec<String> = records(&post).iter().map(|r| field(r, "TX60")).collect();
    assert_eq!(post, vec!["Prices valid 60 days"]);
    let (_, lt) = mi(
        &m3,
        &t,
        &format!("OIS100MI/LstLineText?ORNO={co}&PONR={ponr}&TYTR=2"),
    )
    .await;
    assert_eq!(field(&records(&lt)[0], "TX60"), "Loading dock");
    let (_, ch) = mi(&m3, &t, &format!("OIS100MI/LstOrderCharge?ORNO={co}")).await;
    let ch = records(&ch);
    assert_eq!(ch.len(), 1);
    assert_eq!(
        (
            field(&ch[0], "CRID"),
            field(&ch[0], "PBAM"),
            field(&ch[0], "CUCD")
        ),
        ("FRT".into(), "45.5".into(), "EUR".into())
    );
    let (_, a) = mi(&m3, &t, &format!("OIS100MI/GetAddress?ORNO={co}&ADRT=1")).await;
    let a = &records(&a)[0];
    assert_eq!(
        (field(a, "CUNM"), field(a, "TOWN"), field(a, "PONO")),
        ("Reno Warehouse".into(), "Reno".into(), "89501".into())
    );
    // Texts and charges are on the batch order until Confirm only: it cannot change now.
    let (s, _) = mi(
        &m3,
        &t,
        &format!("OIS100MI/AddBatchText?ORNO={orno}&TYPE=1&TYTR=1&PARM=late"),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn a_currency_without_an_exchange_rate_is_refused() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let (s, r) = mi(
        &m3,
        &t,
        "OIS100MI/AddBatchHead?CUNO=1000001&CUOR=CUR-1&CUCD=XYZ",
    )
    .await;
    assert_eq!(s, 400, "{r}");
    assert!(r.to_string().contains("Currency XYZ"), "{r}");
}

#[tokio::test]
async fn a_credit_stop_keeps_the_batch_order_at_30_until_the_limit_allows_it() {
    let m3 = start_m3(|_| {}).await;
    let t = token(&m3).await;
    let credit = |crl3: i64| CreditChange {
        crl3: Decimal::from(crl3),
        toin: Decimal::from(40),
    };
    m3.set_credit("1000001", &credit(50)).expect("credit");
    let (_, fin) = mi(&m3, &t, "CRS610MI/GetFinancial?CUNO=1000001").await;
    let fin = &records(&fin)[0];
    assert_eq!(
        (field(fin, "CRL3"), field(fin, "TOIN")),
        ("50".into(), "40".into())
    );

    let (orno, _) = batch_with_line(&m3, &t, "CREDIT-1", "").await;
    let (s, r) = mi(&m3, &t, &format!("OIS100MI/Confirm?ORNO={orno}")).await;
    assert_eq!(s, 400, "{r}");
    assert!(
        r.to_string().contains("limit 50, exposure 40, order value"),
        "{r}"
    );
    let (_, st) = mi(&m3, &t, &format!("OIS275MI/GetTmpOrderStat?ORNO={orno}")).await;
    assert_eq!(field(&records(&st)[0], "STAT"), "30");
    assert!(m3.orders().expect("orders").is_empty());

    m3.set_credit("1000001", &credit(100_000)).expect("credit");
    let (s, r) = mi(&m3, &t, &format!("OIS100MI/Confirm?ORNO={orno}")).await;
    assert_eq!(s, 200, "{r}");
    let co = field(&records(&r)[0], "ORNO");
    let (_, fin) = mi(&m3, &t, "CRS610MI/GetFinancial?CUNO=1000001").await;
    assert_eq!(
        field(&records(&fin)[0], "TBLG"),
        "20",
        "the order counts as not invoiced"
    );

    // Invoiced at 77: the invoice is listed for the order.
    let (_, none) = mi(&m3, &t, &format!("OIS350MI/LstAllInvByCO?ORNO={co}")).await;
    assert!(records(&none).is_empty());
    m3.advance_order(&co, Some("77")).expect("invoice");
    let (_, inv) = mi(&m3, &t, &format!("OIS350MI/LstAllInvByCO?ORNO={co}")).await;
    let inv = records(&inv);
    assert_eq!(inv.len(), 1, "{inv:?}");
    assert!(!field(&inv[0], "IVNO").is_empty());
    assert_eq!(field(&inv[0], "IVAV"), "20");
    assert_eq!(field(&inv[0], "IDAT").len(), 8);
}
