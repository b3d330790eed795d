//! The run answer's steps: attempts, the plugin of each call and the M3 requests, with no
//! secret the connector sent or M3 answered anywhere in the JSON.

use axum::http::StatusCode;

use super::super::tests::{call, fixture};
use crate::services::run_query::detail::seed;

#[tokio::test]
async fn a_runs_answer_lists_each_steps_attempts_plugin_and_m3_requests_with_secrets_masked() {
    let f = fixture().await;
    let secret = "hunter2-s3cr3t";
    seed::step(
        &*f.store,
        ("acme", "3"),
        "head",
        (1, true),
        "AddBatchHead",
        secret,
    )
    .await;
    seed::step(
        &*f.store,
        ("acme", "3"),
        "head",
        (2, false),
        "AddBatchHead",
        secret,
    )
    .await;
    seed::step(
        &*f.store,
        ("acme", "3"),
        "lines",
        (2, false),
        "AddBatchLine",
        secret,
    )
    .await;
    let (status, run) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs/Q3",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = run.to_string();
    assert!(!text.contains(secret), "a secret leaked: {text}");
    let steps = run["steps"].as_array().expect("steps");
    let names: Vec<_> = steps.iter().map(|s| s["step"].as_str()).collect();
    assert_eq!(names, [Some("head"), Some("lines")]);
    assert_eq!(
        (
            steps[0]["attempts"].as_u64(),
            steps[0]["failed_attempts"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(steps[0]["duration_ms"], 30);
    let first = &steps[0]["calls"][0];
    assert_eq!(first["plugin"]["digest"], "0123456789ab");
    assert_eq!(first["plugin"]["contract"], "1.3.0");
    let exchange = &first["exchanges"][0];
    assert!(
        exchange["path"]
            .as_str()
            .is_some_and(|p| p.contains("OIS100MI/AddBatchHead?CUNO=C1")),
        "{exchange}"
    );
    assert_eq!(exchange["status"], 200);
    assert!(
        exchange["response_body"]
            .as_str()
            .is_some_and(|b| b.contains("1000042"))
    );
    // Another tenant's token finds no such run.
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/globex/runs/Q3",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A quote-to-order run keyed `id` of `tenant` with its quote (company, account, part
/// numbers), mapped order (`CUNO`, `ITNO`) and, when given, the ERP order.
async fn rich_run(f: &super::super::tests::Fixture, tenant: &str, id: &str, order: Option<&str>) {
    use ferry_store::{Jobs, NewJob};
    let text = |name: &str, v: &str| serde_json::json!({"name": name, "value": {"text": v}});
    let checkpoint = serde_json::json!({
        "quote_id": id,
        "customer": "C0042",
        "quote": {"kind": "quote", "id": id,
            "fields": [text("DocNo", &format!("Q{id}")), text("SoldToCompany", "Reno Warehouse Supply"),
                text("SoldToCMAccountNo", "CM-7")],
            "lines": [{"fields": [text("ManufacturerPartNumber", "BRG10000")]}]},
        "order": {"kind": "order", "id": format!("FERRY-{id}"),
            "fields": [text("CUNO", "C0042")],
            "lines": [{"fields": [text("ITNO", "BRG10000-M3")]}]},
        "receipt": order.map(|o| serde_json::json!({"order_number": o, "status": "22"})),
    });
    let job = NewJob {
        tenant,
        kind: crate::flows::quote_to_order::KIND,
        key: id,
        checkpoint,
    };
    f.store.enqueue(job, 0).await.expect("enqueue");
}

#[tokio::test]
async fn runs_are_found_by_item_customer_and_bod_id_and_never_another_tenants() {
    use ferry_domain::Change;
    use ferry_store::Inbox;
    let f = fixture().await;
    rich_run(&f, "acme", "40", Some("1000042")).await;
    rich_run(&f, "globex", "90", Some("1000042")).await;
    // M3 said, in BOD 7f3c-bod, that order 1000042 changed.
    let change = Change {
        entity: "order".into(),
        key: "1000042".into(),
        action: "status-changed".into(),
        changed_at: None,
        detail: Vec::new(),
        event_id: Some("7f3c-bod".into()),
    };
    let payload = serde_json::to_value(&change).expect("json");
    for tenant in ["acme", "globex"] {
        f.store
            .ingest(tenant, "erp", "7f3c-bod/order/1000042", &payload, None, 0)
            .await
            .expect("ingest");
    }
    let find = |q: &str, tenant: &str, token: String| {
        let app = f.app.clone();
        let path = format!("/api/v1/tenants/{tenant}/runs?q={q}");
        async move {
            let (status, runs) = call(&app, "GET", &path, Some(&token), None).await;
            let ids: Vec<String> = runs
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["quote_id"].as_str().map(str::to_string))
                .collect();
            (status, ids)
        }
    };
    let acme = f.acme.clone();
    for q in [
        "BRG10000",    // the quote line's part number
        "brg10000-m3", // the mapped line's M3 item, any case
        "C0042",       // the M3 customer number
        "CM-7",        // the quoting system's account number
        "reno%20ware", // part of the company name
        "7f3c-bod",    // the BOD about its M3 order
        "1000042",     // the M3 order number, as before
    ] {
        assert_eq!(
            find(q, "acme", acme.clone()).await,
            (StatusCode::OK, vec!["40".to_string()]),
            "{q}"
        );
    }
    // Nothing that names no run; a name part too short to search by.
    for q in ["BRG9", "re", "nope-bod"] {
        assert_eq!(
            find(q, "acme", acme.clone()).await.1,
            Vec::<String>::new(),
            "{q}"
        );
    }
    // globex's run with the same keys stays globex's: acme's token gets 404 for its runs.
    assert_eq!(
        find("BRG10000", "globex", acme).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        find("7f3c-bod", "globex", f.admin.clone()).await,
        (StatusCode::OK, vec!["90".to_string()])
    );
}
