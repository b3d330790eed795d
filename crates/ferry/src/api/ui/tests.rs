//! The console driven with `oneshot` over a memory store, asserting on the rendered HTML:
//! sign-in (cookie flags, a wrong token stores nothing), 401 without a session, 403 for a form
//! without the session's CSRF token, another tenant's data as 404, what each screen shows and
//! that each action is the admin API's (changed in the store, audited with the token's id).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::json;
use tower::ServiceExt;

use super::{UiState, router};
use crate::api::admin::AdminState;
use crate::config::FerryConfig;
use crate::flows::quote_to_order::KIND;
use crate::services::Context;
use crate::services::tokens::{self, Scope};
use ferry_store::{Audit, JobState, Jobs, MemoryStore, NewJob, Outcome, Store, Tokens};

pub(super) struct Fixture {
    pub(super) app: Router,
    pub(super) state: UiState,
    pub(super) store: Arc<MemoryStore>,
    pub(super) admin: String,
    pub(super) acme: String,
    pub(super) acme_id: String,
    _dir: tempfile::TempDir,
}

/// The M3 error a dead letter keeps, vendor details and all.
const M3_ERROR: &str = "not found: OIS100MI/AddLine: Item XYZ-1 does not exist (WIT0103) \
                        [m3.program=OIS100MI; m3.message-id=WIT0103; m3.field=ITNO]";

/// Tenants acme and globex. acme: quote 1 (Q1) dead with an M3 error, quote 2 (Q2) held
/// (its reason holds markup), quote 3 (Q3) done as M3 order 0000123456; globex: quote 9 (Q9)
/// dead. Tokens: admin, and one for acme.
pub(super) async fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let jobs = [
        (
            "acme",
            "1",
            "Q1",
            Outcome::Dead {
                error: M3_ERROR.into(),
            },
        ),
        (
            "acme",
            "2",
            "Q2",
            Outcome::Hold {
                reason: "unknown customer <script>alert(1)</script>".into(),
            },
        ),
        ("acme", "3", "Q3", Outcome::Done),
        (
            "globex",
            "9",
            "Q9",
            Outcome::Dead {
                error: "globex's own failure".into(),
            },
        ),
    ];
    for (tenant, id, number, outcome) in jobs {
        let mut checkpoint = json!({
            "quote_id": id,
            "quote": {"kind": "quote", "id": id, "fields": [{"name": "DocNo", "value": {"text": number}}], "lines": []},
        });
        if id == "3" {
            checkpoint["receipt"] = json!({"order_number": "0000123456", "status": "22"});
        }
        let job = NewJob {
            tenant,
            kind: KIND,
            key: id,
            checkpoint,
        };
        store.enqueue(job, 0).await.expect("enqueue");
        let claim = store
            .claim("w", 1, 1_000, 0)
            .await
            .expect("claim")
            .remove(0);
        store.finish(&claim, outcome, 0).await.expect("finish");
        store
            .audit(tenant, KIND, id, "fetched", "read the quote", &json!(null))
            .await
            .expect("audit");
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
        .expect("acme");
    let state = UiState::new(AdminState {
        ctx: Arc::new(ctx),
        wake: Arc::new(tokio::sync::Notify::new()),
    });
    Fixture {
        app: router(state.clone()),
        state,
        store,
        admin,
        acme: acme.secret,
        acme_id: acme.token.id,
        _dir: dir,
    }
}

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

impl Answer {
    pub(super) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn set_cookie(&self) -> Option<&str> {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
    }
}

pub(super) async fn send(
    app: &Router,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path);
    if let Some(c) = cookie {
        request = request.header(header::COOKIE, c);
    }
    if form.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let request = request
        .body(Body::from(form.unwrap_or("").to_string()))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("answer");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A signed-in browser: its cookie header and the session's CSRF token read off a page.
pub(super) struct Browser {
    pub(super) cookie: String,
    pub(super) csrf: String,
}

pub(super) async fn sign_in(app: &Router, secret: &str) -> Browser {
    let form = format!("token={secret}");
    let answer = send(app, "POST", "/ui/sign-in", None, Some(&form)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let set = answer.set_cookie().expect("a session cookie");
    let cookie = set.split(';').next().expect("pair").to_string();
    let page = send(app, "GET", "/ui/runs", Some(&cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page
        .body
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token on the page")
        .to_string();
    Browser { cookie, csrf }
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_and_a_wrong_token_is_401_storing_nothing() {
    let f = fixture().await;
    for wrong in ["ferry_0000", "nonsense", ""] {
        let answer = send(
            &f.app,
            "POST",
            "/ui/sign-in",
            None,
            Some(&format!("token={wrong}")),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert!(
            answer.body.contains("unknown or revoked"),
            "{}",
            answer.body
        );
        assert_eq!(answer.set_cookie(), None);
    }
    assert_eq!(
        f.state.sessions.count(),
        0,
        "a refused sign-in stores nothing"
    );

    let answer = send(
        &f.app,
        "POST",
        "/ui/sign-in",
        None,
        Some(&format!("token={}", f.acme)),
    )
    .await;
    assert_eq!(
        (answer.status, answer.location()),
        (StatusCode::SEE_OTHER, "/ui/runs")
    );
    let cookie = answer.set_cookie().expect("cookie");
    for flag in [
        "ferry_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/ui",
        "Max-Age=28800",
    ] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(!cookie.contains(&f.acme), "the secret is not the cookie");
    assert_eq!(f.state.sessions.count(), 1);
    let page = send(
        &f.app,
        "GET",
        "/ui/runs",
        Some(cookie.split(';').next().unwrap_or("")),
        None,
    )
    .await;
    assert!(
        page.body.contains(&format!("{} (tenant acme)", f.acme_id)),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_and_ends_the_session() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.admin).await;
    let refused = send(
        &f.app,
        "POST",
        "/ui/sign-out",
        Some(&b.cookie),
        Some("csrf=forged"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let still = send(&f.app, "GET", "/ui/runs", Some(&b.cookie), None).await;
    assert_eq!(still.status, StatusCode::OK);

    let out = send(
        &f.app,
        "POST",
        "/ui/sign-out",
        Some(&b.cookie),
        Some(&format!("csrf={}", b.csrf)),
    )
    .await;
    assert_eq!(
        (out.status, out.location()),
        (StatusCode::SEE_OTHER, "/ui/sign-in")
    );
    assert!(
        out.set_cookie().is_some_and(|c| c.contains("Max-Age=0")),
        "{:?}",
        out.set_cookie()
    );
    let after = send(&f.app, "GET", "/ui/runs", Some(&b.cookie), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert!(
        after.body.contains(r#"action="/ui/sign-in""#),
        "{}",
        after.body
    );
}

#[tokio::test]
async fn a_revoked_token_ends_its_sessions() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    f.store.revoke_token(&f.acme_id).await.expect("revoke");
    let answer = send(&f.app, "GET", "/ui/runs", Some(&b.cookie), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

/// Every screen and action, as (method, path, form).
const SCREENS: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/ui/runs", None),
    ("GET", "/ui/tenants/acme/runs/Q1", None),
    ("GET", "/ui/errors", None),
    ("GET", "/ui/plugins", None),
    ("GET", "/ui/errors?tab=resolved", None),
    ("GET", "/ui/health", None),
    ("POST", "/ui/tenants/acme/holds/2/resolve", Some("csrf=x")),
    (
        "POST",
        "/ui/tenants/acme/dead-letters/1/resolve",
        Some("csrf=x"),
    ),
    (
        "POST",
        "/ui/tenants/acme/dead-letters/retry",
        Some("csrf=x&confirm=yes"),
    ),
    ("POST", "/ui/tenants/acme/holds/2/release", Some("csrf=x")),
    (
        "POST",
        "/ui/tenants/acme/dead-letters/1/retry",
        Some("csrf=x"),
    ),
    (
        "POST",
        "/ui/tenants/acme/plugins/erp/activate",
        Some("csrf=x&digest=abc"),
    ),
    (
        "POST",
        "/ui/tenants/acme/plugins/erp/rollback",
        Some("csrf=x"),
    ),
    ("POST", "/ui/sign-out", Some("csrf=x")),
];

#[tokio::test]
async fn every_screen_and_action_is_401_without_a_session() {
    let f = fixture().await;
    for (method, path, form) in SCREENS {
        for cookie in [None, Some("ferry_session=0123"), Some("other=1")] {
            let answer = send(&f.app, method, path, cookie, *form).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {cookie:?}"
            );
            assert!(
                answer.body.contains(r#"action="/ui/sign-in""#),
                "{method} {path}"
            );
        }
    }
    let held = f
        .store
        .job("acme", KIND, "2")
        .await
        .expect("job")
        .expect("held");
    assert_eq!(held.state, JobState::Held, "nothing was released");
}

#[tokio::test]
async fn every_action_is_403_without_the_sessions_csrf_token_and_changes_nothing() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.admin).await;
    for (method, path, _) in SCREENS.iter().filter(|(m, ..)| *m == "POST") {
        for form in ["", "csrf=", "csrf=0000", "digest=abc"] {
            let answer = send(&f.app, method, path, Some(&b.cookie), Some(form)).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path} with {form:?}");
            assert!(answer.body.contains("security token"), "{}", answer.body);
        }
    }
    let held = f
        .store
        .job("acme", KIND, "2")
        .await
        .expect("job")
        .expect("held");
    assert_eq!(held.state, JobState::Held);
    let letters = f.store.dead_letters(Some("acme")).await.expect("letters");
    assert_eq!(letters[0].replayed_at, None);
}

#[tokio::test]
async fn the_runs_screen_filters_by_tenant_and_status_and_finds_quote_and_order_numbers() {
    let f = fixture().await;
    let admin = sign_in(&f.app, &f.admin).await;
    let all = send(&f.app, "GET", "/ui/runs", Some(&admin.cookie), None).await;
    assert_eq!(all.status, StatusCode::OK);
    for shown in [
        "Q1",
        "Q2",
        "Q3",
        "Q9",
        "0000123456",
        r#"href="/ui/tenants/globex/runs/9""#,
    ] {
        assert!(all.body.contains(shown), "{shown} missing");
    }
    assert!(all.body.contains(r#"src="/ui/assets/htmx.min.js""#));
    assert!(all.body.contains(r#"hx-get="/ui/runs""#), "live search");

    let acme = sign_in(&f.app, &f.acme).await;
    let own = send(&f.app, "GET", "/ui/runs", Some(&acme.cookie), None).await;
    assert!(own.body.contains(r#"href="/ui/tenants/acme/runs/1""#));
    assert!(
        !own.body.contains("globex"),
        "a tenant token sees no other tenant: {}",
        own.body
    );

    let dead = send(
        &f.app,
        "GET",
        "/ui/runs?status=dead",
        Some(&admin.cookie),
        None,
    )
    .await;
    assert!(dead.body.contains("runs/1\"") && dead.body.contains("runs/9\""));
    assert!(!dead.body.contains("runs/2\""), "held is not dead");
    let acme_dead = send(
        &f.app,
        "GET",
        "/ui/runs?tenant=acme&status=dead",
        Some(&admin.cookie),
        None,
    )
    .await;
    assert!(acme_dead.body.contains("runs/1\"") && !acme_dead.body.contains("runs/9\""));

    let by_quote = send(&f.app, "GET", "/ui/runs?q=q2", Some(&acme.cookie), None).await;
    assert!(by_quote.body.contains("runs/2\"") && !by_quote.body.contains("runs/1\""));
    let by_order = send(
        &f.app,
        "GET",
        "/ui/runs?q=0000123456",
        Some(&acme.cookie),
        None,
    )
    .await;
    assert!(by_order.body.contains("runs/3\"") && !by_order.body.contains("runs/2\""));
    let none = send(&f.app, "GET", "/ui/runs?q=Q404", Some(&acme.cookie), None).await;
    assert!(none.body.contains("No runs match"));
    // globex's quote is not found through acme's token, even by its number.
    let foreign = send(&f.app, "GET", "/ui/runs?q=Q9", Some(&acme.cookie), None).await;
    assert!(foreign.body.contains("No runs match"));

    let bad = send(
        &f.app,
        "GET",
        "/ui/runs?status=lost",
        Some(&admin.cookie),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("unknown status"), "{}", bad.body);
}

#[tokio::test]
async fn another_tenants_data_is_a_404_page_like_no_tenant_at_all() {
    let f = fixture().await;
    let acme = sign_in(&f.app, &f.acme).await;
    for path in [
        "/ui/tenants/globex/runs/9",
        "/ui/tenants/globex/runs/Q9",
        "/ui/runs?tenant=globex",
        "/ui/errors?tenant=globex",
        "/ui/plugins?tenant=globex",
    ] {
        let foreign = send(&f.app, "GET", path, Some(&acme.cookie), None).await;
        let absent = send(
            &f.app,
            "GET",
            &path.replace("globex", "nope"),
            Some(&acme.cookie),
            None,
        )
        .await;
        assert_eq!(
            (foreign.status, absent.status),
            (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND),
            "{path}"
        );
        assert!(!foreign.body.contains("globex"), "{path}: {}", foreign.body);
    }
    let retry = send(
        &f.app,
        "POST",
        "/ui/tenants/globex/dead-letters/4/retry",
        Some(&acme.cookie),
        Some(&format!("csrf={}", acme.csrf)),
    )
    .await;
    assert_eq!(retry.status, StatusCode::NOT_FOUND);
    // acme's own path with globex's dead letter id: still not found, still not retried.
    let globex_letter = f.store.dead_letters(Some("globex")).await.expect("letters")[0].id;
    let sideways = send(
        &f.app,
        "POST",
        &format!("/ui/tenants/acme/dead-letters/{globex_letter}/retry"),
        Some(&acme.cookie),
        Some(&format!("csrf={}", acme.csrf)),
    )
    .await;
    assert_eq!(sideways.status, StatusCode::NOT_FOUND);
    let letters = f.store.dead_letters(Some("globex")).await.expect("letters");
    assert_eq!(letters[0].replayed_at, None);
}

#[tokio::test]
async fn a_run_shows_its_timeline_its_error_with_vendor_details_and_a_retry_button() {
    let f = fixture().await;
    let acme = sign_in(&f.app, &f.acme).await;
    let page = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/Q1",
        Some(&acme.cookie),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "Quote Q1",
        "status-dead",
        "Item XYZ-1 does not exist (WIT0103)",
        "m3.message-id",
        "ITNO",
        "read the quote",
        "Checkpoint",
        r#"action="/ui/tenants/acme/dead-letters/1/retry""#,
    ] {
        assert!(
            page.body.contains(shown),
            "{shown} missing from {}",
            page.body
        );
    }
    assert!(page.headers.get(header::CONTENT_SECURITY_POLICY).is_some());
    assert_eq!(
        page.headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );

    let held = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/2",
        Some(&acme.cookie),
        None,
    )
    .await;
    assert!(
        held.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!held.body.contains("<script>alert"), "never raw");
    assert!(
        held.body
            .contains(r#"action="/ui/tenants/acme/holds/2/release""#)
    );

    let done = send(
        &f.app,
        "GET",
        "/ui/tenants/acme/runs/3",
        Some(&acme.cookie),
        None,
    )
    .await;
    assert!(done.body.contains("0000123456") && done.body.contains("status 22"));
}

#[tokio::test]
async fn retry_and_release_from_the_console_change_the_run_and_are_audited_with_the_token() {
    let f = fixture().await;
    let acme = sign_in(&f.app, &f.acme).await;
    let csrf = format!("csrf={}", acme.csrf);
    let letter = f.store.dead_letters(Some("acme")).await.expect("letters")[0].id;
    let retried = send(
        &f.app,
        "POST",
        &format!("/ui/tenants/acme/dead-letters/{letter}/retry"),
        Some(&acme.cookie),
        Some(&csrf),
    )
    .await;
    assert_eq!(
        (retried.status, retried.location()),
        (
            StatusCode::SEE_OTHER,
            "/ui/tenants/acme/runs/1?done=retried"
        )
    );
    let job = f
        .store
        .job("acme", KIND, "1")
        .await
        .expect("job")
        .expect("run");
    assert_eq!(job.state, JobState::Queued);
    let page = send(&f.app, "GET", retried.location(), Some(&acme.cookie), None).await;
    assert!(
        page.body.contains("Retried: the run is queued again"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("by token {} (console)", f.acme_id)),
        "{}",
        page.body
    );
    let again = send(
        &f.app,
        "POST",
        &format!("/ui/tenants/acme/dead-letters/{letter}/retry"),
        Some(&acme.cookie),
        Some(&csrf),
    )
    .await;
    // The admin API's answer for a letter already retried (404 today, the API's business).
    assert!(
        again.status.is_client_error(),
        "a dead letter is retried once: {}",
        again.status
    );

    let released = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/holds/Q2/release",
        Some(&acme.cookie),
        Some(&format!("{csrf}&restart=1")),
    )
    .await;
    assert_eq!(
        released.location(),
        "/ui/tenants/acme/runs/2?done=restarted"
    );
    let job = f
        .store
        .job("acme", KIND, "2")
        .await
        .expect("job")
        .expect("run");
    assert_eq!(job.state, JobState::Queued);
    let trail = f.store.trail("acme", "2").await.expect("trail");
    let entry = trail.iter().find(|e| e.step == "console").expect("audited");
    assert_eq!(entry.data["token"], f.acme_id.as_str());
    assert_eq!(entry.data["action"], "hold.restart");
}

#[tokio::test]
async fn the_errors_screen_shows_the_tokens_holds_and_dead_letters() {
    let f = fixture().await;
    let acme = sign_in(&f.app, &f.acme).await;
    let page = send(&f.app, "GET", "/ui/errors", Some(&acme.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "Held (1)",
        "unknown customer",
        "Dead letters (1)",
        "WIT0103",
        "/holds/2/release",
        "/dead-letters/1/retry",
    ] {
        assert!(
            page.body.contains(shown),
            "{shown} missing from {}",
            page.body
        );
    }
    assert!(!page.body.contains("globex"));
    let admin = sign_in(&f.app, &f.admin).await;
    let all = send(&f.app, "GET", "/ui/errors", Some(&admin.cookie), None).await;
    assert!(all.body.contains("Dead letters (2)") && all.body.contains("own failure"));
}

#[tokio::test]
async fn the_plugins_screen_lists_per_tenant_and_refuses_what_it_cannot_activate() {
    let f = fixture().await;
    let acme = sign_in(&f.app, &f.acme).await;
    let page = send(&f.app, "GET", "/ui/plugins", Some(&acme.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<h2>acme</h2>") && page.body.contains("No plugins installed"));
    assert!(!page.body.contains("globex"));
    let csrf = format!("csrf={}", acme.csrf);
    let unknown = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/plugins/erp/activate",
        Some(&acme.cookie),
        Some(&format!("{csrf}&digest=abc")),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    let role = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/plugins/ledger/activate",
        Some(&acme.cookie),
        Some(&format!("{csrf}&digest=abc")),
    )
    .await;
    assert_eq!(role.status, StatusCode::NOT_FOUND);
    let nothing_before = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/plugins/erp/rollback",
        Some(&acme.cookie),
        Some(&csrf),
    )
    .await;
    assert!(
        nothing_before.status.is_client_error(),
        "{}",
        nothing_before.status
    );
}

#[tokio::test]
async fn the_assets_are_served_from_the_binary() {
    let f = fixture().await;
    let js = send(&f.app, "GET", "/ui/assets/htmx.min.js", None, None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.starts_with("var htmx="));
    assert_eq!(
        js.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"text/javascript; charset=utf-8"[..])
    );
    let css = send(&f.app, "GET", "/ui/assets/console.css", None, None).await;
    assert!(css.body.contains("--accent"));
    let home = send(&f.app, "GET", "/ui", None, None).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(r#"name="token""#));
}

#[tokio::test]
async fn plugins_are_activated_and_rolled_back_from_the_console_and_audited() {
    let f = fixture().await;
    let ctx = &f.state.admin.ctx;
    let mut digests = Vec::new();
    for name in ["test_transform", "test_transform_v2"] {
        let file = ferry_layout::component(name);
        let out = crate::services::plugins::install(
            ctx,
            &file,
            "acme",
            crate::runtime::Role::Transform,
            true,
        )
        .await
        .unwrap_or_else(|e| panic!("install {}: {e}", file.display()));
        digests.push(out.installed.digest);
    }
    let acme = sign_in(&f.app, &f.acme).await;
    let page = send(&f.app, "GET", "/ui/plugins", Some(&acme.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&digests[0][..12]) && page.body.contains(&digests[1][..12]));
    assert!(
        page.body.contains("previous") && page.body.contains("Roll back"),
        "{}",
        page.body
    );

    let csrf = format!("csrf={}", acme.csrf);
    let back = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/plugins/transform/rollback",
        Some(&acme.cookie),
        Some(&csrf),
    )
    .await;
    assert_eq!(
        (back.status, back.location()),
        (
            StatusCode::SEE_OTHER,
            "/ui/plugins?tenant=acme&done=rolled-back"
        )
    );
    let active = |rows: &[crate::services::plugins::PluginRow]| {
        rows.iter().find(|r| r.active).map(|r| r.digest.clone())
    };
    let rows = crate::services::plugins::list(ctx, Some("acme"))
        .await
        .expect("list");
    assert_eq!(
        active(&rows),
        Some(digests[0].clone()),
        "rolled back to the first"
    );

    let again = send(
        &f.app,
        "POST",
        "/ui/tenants/acme/plugins/transform/activate",
        Some(&acme.cookie),
        Some(&format!("{csrf}&digest={}", digests[1])),
    )
    .await;
    assert_eq!(again.location(), "/ui/plugins?tenant=acme&done=activated");
    let rows = crate::services::plugins::list(ctx, Some("acme"))
        .await
        .expect("list");
    assert_eq!(active(&rows), Some(digests[1].clone()));
    let trail = f.store.trail("acme", "transform").await.expect("trail");
    let actions: Vec<&str> = trail
        .iter()
        .filter(|e| e.step == "console")
        .filter_map(|e| e.data["action"].as_str())
        .collect();
    assert_eq!(actions, ["plugin.rollback", "plugin.activate"]);
}
