//! The "Suggested fixes" panel over a memory store and a fake ERP (`services::fixes::tests`):
//! the rendered HTML lists the closest item with its score, why and an Accept form carrying
//! the session's CSRF token; accepting records the substitute, audits the console's token and
//! releases the hold; without a session it is the sign-in page, without the CSRF token 403,
//! another tenant's token 404.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::tests::{send, sign_in};
use super::{UiState, fixes, screens, session};
use crate::api::admin::AdminState;
use crate::api::held_runs_tests::tenant_token;
use crate::flows::quote_to_order::{KIND, SUBSTITUTE_KIND};
use crate::services::fixes::tests::{Fake, item_hold};
use ferry_store::{Audit, JobState, Jobs, Links, MemoryStore, Store};

struct Console {
    app: Router,
    store: Arc<MemoryStore>,
    acme: String,
    globex: String,
}

/// acme's quote Q7 held for part number BRG1OO12; signing in, the runs screen and the panel
/// over the fake ERP.
async fn console() -> Console {
    let (ctx, store) = item_hold().await;
    let shared: Arc<dyn Store> = store.clone();
    let acme = tenant_token(&*shared, "acme").await;
    let globex = tenant_token(&*shared, "globex").await;
    let state = UiState::new(AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    });
    let app = Router::new()
        .route("/ui/sign-in", post(session::sign_in))
        .route("/ui/runs", get(screens::runs))
        .with_state(state.clone())
        .merge(fixes::router_with(state, Arc::new(Fake)));
    Console {
        app,
        store,
        acme,
        globex,
    }
}

const PANEL: &str = "/ui/tenants/acme/holds/Q7/fixes";

#[tokio::test]
async fn the_panel_lists_the_closest_item_with_score_why_and_an_accept_form() {
    let c = console().await;
    let b = sign_in(&c.app, &c.acme).await;
    let page = send(&c.app, "GET", PANEL, Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = &page.body;
    assert!(html.contains("Suggested fixes"), "{html}");
    assert!(
        html.contains("Part number <code>BRG1OO12</code> (line 2)"),
        "{html}"
    );
    let first = html.find("BRG10012").expect("the item is suggested");
    let second = html.find("BRG10013").unwrap_or(usize::MAX);
    assert!(first < second, "the closest item first");
    // Number and description both alike: as sure as it gets.
    assert!(html.contains(r#"class="score">100%"#), "its score: {html}");
    assert!(html.contains("look-alike characters"), "why: {html}");
    assert!(html.contains(&format!(r#"name="csrf" value="{}""#, b.csrf)));
    assert!(
        html.contains(r#"action="/ui/tenants/acme/holds/7/fixes""#),
        "{html}"
    );
    assert!(html.contains(r#"name="to" value="BRG10012""#));
}

#[tokio::test]
async fn accept_records_the_substitute_audits_the_console_token_and_shows_the_run() {
    let c = console().await;
    let b = sign_in(&c.app, &c.acme).await;
    let form = format!("csrf={}&kind=item&from=BRG1OO12&to=BRG10012", b.csrf);
    let done = send(&c.app, "POST", PANEL, Some(&b.cookie), Some(&form)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location().contains("done=released"),
        "{}",
        done.location()
    );
    let link = c.store.link("acme", SUBSTITUTE_KIND, "ITNO=BRG1OO12").await;
    assert_eq!(
        link.expect("read").map(|l| l.remote_id).as_deref(),
        Some("BRG10012")
    );
    let job = c
        .store
        .job("acme", KIND, "7")
        .await
        .expect("job")
        .expect("there");
    assert_eq!(job.state, JobState::Queued);
    let trail = c.store.trail("acme", "7").await.expect("trail");
    assert!(
        trail
            .iter()
            .any(|e| e.step == "console" && e.data["action"] == "hold.fix"),
        "{trail:?}"
    );
}

#[tokio::test]
async fn no_session_signs_in_no_csrf_is_403_and_another_tenant_is_404() {
    let c = console().await;
    let page = send(&c.app, "GET", PANEL, None, None).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    let b = sign_in(&c.app, &c.acme).await;
    let forged = "csrf=nope&kind=item&from=BRG1OO12&to=BRG10012";
    let refused = send(&c.app, "POST", PANEL, Some(&b.cookie), Some(forged)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let other = sign_in(&c.app, &c.globex).await;
    let page = send(&c.app, "GET", PANEL, Some(&other.cookie), None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let link = c.store.link("acme", SUBSTITUTE_KIND, "ITNO=BRG1OO12").await;
    assert!(link.expect("read").is_none(), "nothing recorded");
}
