//! Sync state: a cursor per (tenant, stream) and a content hash per (tenant, entity kind, key),
//! both kept across handles (a restarted node goes on where the last run stopped).

use std::collections::HashMap;

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

fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, h)| ((*k).to_owned(), (*h).to_owned()))
        .collect()
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|k| (*k).to_owned()).collect()
}

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    entries(pairs).into_iter().collect()
}

/// What the syncs do once per page instead of once per item: read the stored hashes of a
/// page's keys in one call, and record a written batch's hashes in one call.
pub async fn content_hashes_are_read_and_written_a_page_at_a_time(s: &Fixture) {
    assert!(
        s.content_hashes("acme", "item", &[])
            .await
            .expect("read no keys")
            .is_empty()
    );
    s.set_content_hashes("acme", "item", &[])
        .await
        .expect("write no entries");

    s.set_content_hash("acme", "item", "A100", "old")
        .await
        .expect("set");
    s.set_content_hash("beta", "item", "A200", "beta's")
        .await
        .expect("set");
    s.set_content_hash("acme", "customer", "A200", "customer's")
        .await
        .expect("set");
    s.set_content_hashes(
        "acme",
        "item",
        &entries(&[("A100", "new"), ("A200", "h200"), ("A300", "h300")]),
    )
    .await
    .expect("write a batch");

    let other = s.another().await;
    let asked = keys(&["A100", "A200", "A300", "A400"]);
    let got = other
        .content_hashes("acme", "item", &asked)
        .await
        .expect("read a batch");
    assert_eq!(
        got,
        map(&[("A100", "new"), ("A200", "h200"), ("A300", "h300")]),
        "the batch replaced the stored hash, added the new ones, and a key without one is absent"
    );
    for key in &asked {
        assert_eq!(
            got.get(key).cloned(),
            other.content_hash("acme", "item", key).await.expect("hash"),
            "the batch read agrees with the single read for {key}"
        );
    }
    assert_eq!(
        other
            .content_hashes("beta", "item", &asked)
            .await
            .expect("read"),
        map(&[("A200", "beta's")]),
        "another tenant's hashes are its own"
    );
    assert_eq!(
        other
            .content_hashes("acme", "customer", &asked)
            .await
            .expect("read"),
        map(&[("A200", "customer's")]),
        "another entity kind's hashes are its own"
    );

    // A key twice in one write: the last entry wins (as the same writes one by one would).
    s.set_content_hashes("acme", "item", &entries(&[("A100", "x"), ("A100", "y")]))
        .await
        .expect("a key twice");
    assert_eq!(
        other
            .content_hash("acme", "item", "A100")
            .await
            .expect("hash")
            .as_deref(),
        Some("y")
    );
}

/// A page of 1,200 keys (more than SQLite's default limit of bound variables in one
/// statement) is read and written whole.
pub async fn a_thousand_and_two_hundred_content_hashes_go_in_one_call(s: &Fixture) {
    let many: Vec<(String, String)> = (0..1_200)
        .map(|i| (format!("K{i:04}"), format!("h{i}")))
        .collect();
    s.set_content_hashes("acme", "bulk", &many)
        .await
        .expect("write 1,200");
    let mut asked: Vec<String> = many.iter().map(|(k, _)| k.clone()).collect();
    asked.push("missing".to_owned());
    let other = s.another().await;
    let got = other
        .content_hashes("acme", "bulk", &asked)
        .await
        .expect("read 1,201");
    assert_eq!(got.len(), 1_200);
    assert_eq!(got, many.iter().cloned().collect::<HashMap<_, _>>());

    // Every other one changes: all replaced in one call.
    let changed: Vec<(String, String)> = many
        .iter()
        .step_by(2)
        .map(|(k, _)| (k.clone(), format!("{k}-new")))
        .collect();
    s.set_content_hashes("acme", "bulk", &changed)
        .await
        .expect("replace 600");
    let got = other
        .content_hashes("acme", "bulk", &asked)
        .await
        .expect("read again");
    assert_eq!(got.len(), 1_200);
    assert_eq!(got["K0000"], "K0000-new");
    assert_eq!(got["K0001"], "h1");
    assert_eq!(got["K1198"], "K1198-new");
    assert_eq!(got["K1199"], "h1199");
}

/// Two handles (two nodes) that read a record and write it back changed: the write of the one
/// that read it last wins only if nothing changed it meanwhile; the other is told and can read
/// again. Many at once: each change lands once, none is lost.
pub async fn a_cursor_is_replaced_only_if_it_is_still_what_was_read(s: &Fixture) {
    let other = s.another().await;
    assert!(
        s.replace_cursor("acme", "idx", None, "1")
            .await
            .expect("create")
    );
    assert!(
        !other
            .replace_cursor("acme", "idx", None, "x")
            .await
            .expect("create"),
        "it exists already"
    );
    assert!(
        other
            .replace_cursor("acme", "idx", Some("1"), "2")
            .await
            .expect("cas")
    );
    assert!(
        !s.replace_cursor("acme", "idx", Some("1"), "3")
            .await
            .expect("cas"),
        "read before the other node changed it"
    );
    assert_eq!(
        s.cursor("acme", "idx").await.expect("read").as_deref(),
        Some("2")
    );
    assert!(
        !s.replace_cursor("beta", "idx", Some("2"), "3")
            .await
            .expect("cas"),
        "another tenant's cursor is its own (absent)"
    );

    // Sixteen increments from two handles, each read-then-replace, retried when overtaken.
    let handles = [s.another().await, other];
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = handles[i % 2].clone();
            tokio::spawn(async move {
                loop {
                    let now = store.cursor("acme", "count").await.expect("read");
                    let next = now.as_deref().map_or(0, |n| n.parse::<u32>().expect("n")) + 1;
                    let set = store
                        .replace_cursor("acme", "count", now.as_deref(), &next.to_string())
                        .await
                        .expect("cas");
                    if set {
                        return;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        s.cursor("acme", "count").await.expect("read").as_deref(),
        Some("16"),
        "no increment lost"
    );
}
