//! Resolving by hand: a held or dead job closes `done` without running again, keeps why it
//! stopped, and its dead letter can no longer be replayed.

use ferry_store::{JobState, Outcome, StoreError};

use crate::common::{Fixture, KIND, job};

pub async fn a_held_or_dead_job_resolved_by_hand_ends_done_and_is_never_replayed(s: &Fixture) {
    for key in ["1", "2", "3"] {
        s.enqueue(job(key), 0).await.expect("enqueue");
    }
    let mut claims = s.claim("w", 3, 1_000, 0).await.expect("claim");
    claims.sort_by(|a, b| a.job.key.cmp(&b.job.key));
    let hold = Outcome::Hold {
        reason: "unknown item X-1".into(),
    };
    s.finish(&claims[0], hold, 0).await.expect("hold");
    let dead = Outcome::Dead {
        error: "M3 said no".into(),
    };
    s.finish(&claims[1], dead, 0).await.expect("dead");

    let held = s.resolve("acme", KIND, "1", 1).await.expect("resolve hold");
    assert_eq!(held.state, JobState::Done);
    assert!(held.resolved_at.is_some());
    assert_eq!(held.hold_reason.as_deref(), Some("unknown item X-1"));

    let closed = s.resolve("acme", KIND, "2", 1).await.expect("resolve dead");
    assert_eq!(closed.last_error.as_deref(), Some("M3 said no"));
    // Every handle sees it: the letter is resolved, not replayed, and can't be replayed.
    let other = s.another().await;
    let letters = other.dead_letters(Some("acme")).await.expect("letters");
    assert_eq!(letters.len(), 1);
    assert!(letters[0].resolved_at.is_some());
    assert_eq!(letters[0].replayed_at, None);
    assert!(other.replay(letters[0].id, 2).await.is_err());
    assert_eq!(
        other
            .job("acme", KIND, "2")
            .await
            .expect("job")
            .expect("there")
            .state,
        JobState::Done
    );
    let trail = other.trail("acme", "2").await.expect("trail");
    assert!(trail.iter().any(|e| e.step == "resolve"), "{trail:?}");

    // A running job, a finished one, another tenant's key or none at all: nothing to resolve.
    for (tenant, key) in [("acme", "3"), ("acme", "1"), ("globex", "2"), ("acme", "9")] {
        assert!(
            matches!(
                s.resolve(tenant, KIND, key, 3).await,
                Err(StoreError::NotFound(_))
            ),
            "{tenant}/{key}"
        );
    }
    // A new event for a resolved job queues it again: it is no longer resolved.
    let again = s.rerun(None, job("1"), 4).await.expect("rerun");
    assert_eq!(again, ferry_store::Ingested::Queued);
    let requeued = s.job("acme", KIND, "1").await.expect("job").expect("there");
    assert_eq!(
        (requeued.state, requeued.resolved_at),
        (JobState::Queued, None)
    );
    assert_eq!(
        s.job("acme", KIND, "3")
            .await
            .expect("job")
            .expect("there")
            .state,
        JobState::Running
    );
}
