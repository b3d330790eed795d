//! The availability lookup over an in-memory ERP catalog that counts its calls: a second ask
//! within the TTL is served from the cache (one ERP call), a warehouse narrows the answer,
//! another tenant's token is 404 and no token 401, bad input 400, an unknown item 404.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::{AvailabilityState, router};
use crate::api::admin::AdminState;
use crate::config::FerryConfig;
use crate::services::Context;
use crate::services::tokens::{self, Scope};
use ferry_domain::{
    DocumentPage, ErpCatalog, ErrorClass, PageRequest, Price, RoleError, RoleFailure, RoleResult,
    StockBalance,
};
use ferry_store::{MemoryStore, Store};

#[derive(Default)]
struct Stock {
    calls: AtomicUsize,
}

#[async_trait]
impl ErpCatalog for Stock {
    async fn list_items(&self, _: &PageRequest) -> RoleResult<DocumentPage> {
        unreachable!("availability only reads stock")
    }
    async fn list_items_changed(&self, _: &str, _: &PageRequest) -> RoleResult<DocumentPage> {
        unreachable!("availability only reads stock")
    }
    async fn get_item_price(&self, _: &str) -> RoleResult<Price> {
        unreachable!("availability only reads stock")
    }
    async fn get_stock(&self, item: &str) -> RoleResult<Vec<StockBalance>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if item != "BRG10000" {
            return Err(RoleFailure::Error(RoleError::new(
                ErrorClass::NotFound,
                format!("item {item} does not exist"),
            )));
        }
        let balance = |w: &str, on_hand: &str, allocatable: &str| StockBalance {
            warehouse: w.into(),
            on_hand: on_hand.into(),
            allocatable: allocatable.into(),
            allocated: None,
        };
        Ok(vec![balance("100", "12", "10"), balance("200", "3.5", "0")])
    }
}

struct Fixture {
    app: Router,
    stock: Arc<Stock>,
    acme: String,
    globex: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let config =
        FerryConfig::parse("[tenants.acme]\n[tenants.globex]\n", dir.path()).expect("config");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let ctx = Context::from_config(config, dir.path()).with_store(store.clone());
    let token = |t: &str| {
        let store = store.clone();
        let scope = Scope::Tenant(t.into());
        async move {
            tokens::create_in(&*store, &scope, None)
                .await
                .expect("token")
                .secret
        }
    };
    let (acme, globex) = (token("acme").await, token("globex").await);
    let stock = Arc::new(Stock::default());
    let catalogs: HashMap<String, Arc<dyn ErpCatalog>> = [
        ("acme".to_string(), stock.clone() as Arc<dyn ErpCatalog>),
        (
            "globex".to_string(),
            Arc::new(Stock::default()) as Arc<dyn ErpCatalog>,
        ),
    ]
    .into_iter()
    .collect();
    let admin = AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    Fixture {
        app: router(AvailabilityState::new(admin, catalogs)),
        stock,
        acme,
        globex,
        _dir: dir,
    }
}

async fn get(app: &Router, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::builder().uri(path);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

const PATH: &str = "/api/v1/tenants/acme/availability";

#[tokio::test]
async fn a_second_ask_within_the_ttl_is_served_from_the_cache() {
    let f = fixture().await;
    let (status, first) = get(&f.app, &format!("{PATH}?item=BRG10000"), Some(&f.acme)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["cached"], false);
    let warehouses: Vec<&str> = first["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .filter_map(|b| b["warehouse"].as_str())
        .collect();
    assert_eq!(warehouses, ["100", "200"]);
    assert_eq!(first["balances"][0]["allocatable"], "10");

    // The short path, one warehouse: the same cached answer, narrowed.
    let (status, second) = get(
        &f.app,
        "/api/v1/acme/availability?item=BRG10000&warehouse=200",
        Some(&f.acme),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["cached"], true);
    assert_eq!(second["fetched_at"], first["fetched_at"]);
    assert_eq!(second["balances"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["balances"][0]["on_hand"], "3.5");
    assert_eq!(f.stock.calls.load(Ordering::SeqCst), 1, "one ERP call");
}

#[tokio::test]
async fn concurrent_asks_for_one_item_share_one_erp_call() {
    let f = fixture().await;
    let path = format!("{PATH}?item=BRG10000");
    let asks = (0..8).map(|_| get(&f.app, &path, Some(&f.acme)));
    let answers = futures_util::future::join_all(asks).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK));
    assert_eq!(f.stock.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn tokens_scope_and_bad_input_are_refused_before_the_erp_is_asked() {
    let f = fixture().await;
    let ok = format!("{PATH}?item=BRG10000");
    assert_eq!(get(&f.app, &ok, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&f.app, &ok, Some("ferry_0000")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&f.app, &ok, Some(&f.globex)).await.0,
        StatusCode::NOT_FOUND,
        "another tenant's token: 404, as for a tenant that doesn't exist"
    );
    assert_eq!(
        get(
            &f.app,
            "/api/v1/tenants/nope/availability?item=BRG10000",
            Some(&f.acme)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    for bad in [
        "",
        "?item=",
        "?item=%20",
        "?item=ABCDEFGHIJKLMNOPQ",
        "?item=A%0AB",
        "?item=BRG10000&warehouse=1000",
    ] {
        let (status, body) = get(&f.app, &format!("{PATH}{bad}"), Some(&f.acme)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    assert_eq!(
        f.stock.calls.load(Ordering::SeqCst),
        0,
        "the ERP was never asked"
    );
}

#[tokio::test]
async fn an_item_the_erp_does_not_know_is_404() {
    let f = fixture().await;
    let (status, body) = get(&f.app, &format!("{PATH}?item=NOPE1"), Some(&f.acme)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
