//! The Mappings screen over a memory store (the console fixture): the rendered HTML shows
//! both field lists, the rules, the editor with its debounced htmx preview, suggestions with
//! scores and the versions; Save stores a new active version (CSRF checked), a bad mapping is
//! shown again with its line and stores nothing, activate and roll back move the version; no
//! session is the sign-in page, another tenant 404.

use axum::http::StatusCode;

use super::tests::{fixture, send, sign_in};
use crate::services::mappings_versions;

const SCREEN: &str = "/ui/tenants/acme/mappings/quote-to-order";

fn small(order_type: &str) -> String {
    format!(
        "[mapping]\nkind = \"quote-to-order\"\noutput = \"order\"\nid = \"DocNo\"\n[header]\nCUOR = \"DocNo\"\nORTP = \"'{order_type}'\"\n"
    )
}

fn form(csrf: &str, text: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", csrf)
        .append_pair("text", text)
        .finish()
}

#[tokio::test]
async fn the_screen_shows_both_field_lists_the_rules_editor_preview_suggestions_and_versions() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let list = send(&f.app, "GET", "/ui/mappings", Some(&b.cookie), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains(&format!(r#"href="{SCREEN}""#)),
        "{}",
        list.body
    );
    assert!(!list.body.contains("globex"), "only the token's tenant");

    let page = send(&f.app, "GET", SCREEN, Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = &page.body;
    assert!(
        html.contains("QuoteWerks fields") && html.contains("M3 fields"),
        "{html}"
    );
    assert!(
        html.contains(r#"<li class="used" title="#),
        "used fields marked: {html}"
    );
    assert!(html.contains("<code>DocNo</code>"), "{html}");
    assert!(html.contains("<code>CUOR</code>"), "{html}");
    assert!(html.contains(r#"id="rules""#));
    assert!(
        html.contains(r#"hx-post="/ui/tenants/acme/mappings/quote-to-order/preview""#)
            && html.contains(r#"hx-trigger="input changed delay:600ms""#),
        "debounced live preview: {html}"
    );
    assert!(html.contains(&format!(r#"name="csrf" value="{}""#, b.csrf)));
    assert!(
        html.contains(r#"id="preview""#) && html.contains("refuses quote Q"),
        "preview on acme's last quote: {html}"
    );
    assert!(html.contains(r#"id="versions""#) && html.contains("serving"));

    // The live preview, as htmx posts it.
    let answer = send(
        &f.app,
        "POST",
        &format!("{SCREEN}/preview"),
        Some(&b.cookie),
        Some(&form(&b.csrf, &small("ZZ9"))),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body.contains("ZZ9") && !answer.body.contains("<html"),
        "{}",
        answer.body
    );
    let bad = send(
        &f.app,
        "POST",
        &format!("{SCREEN}/preview"),
        Some(&b.cookie),
        Some(&form(&b.csrf, "[mapping\n")),
    )
    .await;
    assert!(bad.body.contains("line 1, column"), "{}", bad.body);
}

#[tokio::test]
async fn save_makes_a_new_active_version_and_roll_back_returns_a_bad_one_stores_nothing() {
    let f = fixture().await;
    let b = sign_in(&f.app, &f.acme).await;
    let save = format!("{SCREEN}/versions");
    let no_csrf = send(
        &f.app,
        "POST",
        &save,
        Some(&b.cookie),
        Some(&form("", &small("A"))),
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let bad_text = small("A").replace("'A'", "lookup(nope, DocNo)");
    let bad = send(
        &f.app,
        "POST",
        &save,
        Some(&b.cookie),
        Some(&form(&b.csrf, &bad_text)),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Not saved: line 7, column 1"),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("lookup(nope, DocNo)"),
        "the submitted text is kept"
    );
    let idx = mappings_versions::index(&*f.store, "acme", "quote-to-order")
        .await
        .expect("index");
    assert!(idx.versions.is_empty(), "nothing stored");

    let saved = send(
        &f.app,
        "POST",
        &save,
        Some(&b.cookie),
        Some(&form(&b.csrf, &small("S01"))),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), format!("{SCREEN}?done=saved"));
    let page = send(&f.app, "GET", saved.location(), Some(&b.cookie), None).await;
    assert!(
        page.body
            .contains(r#"<strong id="serving">version 1</strong>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains("Saved: the new version serves"));

    let csrf = format!("csrf={}", b.csrf);
    let back = send(
        &f.app,
        "POST",
        &format!("{SCREEN}/rollback"),
        Some(&b.cookie),
        Some(&csrf),
    )
    .await;
    assert_eq!(back.location(), format!("{SCREEN}?done=rolled-back"));
    let idx = mappings_versions::index(&*f.store, "acme", "quote-to-order")
        .await
        .expect("index");
    assert_eq!((idx.active, idx.versions.len()), (0, 1), "version 1 kept");
    let on = send(
        &f.app,
        "POST",
        &format!("{SCREEN}/activate"),
        Some(&b.cookie),
        Some(&format!("{csrf}&version=1")),
    )
    .await;
    assert_eq!(on.location(), format!("{SCREEN}?done=activated"));
    let idx = mappings_versions::index(&*f.store, "acme", "quote-to-order")
        .await
        .expect("index");
    assert_eq!(idx.active, 1);
}

#[tokio::test]
async fn no_session_is_the_sign_in_page_and_another_tenant_is_404() {
    let f = fixture().await;
    let anon = send(&f.app, "GET", SCREEN, None, None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let b = sign_in(&f.app, &f.acme).await;
    let other = SCREEN.replace("/acme/", "/globex/");
    let page = send(&f.app, "GET", &other, Some(&b.cookie), None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let saved = send(
        &f.app,
        "POST",
        &format!("{other}/versions"),
        Some(&b.cookie),
        Some(&form(&b.csrf, &small("X"))),
    )
    .await;
    assert_eq!(saved.status, StatusCode::NOT_FOUND);
    let idx = mappings_versions::index(&*f.store, "globex", "quote-to-order")
        .await
        .expect("index");
    assert!(idx.versions.is_empty());
}
