//! Credentials from an Infor `.ionapi` file: the host runs the OAuth 2.0 password grant, adds
//! the bearer token the plugin never sees, renews before expiry (refresh grant) and once after
//! a 401. Configured through `ferry.toml` with the file given by reference.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use common::*;
use ferry::config::FerryConfig;
use ferry::runtime::Role;
use ferry::runtime::bindings::types::Error;
use serde_json::json;

#[derive(Default)]
struct Auth {
    issued: u32,
    grants: Vec<String>,
    valid: HashSet<String>,
    api_auth_headers: Vec<String>,
    lifetime_secs: u64,
}

type Shared = Arc<Mutex<Auth>>;

async fn token(
    State(auth): State<Shared>,
    Form(form): Form<BTreeMap<String, String>>,
) -> axum::response::Response {
    let mut a = auth.lock().expect("lock");
    let client_ok = form.get("client_id").map(String::as_str) == Some("ACME~client")
        && form.get("client_secret").map(String::as_str) == Some("client-secret");
    let grant_ok = match form.get("grant_type").map(String::as_str) {
        Some("password") => {
            form.get("username").map(String::as_str) == Some("ACME#saak-key")
                && form.get("password").map(String::as_str) == Some("sask-secret")
        }
        Some("refresh_token") => form
            .get("refresh_token")
            .is_some_and(|r| r.starts_with("refresh-")),
        _ => false,
    };
    if !(client_ok && grant_ok) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    a.issued += 1;
    a.grants.push(form["grant_type"].clone());
    let access = format!("tok-{}", a.issued);
    a.valid.insert(access.clone());
    axum::Json(json!({
        "access_token": access, "token_type": "Bearer",
        "expires_in": a.lifetime_secs, "refresh_token": format!("refresh-{}", a.issued),
    }))
    .into_response()
}

async fn item(State(auth): State<Shared>, headers: HeaderMap) -> axum::response::Response {
    let mut a = auth.lock().expect("lock");
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    a.api_auth_headers.push(presented.clone());
    let ok = presented
        .strip_prefix("Bearer ")
        .is_some_and(|t| a.valid.contains(t));
    if ok {
        axum::Json(json!({"ITNO": "A1"})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Bearer error=\"invalid_token\"")],
            "expired",
        )
            .into_response()
    }
}

async fn setup(lifetime_secs: u64, sask: &str) -> (tempfile::TempDir, Shared, FerryConfig) {
    let auth: Shared = Arc::new(Mutex::new(Auth {
        lifetime_secs,
        ..Auth::default()
    }));
    let router = axum::Router::new()
        .route("/ACME/as/token.oauth2", post(token))
        .route("/ACME/items/{id}", get(item))
        .with_state(auth.clone());
    let addr = serve(router).await;
    let dir = tempfile::tempdir().expect("tmp");
    let ionapi = json!({
        "ti": "ACME", "cn": "Ferry", "dt": "12", "ci": "ACME~client", "cs": "client-secret",
        "iu": format!("http://{addr}"), "pu": format!("http://{addr}/ACME/as/"),
        "oa": "authorization.oauth2", "ot": "token.oauth2", "or": "revoke_token.oauth2",
        "ev": "U1", "v": "1.0", "saak": "ACME#saak-key", "sask": sask,
    });
    std::fs::write(dir.path().join("acme.ionapi"), ionapi.to_string()).expect("ionapi");
    let toml = r#"
        [tenants.acme.connections.erp]
        kind = "http"
        ionapi = { file = "acme.ionapi" }
        [tenants.acme.plugins.erp]
        connections = ["erp"]
    "#;
    std::fs::write(dir.path().join("ferry.toml"), toml).expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    (dir, auth, config)
}

async fn get_item(
    config: &FerryConfig,
    rt: &ferry::runtime::Runtime,
    plugin: &ferry::runtime::Plugin,
) -> Result<String, Error> {
    let grants = config.plugin_grants("acme", Role::Erp).expect("grants");
    let mut call = rt.erp(plugin, grants).await.expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp.ferry_erp_erp().call_get_item(store, "A1").await;
    call.finish(r).expect("call").map(|d| d.kind)
}

#[tokio::test]
async fn the_host_authenticates_renews_and_retries_once_after_a_401() {
    let (_dir, auth, config) = setup(3600, "sask-secret").await;
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    // One grants object per tenant is built once and shared by calls, like a server does.
    let grants = config.plugin_grants("acme", Role::Erp).expect("grants");
    let call = |grants: Arc<ferry::runtime::Grants>| {
        let (rt, plugin) = (rt.clone(), &plugin);
        async move {
            let mut call = rt.erp(plugin, grants).await.expect("instantiate");
            let (erp, store) = call.parts();
            let r = erp.ferry_erp_erp().call_get_item(store, "A1").await;
            call.finish(r).expect("call")
        }
    };
    for _ in 0..3 {
        assert!(call(grants.clone()).await.is_ok());
    }
    {
        let a = auth.lock().expect("lock");
        assert_eq!(
            a.grants,
            vec!["password"],
            "one token serves every call until it needs renewing"
        );
        assert!(
            a.api_auth_headers.iter().all(|h| h == "Bearer tok-1"),
            "{:?}",
            a.api_auth_headers
        );
    }

    // The server revokes every token: the next call gets a 401, the host renews once and the
    // plugin never notices.
    auth.lock().expect("lock").valid.clear();
    assert!(call(grants.clone()).await.is_ok());
    let a = auth.lock().expect("lock");
    assert_eq!(a.grants, vec!["password", "refresh_token"]);
    assert_eq!(
        &a.api_auth_headers[3..],
        &["Bearer tok-1".to_string(), "Bearer tok-2".to_string()]
    );
}

#[tokio::test]
async fn a_token_near_expiry_is_renewed_with_the_refresh_grant() {
    let (_dir, auth, config) = setup(1, "sask-secret").await;
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    let grants = config.plugin_grants("acme", Role::Erp).expect("grants");
    let call = || {
        let (rt, plugin, grants) = (rt.clone(), &plugin, grants.clone());
        async move {
            let mut call = rt.erp(plugin, grants).await.expect("instantiate");
            let (erp, store) = call.parts();
            let r = erp.ferry_erp_erp().call_get_item(store, "A1").await;
            call.finish(r).expect("call")
        }
    };
    assert!(call().await.is_ok());
    // Past the one-second lifetime the token is renewed before use, not after a 401.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(call().await.is_ok());
    let a = auth.lock().expect("lock");
    assert_eq!(a.grants, vec!["password", "refresh_token"]);
    assert_eq!(
        a.api_auth_headers,
        vec!["Bearer tok-1", "Bearer tok-2"],
        "no request went out with an expired token"
    );
}

#[tokio::test]
async fn refused_credentials_are_unauthorized_and_never_shown() {
    let (_dir, auth, config) = setup(3600, "wrong-secret").await;
    let rt = runtime();
    let plugin = load(&rt, "test_erp", Role::Erp);
    match get_item(&config, &rt, &plugin).await {
        Err(Error::Unauthorized(m)) => {
            assert!(m.contains("invalid_grant"), "{m}");
            assert!(
                !m.contains("wrong-secret") && !m.contains("client-secret"),
                "secrets leaked: {m}"
            );
        }
        other => panic!("expected unauthorized, got {other:?}"),
    }
    assert!(
        auth.lock().expect("lock").api_auth_headers.is_empty(),
        "no API call without a token"
    );
}

#[test]
fn secrets_are_given_by_reference_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("ferry.toml");
    std::fs::write(
        &path,
        "[tenants.acme.secrets]\nwebhook = \"inline-secret\"\n",
    )
    .expect("write");
    let err = FerryConfig::load(&path)
        .expect_err("inline secret refused")
        .to_string();
    assert!(err.contains("by reference"), "{err}");
    assert!(!err.contains("inline-secret"), "{err}");

    std::fs::write(
        &path,
        "[tenants.acme.secrets]\nwebhook = { env = \"FERRY_TEST_UNSET_VAR_123\" }\n",
    )
    .expect("write");
    // Parsing reads no environment; resolving does.
    let config = FerryConfig::load(&path).expect("config");
    let err = config
        .resolve_tenant("acme")
        .err()
        .expect("unset env refused")
        .to_string();
    assert!(err.contains("FERRY_TEST_UNSET_VAR_123 is not set"), "{err}");
}
