//! Admin API tokens: found by the hash of their secret while live, listed with their scope,
//! revoked for every handle at once.

use ferry_store::{NewToken, StoreError};

use crate::common::Fixture;

pub async fn a_token_is_found_by_its_hash_until_revoked_and_revocation_is_seen_by_every_handle(
    s: &Fixture,
) {
    let admin = s
        .create_token(NewToken {
            id: "t1",
            name: Some("ops"),
            tenant: None,
            hash: "h-admin",
        })
        .await
        .expect("create admin");
    assert_eq!((admin.tenant, admin.revoked_at), (None, None));
    s.create_token(NewToken {
        id: "t2",
        name: None,
        tenant: Some("acme"),
        hash: "h-acme",
    })
    .await
    .expect("create tenant token");

    let other = s.another().await;
    let found = other
        .token_by_hash("h-acme")
        .await
        .expect("lookup")
        .expect("live token found");
    assert_eq!(
        (found.id.as_str(), found.tenant.as_deref()),
        ("t2", Some("acme"))
    );
    assert_eq!(other.token_by_hash("h-nope").await.expect("lookup"), None);

    let same_hash = s.create_token(NewToken {
        id: "t3",
        name: None,
        tenant: None,
        hash: "h-acme",
    });
    assert!(matches!(same_hash.await, Err(StoreError::Conflict(_))));
    let same_id = s.create_token(NewToken {
        id: "t1",
        name: None,
        tenant: None,
        hash: "h-other",
    });
    assert!(matches!(same_id.await, Err(StoreError::Conflict(_))));

    let revoked = s.revoke_token("t2").await.expect("revoke");
    let first = revoked.revoked_at.clone().expect("revoked_at set");
    assert_eq!(
        other.token_by_hash("h-acme").await.expect("lookup"),
        None,
        "a revoked token authenticates nothing, on any handle"
    );
    let again = other.revoke_token("t2").await.expect("revoke again");
    assert_eq!(
        again.revoked_at,
        Some(first),
        "revoking twice keeps the first time"
    );
    assert!(matches!(
        s.revoke_token("t9").await,
        Err(StoreError::NotFound(_))
    ));

    let listed: Vec<(String, Option<String>, bool)> = other
        .tokens()
        .await
        .expect("list")
        .into_iter()
        .map(|t| (t.id, t.tenant, t.revoked_at.is_some()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("t1".to_string(), None, false),
            ("t2".to_string(), Some("acme".to_string()), true),
        ]
    );
}
