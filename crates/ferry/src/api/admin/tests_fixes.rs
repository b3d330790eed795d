//! The suggested-fixes routes over a memory store and a fake ERP (`services::fixes::tests`):
//! a held quote's suggestions, accepting one (recorded, audited with the token, released),
//! and the refusals: no token 401, another tenant's token or an unknown quote 404, a choice
//! that is no suggestion for this hold 400.

use std::sync::Arc;

use axum::http::StatusCode;

use super::tests::call;
use super::{AdminState, fixes};
use crate::api::held_runs_tests::tenant_token;
use crate::flows::quote_to_order::SUBSTITUTE_KIND;
use crate::services::fixes::tests::{Fake, item_hold};
use ferry_store::{Audit, Links, Store};

struct Api {
    app: axum::Router,
    store: Arc<ferry_store::MemoryStore>,
    acme: String,
    globex: String,
}

/// acme's quote Q7 held for part number BRG1OO12; a token for acme and one for globex.
async fn api() -> Api {
    let (ctx, store) = item_hold().await;
    let shared: Arc<dyn Store> = store.clone();
    let acme = tenant_token(&*shared, "acme").await;
    let globex = tenant_token(&*shared, "globex").await;
    let admin = AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    };
    Api {
        app: fixes::router_with(admin, Arc::new(Fake)),
        store,
        acme,
        globex,
    }
}

const FIXES: &str = "/api/v1/tenants/acme/holds/Q7/fixes";
const ACCEPT: &str = r#"{"kind":"item","from":"BRG1OO12","to":"BRG10012"}"#;

#[tokio::test]
async fn a_held_quote_lists_the_closest_item_first_with_score_and_why() {
    let a = api().await;
    let (status, body) = call(&a.app, "GET", FIXES, Some(&a.acme), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["quote_number"], "Q7");
    let problem = &body["problems"][0];
    assert_eq!(problem["kind"], "item");
    assert_eq!(problem["from"], "BRG1OO12");
    let first = &problem["suggestions"][0];
    assert_eq!(first["id"], "BRG10012", "{body}");
    assert!(first["score"].as_f64().is_some_and(|s| s > 0.9), "{first}");
    assert!(
        first["why"][0]
            .as_str()
            .is_some_and(|w| w.contains("look-alike"))
    );
}

#[tokio::test]
async fn accepting_records_the_substitute_audits_the_token_and_releases_the_hold() {
    let a = api().await;
    let (status, body) = call(&a.app, "POST", FIXES, Some(&a.acme), Some(ACCEPT)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["released"], true);
    assert_eq!(body["status"], "queued");
    assert_eq!(body["cross_reference_kind"], SUBSTITUTE_KIND);
    assert_eq!(body["cross_reference_id"], "ITNO=BRG1OO12");
    let link = a.store.link("acme", SUBSTITUTE_KIND, "ITNO=BRG1OO12").await;
    assert_eq!(
        link.expect("read").map(|l| l.remote_id).as_deref(),
        Some("BRG10012")
    );
    let trail = a.store.trail("acme", "7").await.expect("trail");
    let entry = trail
        .iter()
        .find(|e| e.data["action"] == "hold.fix")
        .expect("audited");
    assert_eq!(entry.step, "admin-api");
    assert!(entry.data["token"].as_str().is_some_and(|t| !t.is_empty()));
    // Again (a retried request): the same answer, nothing released twice.
    let (status, body) = call(&a.app, "POST", FIXES, Some(&a.acme), Some(ACCEPT)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["released"], false);
}

#[tokio::test]
async fn refusals_401_404_and_400() {
    let a = api().await;
    for method in ["GET", "POST"] {
        let (status, _) = call(&a.app, method, FIXES, None, Some(ACCEPT)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} without token");
        let (status, _) = call(&a.app, method, FIXES, Some("ferry_0000"), Some(ACCEPT)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} wrong token");
        let (status, _) = call(&a.app, method, FIXES, Some(&a.globex), Some(ACCEPT)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} another tenant's token"
        );
        let unknown = "/api/v1/tenants/acme/holds/Q404/fixes";
        let (status, _) = call(&a.app, method, unknown, Some(&a.acme), Some(ACCEPT)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} unknown hold");
    }
    for wrong in [
        r#"{"kind":"item","from":"BRG1OO12","to":"HYD10014"}"#,
        r#"{"kind":"item","from":"HYD10014","to":"BRG10012"}"#,
        r#"{"kind":"customer","from":"BRG1OO12","to":"BRG10012"}"#,
        r#"{"kind":"price","from":"BRG1OO12","to":"BRG10012"}"#,
    ] {
        let (status, body) = call(&a.app, "POST", FIXES, Some(&a.acme), Some(wrong)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{wrong}: {body}");
    }
    let link = a.store.link("acme", SUBSTITUTE_KIND, "ITNO=BRG1OO12").await;
    assert!(link.expect("read").is_none(), "nothing recorded");
}
