//! The plugin registry's durable half: installs, activation, rollback and the generation a
//! serving process polls to see another process's changes.

use ferry_store::StoreError;

use crate::common::Fixture;

const ROLE: &str = "transform";

pub async fn activation_needs_an_install_and_is_idempotent(s: &Fixture) {
    assert!(matches!(
        s.activate("acme", ROLE, "d1").await,
        Err(StoreError::NotFound(_))
    ));
    s.record_install("acme", ROLE, "d1").await.expect("install");
    s.record_install("acme", ROLE, "d1")
        .await
        .expect("installing twice is fine");
    s.record_install("acme", "erp", "e1")
        .await
        .expect("install");
    s.record_install("globex", ROLE, "g1")
        .await
        .expect("install");
    let mine: Vec<(String, String)> = s
        .installs(Some("acme"))
        .await
        .expect("installs")
        .into_iter()
        .map(|i| (i.role, i.digest))
        .collect();
    assert_eq!(
        mine,
        vec![
            ("erp".to_string(), "e1".to_string()),
            (ROLE.to_string(), "d1".to_string())
        ]
    );
    assert_eq!(s.installs(None).await.expect("installs").len(), 3);
    // Installed for another role or tenant is not installed for this one.
    assert!(matches!(
        s.activate("acme", ROLE, "e1").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.activate("globex", ROLE, "d1").await,
        Err(StoreError::NotFound(_))
    ));

    let first = s.activate("acme", ROLE, "d1").await.expect("activate");
    assert_eq!(
        (first.tenant.as_str(), first.digest.as_str()),
        ("acme", "d1")
    );
    let generation = s.generation().await.expect("generation");
    let again = s.activate("acme", ROLE, "d1").await.expect("again");
    assert_eq!(again, first, "activating the active one changes nothing");
    assert_eq!(s.generation().await.expect("generation"), generation);
    assert_eq!(s.active().await.expect("active"), vec![first]);
    assert_eq!(s.previous("acme", ROLE).await.expect("previous"), None);
}

pub async fn rollback_restores_the_previous_activation_for_every_handle(s: &Fixture) {
    for d in ["v1", "v2"] {
        s.record_install("acme", ROLE, d).await.expect("install");
    }
    let v1 = s.activate("acme", ROLE, "v1").await.expect("v1");
    let v2 = s.activate("acme", ROLE, "v2").await.expect("v2");
    assert!(v2.seq > v1.seq);
    assert_eq!(
        s.previous("acme", ROLE).await.expect("previous"),
        Some(v1.clone())
    );
    assert_eq!(s.active().await.expect("active"), vec![v2.clone()]);

    let restored = s.rollback("acme", ROLE).await.expect("rollback");
    assert_eq!(restored, v1);
    let other = s.another().await;
    assert_eq!(
        other.active().await.expect("active"),
        vec![v1.clone()],
        "kept, and seen by another process"
    );
    // Nothing earlier than v1: a second rollback is refused and changes nothing.
    assert!(matches!(
        other.rollback("acme", ROLE).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.active().await.expect("active"), vec![v1.clone()]);
    assert_eq!(s.previous("acme", ROLE).await.expect("previous"), None);
    // Activating v2 again makes a new activation on top of v1; a rollback returns to v1.
    let v2_again = s.activate("acme", ROLE, "v2").await.expect("v2 again");
    assert!(
        v2_again.seq > v2.seq,
        "a new activation, not the retired one"
    );
    assert_eq!(s.rollback("acme", ROLE).await.expect("rollback"), v1);
}

pub async fn the_generation_moves_on_every_change_and_only_then(s: &Fixture) {
    let other = s.another().await;
    let g0 = other.generation().await.expect("generation");
    for (tenant, d) in [("acme", "a1"), ("acme", "a2"), ("globex", "g1")] {
        s.record_install(tenant, ROLE, d).await.expect("install");
    }
    assert_eq!(
        other.generation().await.expect("generation"),
        g0,
        "installing activates nothing"
    );
    s.activate("acme", ROLE, "a1").await.expect("activate");
    let g1 = other.generation().await.expect("generation");
    assert!(g1 > g0, "another process sees the activation");
    s.activate("acme", ROLE, "a2").await.expect("activate");
    let g2 = other.generation().await.expect("generation");
    assert!(g2 > g1);
    s.rollback("acme", ROLE).await.expect("rollback");
    let g3 = other.generation().await.expect("generation");
    assert!(g3 > g2, "a rollback is a change too");
    assert_eq!(other.generation().await.expect("generation"), g3);

    // Tenants are separate: globex has nothing active until it activates its own.
    let active = other.active().await.expect("active");
    assert_eq!(active.len(), 1);
    assert_eq!(
        (active[0].tenant.as_str(), active[0].digest.as_str()),
        ("acme", "a1")
    );
    s.activate("globex", ROLE, "g1").await.expect("activate");
    let tenants: Vec<String> = other
        .active()
        .await
        .expect("active")
        .into_iter()
        .map(|a| a.tenant)
        .collect();
    assert_eq!(tenants, vec!["acme", "globex"]);
}

pub async fn components_and_their_files_are_kept_by_digest_for_every_handle(s: &Fixture) {
    assert_eq!(s.blob("d1").await.expect("read"), None);
    s.put_blob("d1", b"\0asm one").await.expect("put");
    s.put_blob("d1", b"something else")
        .await
        .expect("a second put is fine");
    s.put_blob("d2", b"\0asm two").await.expect("put");
    let other = s.another().await;
    assert_eq!(
        other.blob("d1").await.expect("read").as_deref(),
        Some(&b"\0asm one"[..]),
        "a digest keeps its first content, seen by another handle"
    );

    s.put_plugin_file("d1", "acme", "manifest.toml", "v = 1")
        .await
        .expect("put");
    s.put_plugin_file("d1", "acme", "manifest.sig", "sig")
        .await
        .expect("put");
    s.put_plugin_file("d1", "acme", "manifest.toml", "v = 2")
        .await
        .expect("replace");
    s.put_plugin_file("d1", "globex", "manifest.toml", "theirs")
        .await
        .expect("put");
    assert_eq!(
        other.plugin_files("d1", "acme").await.expect("files"),
        vec![
            ("manifest.sig".to_string(), "sig".to_string()),
            ("manifest.toml".to_string(), "v = 2".to_string()),
        ],
        "by name, the latest text, one tenant's only"
    );
    assert!(
        other
            .plugin_files("d2", "acme")
            .await
            .expect("files")
            .is_empty()
    );
}
