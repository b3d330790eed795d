//! The admin routes driven with `oneshot` over a memory store: every route refuses a missing
//! or wrong token (401) and another tenant (404, the same answer as no such tenant); the
//! reads answer what the store holds; every change lands in the audit with the token's id.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AdminState, openapi_document, router};
use crate::config::FerryConfig;
use crate::flows::quote_to_order::KIND;
use crate::services::Context;
use crate::services::tokens::{self, Scope};
use ferry_store::{Audit, Jobs, MemoryStore, NewJob, Outcome, Store, Tokens};

/// Every route, as (method, path under `/api/v1/tenants/{tenant}`, body).
const ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/runs", None),
    ("GET", "/runs/Q1", None),
    ("PUT", "/runs/Q1/order", Some("{}")),
    ("GET", "/holds", None),
    ("POST", "/holds/2/release", None),
    ("GET", "/dead-letters", None),
    ("POST", "/dead-letters/1/retry", None),
    ("GET", "/plugins", None),
    ("POST", "/plugins/erp/activate", Some(r#"{"digest":"abc"}"#)),
    ("POST", "/holds/2/resolve", None),
    ("POST", "/dead-letters/1/resolve", None),
    ("GET", "/resolved", None),
    ("POST", "/dead-letters/retry", Some("{}")),
    ("GET", "/health", None),
    ("GET", "/alerts", None),
    ("GET", "/export/runs", None),
    ("GET", "/export/audit?since=2020-01-01T00:00:00Z", None),
    ("POST", "/flows/quote-to-order/pause", None),
    ("POST", "/flows/quote-to-order/resume", None),
    ("POST", "/flows/catalog-sync/run", None),
];

pub(super) struct Fixture {
    pub(super) app: Router,
    pub(super) store: Arc<MemoryStore>,
    pub(super) admin: String,
    pub(super) acme: String,
    _dir: tempfile::TempDir,
}

/// Tenants acme and globex. acme: quote 1 (Q1) dead, quote 2 (Q2) held, quote 3 (Q3)
/// done; globex: quote 9 (Q9) dead. A token for acme and an admin token.
pub(super) async fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let jobs = [
        (
            "acme",
            "1",
            "Q1",
            Outcome::Dead {
                error: "M3 refused: no such item".into(),
            },
        ),
        (
            "acme",
            "2",
            "Q2",
            Outcome::Hold {
                reason: "unknown customer".into(),
            },
        ),
        ("acme", "3", "Q3", Outcome::Done),
        (
            "globex",
            "9",
            "Q9",
            Outcome::Dead {
                error: "globex's failure".into(),
            },
        ),
    ];
    for (tenant, id, number, outcome) in jobs {
        let checkpoint = json!({
            "quote_id": id,
            "quote": {"kind": "quote", "id": id, "fields": [{"name": "DocNo", "value": {"text": number}}], "lines": []},
        });
        store
            .enqueue(
                NewJob {
                    tenant,
                    kind: KIND,
                    key: id,
                    checkpoint,
                },
                0,
            )
            .await
            .expect("enqueue");
        let claim = store
            .claim("w", 1, 1_000, 0)
            .await
            .expect("claim")
            .remove(0);
        store.finish(&claim, outcome, 0).await.expect("finish");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let config =
        FerryConfig::parse("[tenants.acme]\n[tenants.globex]\n", dir.path()).expect("config");
    let shared: Arc<dyn Store> = store.clone();
    let ctx = Context::from_config(config, dir.path()).with_store(shared.clone());
    let admin = tokens::create_in(&*shared, &Scope::Admin, Some("ops"))
        .await
        .expect("admin")
        .secret;
    let acme = tokens::create_in(&*shared, &Scope::Tenant("acme".into()), None)
        .await
        .expect("acme")
        .secret;
    let app = router(AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    });
    Fixture {
        app,
        store,
        admin,
        acme,
        _dir: dir,
    }
}

pub(super) async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Body::from(body.unwrap_or("").to_string()))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_route_is_401_without_a_valid_token_and_404_for_another_tenant() {
    let f = fixture().await;
    let revoked = tokens::create_in(&*f.store, &Scope::Admin, None)
        .await
        .expect("token");
    f.store
        .revoke_token(&revoked.token.id)
        .await
        .expect("revoke");
    for (method, route, body) in ROUTES {
        let path = format!("/api/v1/tenants/acme{route}");
        for token in [
            None,
            Some("ferry_0000"),
            Some("not-even-a-ferry-token"),
            Some(revoked.secret.as_str()),
        ] {
            let (status, answer) = call(&f.app, method, &path, token, *body).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {token:?}: {answer}"
            );
        }
        // acme's token on globex's data: the very answer a tenant that doesn't exist gets.
        let foreign = call(
            &f.app,
            method,
            &format!("/api/v1/tenants/globex{route}"),
            Some(&f.acme),
            *body,
        )
        .await;
        let absent = call(
            &f.app,
            method,
            &format!("/api/v1/tenants/nope{route}"),
            Some(&f.acme),
            *body,
        )
        .await;
        assert_eq!(
            foreign.0,
            StatusCode::NOT_FOUND,
            "{method} globex{route}: {}",
            foreign.1
        );
        assert_eq!(
            (absent.0, &absent.1["error"]),
            (StatusCode::NOT_FOUND, &foreign.1["error"])
        );
        assert!(!foreign.1.to_string().contains("globex"), "{}", foreign.1);
    }
    // Nothing was changed by any of those calls.
    let globex = f
        .store
        .dead_letters(Some("globex"))
        .await
        .expect("dead letters");
    assert_eq!(globex[0].replayed_at, None);
}

#[tokio::test]
async fn runs_are_listed_filtered_and_found_by_quote_number() {
    let f = fixture().await;
    let (status, runs) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let numbers: Vec<&str> = runs
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["quote_number"].as_str())
        .collect();
    assert_eq!(numbers, ["Q1", "Q2", "Q3"], "acme's runs only");

    let (_, dead) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs?status=dead",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(dead.as_array().map(Vec::len), Some(1));
    assert_eq!(dead[0]["last_error"], "M3 refused: no such item");
    let (_, by_number) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs?q=q2",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(
        (
            by_number[0]["quote_id"].as_str(),
            by_number[0]["status"].as_str()
        ),
        (Some("2"), Some("held"))
    );
    let (_, none) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs?q=Q9",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(
        none,
        json!([]),
        "another tenant's quote is not found by number either"
    );
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs?status=lost",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, run) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs/Q1",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            run["run"]["quote_id"].as_str(),
            run["run"]["status"].as_str()
        ),
        (Some("1"), Some("dead"))
    );
    assert_eq!(run["checkpoint"]["quote_id"], "1");
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs/Q404",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The admin token sees every tenant.
    let (status, run) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/globex/runs/Q9",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(
        (status, run["run"]["quote_id"].as_str()),
        (StatusCode::OK, Some("9"))
    );
}

#[tokio::test]
async fn a_retried_dead_letter_is_queued_once_and_audited_with_the_token() {
    let f = fixture().await;
    let (status, letters) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/dead-letters",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let letters = letters.as_array().expect("list").clone();
    assert_eq!(letters.len(), 1, "acme's only: {letters:?}");
    let id = letters[0]["id"].as_i64().expect("id");
    let globex_id = f.store.dead_letters(Some("globex")).await.expect("dl")[0].id;

    // acme's token on acme's path with globex's dead letter: absent, and untouched.
    let (status, _) = call(
        &f.app,
        "POST",
        &format!("/api/v1/tenants/acme/dead-letters/{globex_id}/retry"),
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        f.store
            .dead_letter(globex_id)
            .await
            .expect("dl")
            .expect("kept")
            .replayed_at,
        None
    );

    let (status, retried) = call(
        &f.app,
        "POST",
        &format!("/api/v1/tenants/acme/dead-letters/{id}/retry"),
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(
        (
            retried["dead_letter"].as_i64(),
            retried["run"]["status"].as_str()
        ),
        (Some(id), Some("queued"))
    );
    let (status, again) = call(
        &f.app,
        "POST",
        &format!("/api/v1/tenants/acme/dead-letters/{id}/retry"),
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a dead letter retries once: {again}"
    );

    let token_id = f
        .store
        .tokens()
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.tenant.as_deref() == Some("acme"))
        .expect("acme token")
        .id;
    let (_, run) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/runs/1",
        Some(&f.acme),
        None,
    )
    .await;
    let audited: Vec<&Value> = run["trail"]
        .as_array()
        .expect("trail")
        .iter()
        .filter(|e| e["step"] == "admin-api")
        .collect();
    assert_eq!(audited.len(), 1, "one change, one entry: {audited:?}");
    assert_eq!(
        audited[0]["data"],
        json!({"token": token_id, "action": "dead-letter.retry", "target": format!("dead letter {id}")})
    );
    assert!(
        audited[0]["at"]
            .as_str()
            .is_some_and(|at| at.starts_with("20"))
    );
}

#[tokio::test]
async fn a_released_hold_is_queued_and_audited() {
    let f = fixture().await;
    let (_, holds) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/holds",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!(holds[0]["hold_reason"], "unknown customer");
    assert_eq!(holds.as_array().map(Vec::len), Some(1));
    let (status, run) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/holds/Q2/release",
        Some(&f.admin),
        Some(r#"{"restart": true}"#),
    )
    .await;
    assert_eq!(
        (status, run["status"].as_str()),
        (StatusCode::OK, Some("queued")),
        "{run}"
    );
    // By id: a restarted run has not read its quote (and number) again yet.
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/holds/2/release",
        Some(&f.admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "no longer held");
    let trail = f.store.trail("acme", "2").await.expect("trail");
    let entry = trail
        .iter()
        .find(|e| e.step == "admin-api")
        .expect("audited");
    assert_eq!(entry.data["action"], "hold.restart");
    let admin_id = f
        .store
        .tokens()
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.tenant.is_none())
        .expect("admin")
        .id;
    assert_eq!(entry.data["token"], admin_id.as_str());
}

#[tokio::test]
async fn plugins_are_listed_and_an_unknown_digest_or_role_is_refused() {
    let f = fixture().await;
    let (status, list) = call(
        &f.app,
        "GET",
        "/api/v1/tenants/acme/plugins",
        Some(&f.acme),
        None,
    )
    .await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, answer) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/plugins/erp/activate",
        Some(&f.acme),
        Some(r#"{"digest":"abc"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/v1/tenants/acme/plugins/ledger/activate",
        Some(&f.acme),
        Some(r#"{"digest":"abc"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        f.store
            .trail("acme", "erp")
            .await
            .expect("trail")
            .is_empty(),
        "a refused change is not audited"
    );
}

/// The committed `crates/ferry/openapi.json` is what the server serves;
/// `FERRY_UPDATE_OPENAPI=1 cargo test -p ferry openapi` rewrites it.
#[tokio::test]
async fn the_committed_openapi_document_is_the_served_one() {
    let f = fixture().await;
    let committed_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let served = openapi_document();
    if std::env::var_os("FERRY_UPDATE_OPENAPI").is_some() {
        std::fs::write(&committed_path, format!("{served}\n")).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&committed_path)
        .expect("crates/ferry/openapi.json (FERRY_UPDATE_OPENAPI=1 writes it)");
    assert_eq!(
        committed.trim_end(),
        served,
        "openapi.json is stale: FERRY_UPDATE_OPENAPI=1 cargo test -p ferry openapi"
    );

    let (status, doc) = call(&f.app, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths: Vec<&String> = doc["paths"].as_object().expect("paths").keys().collect();
    for (_, route, _) in ROUTES {
        let template = route
            .split('?')
            .next()
            .unwrap_or(route)
            .replace("Q1", "{run}")
            .replace("/2/", "/{quote}/")
            .replace("/1/", "/{id}/")
            .replace("/erp/", "/{role}/")
            .replace("/quote-to-order/", "/{flow}/")
            .replace("/catalog-sync/", "/{flow}/");
        assert!(
            paths
                .iter()
                .any(|p| **p == format!("/api/v1/tenants/{{tenant}}{template}")),
            "{template} documented: {paths:?}"
        );
    }
}
