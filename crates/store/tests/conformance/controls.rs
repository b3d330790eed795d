//! What an operator controls: a paused flow's jobs are not claimed (they wait, nothing is
//! lost) until it is resumed; the audit trail is pruned by age per tenant; and a dead
//! letter still open when a later run of its job succeeds is resolved by that run.

use ferry_store::{NewJob, Outcome, RESOLVED_BY_HAND, RESOLVED_BY_LATER_RUN};
use serde_json::json;

use crate::common::{Fixture, KIND, job};

pub async fn a_paused_flow_claims_nothing_of_that_tenant_until_resumed_on_every_handle(
    s: &Fixture,
) {
    s.enqueue(job("1"), 0).await.expect("enqueue");
    let other_flow = NewJob {
        tenant: "acme",
        kind: "catalog-sync",
        key: "catalog",
        checkpoint: json!({}),
    };
    s.enqueue(other_flow, 0).await.expect("enqueue catalog");
    let other_tenant = NewJob {
        tenant: "globex",
        ..job("1")
    };
    s.enqueue(other_tenant, 0).await.expect("enqueue globex");

    let pause = s
        .pause_flow("acme", KIND, Some("tok-1"))
        .await
        .expect("pause");
    assert_eq!(pause.paused_by.as_deref(), Some("tok-1"));
    // Pausing again keeps the first pause.
    let again = s
        .pause_flow("acme", KIND, Some("tok-2"))
        .await
        .expect("again");
    assert_eq!(again, pause);

    // Another handle (another node) sees the pause: it claims the other flow and the other
    // tenant's job, never acme's paused one.
    let other = s.another().await;
    let claims = other.claim("n-0", 10, 1_000, 1).await.expect("claim");
    let mut got: Vec<(String, String)> = claims
        .iter()
        .map(|c| (c.job.tenant.clone(), c.job.kind.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("acme".to_string(), "catalog-sync".to_string()),
            ("globex".to_string(), KIND.to_string())
        ]
    );
    assert!(
        other
            .claim("n-0", 10, 1_000, 2)
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(other.pauses(Some("acme")).await.expect("pauses"), [pause]);
    assert!(
        other
            .pauses(Some("globex"))
            .await
            .expect("pauses")
            .is_empty()
    );

    assert!(s.resume_flow("acme", KIND).await.expect("resume"));
    assert!(!s.resume_flow("acme", KIND).await.expect("resume twice"));
    let claims = other.claim("n-0", 10, 1_000, 3).await.expect("claim");
    assert_eq!(claims.len(), 1);
    assert_eq!(
        (claims[0].job.tenant.as_str(), claims[0].job.key.as_str()),
        ("acme", "1")
    );
}

pub async fn the_audit_is_pruned_by_age_for_one_tenant_only(s: &Fixture) {
    for tenant in ["acme", "globex"] {
        s.audit(tenant, KIND, "1", "note", "old", &json!({}))
            .await
            .expect("audit");
    }
    // Entries carry RFC 3339 times to the millisecond: a cut-off after them all.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let cut = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.audit("acme", KIND, "1", "note", "new", &json!({}))
        .await
        .expect("audit");
    assert_eq!(s.prune_audit("acme", &cut).await.expect("prune"), 1);
    let trail = s.trail("acme", "1").await.expect("trail");
    assert_eq!(
        trail.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    assert_eq!(s.trail("globex", "1").await.expect("trail").len(), 1);
}

pub async fn a_later_run_that_succeeds_resolves_the_jobs_open_dead_letter(s: &Fixture) {
    for key in ["1", "2"] {
        s.enqueue(job(key), 0).await.expect("enqueue");
    }
    let mut claims = s.claim("w", 2, 1_000, 0).await.expect("claim");
    claims.sort_by(|a, b| a.job.key.cmp(&b.job.key));
    for c in &claims {
        let dead = Outcome::Dead {
            error: "M3 said no".into(),
        };
        s.finish(c, dead, 0).await.expect("dead");
    }
    // Job 1 runs again (a rerun, not a replay of its letter) and succeeds.
    s.rerun(None, job("1"), 1).await.expect("rerun");
    let claim = s.claim("w", 1, 1_000, 1).await.expect("claim").remove(0);
    s.finish(&claim, Outcome::Done, 1).await.expect("done");
    // Job 2 is resolved by hand.
    s.resolve("acme", KIND, "2", 2).await.expect("resolve");

    let other = s.another().await;
    let letters = other.dead_letters(Some("acme")).await.expect("letters");
    let by = |key: &str| {
        let l = letters.iter().find(|l| l.key == key).expect("letter");
        (l.resolved_at.is_some(), l.resolved_by.clone())
    };
    assert_eq!(by("1"), (true, Some(RESOLVED_BY_LATER_RUN.to_string())));
    assert_eq!(by("2"), (true, Some(RESOLVED_BY_HAND.to_string())));
    let job1 = other
        .job("acme", KIND, "1")
        .await
        .expect("job")
        .expect("there");
    assert!(job1.resolved_at.is_some(), "listed with the resolved");
    let trail = other.trail("acme", "1").await.expect("trail");
    assert!(
        trail
            .iter()
            .any(|e| e.step == "resolve" && e.message.contains("later run")),
        "{trail:?}"
    );
    // A job that simply succeeds has nothing to resolve.
    s.enqueue(job("3"), 3).await.expect("enqueue");
    let claim = s.claim("w", 1, 1_000, 3).await.expect("claim").remove(0);
    s.finish(&claim, Outcome::Done, 3).await.expect("done");
    let job3 = s.job("acme", KIND, "3").await.expect("job").expect("there");
    assert_eq!(job3.resolved_at, None);
}
