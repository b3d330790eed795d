//! Sync state: a cursor per (tenant, stream) and a content hash per (tenant, entity kind, key),
//! both kept across handles (a restarted node goes on where the last run stopped).

use crate::common::Fixture;

pub async fn cursors_and_content_hashes_are_kept_per_tenant_stream_and_entity(s: &Fixture) {
    assert_eq!(s.cursor("acme", "m3-items").await.expect("cursor"), None);
    s.set_cursor("acme", "m3-items", "20261203")
        .await
        .expect("set");
    s.set_cursor("acme", "m3-items", "20261204")
        .await
        .expect("advance");
    s.set_cursor("acme", "m3-prices", "p-1").await.expect("set");
    s.set_cursor("beta", "m3-items", "19990101")
        .await
        .expect("set");

    assert_eq!(
        s.content_hash("acme", "item", "A100").await.expect("hash"),
        None
    );
    s.set_content_hash("acme", "item", "A100", "h1")
        .await
        .expect("set");
    s.set_content_hash("acme", "item", "A100", "h2")
        .await
        .expect("replace");
    s.set_content_hash("acme", "customer", "A100", "c1")
        .await
        .expect("set");
    s.set_content_hash("beta", "item", "A100", "b1")
        .await
        .expect("set");

    let other = s.another().await;
    assert_eq!(
        other
            .cursor("acme", "m3-items")
            .await
            .expect("cursor")
            .as_deref(),
        Some("20261204"),
        "the last cursor set wins, and another handle sees it"
    );
    assert_eq!(
        other
            .cursor("acme", "m3-prices")
            .await
            .expect("cursor")
            .as_deref(),
        Some("p-1")
    );
    assert_eq!(
        other
            .cursor("beta", "m3-items")
            .await
            .expect("cursor")
            .as_deref(),
        Some("19990101")
    );
    assert_eq!(
        other.cursor("beta", "m3-prices").await.expect("cursor"),
        None
    );
    assert_eq!(
        other
            .content_hash("acme", "item", "A100")
            .await
            .expect("hash")
            .as_deref(),
        Some("h2")
    );
    assert_eq!(
        other
            .content_hash("acme", "customer", "A100")
            .await
            .expect("hash")
            .as_deref(),
        Some("c1")
    );
    assert_eq!(
        other
            .content_hash("beta", "item", "A100")
            .await
            .expect("hash")
            .as_deref(),
        Some("b1")
    );
    assert_eq!(
        other
            .content_hash("acme", "item", "A200")
            .await
            .expect("hash"),
        None
    );
}
