//! Edit-and-retry: an operator's corrected checkpoint puts a held or dead job back in the
//! queue at the step asked for, in one go, audited; a stale edit or one on a job that began a
//! write is refused, and a dead job's letter can't be replayed on top of the edit.

use ferry_store::{Edit, JobState, Outcome, StoreError};
use serde_json::json;

use crate::common::{Fixture, KIND, job};

pub async fn an_edited_held_or_dead_job_is_queued_at_the_step_with_the_new_checkpoint(s: &Fixture) {
    for key in ["1", "2", "3"] {
        s.enqueue(job(key), 0).await.expect("enqueue");
    }
    let mut claims = s.claim("w", 3, 1_000, 0).await.expect("claim");
    claims.sort_by(|a, b| a.job.key.cmp(&b.job.key));
    let mapped = json!({ "quote_id": "1", "order": { "facility": "XX9" } });
    for c in &claims {
        s.commit_step(c, "validated", &mapped, "validated", None)
            .await
            .expect("step");
    }
    let hold = Outcome::Hold {
        reason: "unknown facility XX9".into(),
    };
    s.finish(&claims[0], hold, 0).await.expect("hold");
    let dead = Outcome::Dead {
        error: "M3 said no".into(),
    };
    s.finish(&claims[1], dead, 0).await.expect("dead");
    s.begin_intent(&claims[2], "head").await.expect("intent");
    let dead = Outcome::Dead {
        error: "M3 timed out".into(),
    };
    s.finish(&claims[2], dead, 0).await.expect("dead in doubt");

    let fixed = json!({ "quote_id": "1", "order": { "facility": "A01" } });
    let changed = json!([{ "field": "facility", "was": "XX9", "now": "A01" }]);
    let edit = Edit {
        was: &mapped,
        checkpoint: &fixed,
        step: "mapped",
        data: &changed,
    };
    for key in ["1", "2"] {
        let job = s
            .edit_and_release("acme", KIND, key, edit, 5)
            .await
            .expect("edit");
        assert_eq!(
            (job.state, job.step.as_str(), job.attempts, job.hold_reason),
            (JobState::Queued, "mapped", 0, None)
        );
        assert_eq!(job.checkpoint, fixed);
    }
    // Every handle sees the edit; the dead job's letter is spent, so it can't replay on top.
    let other = s.another().await;
    let letters = other.dead_letters(Some("acme")).await.expect("letters");
    let letter = letters.iter().find(|l| l.key == "2").expect("letter of 2");
    assert!(letter.replayed_at.is_some());
    assert!(other.replay(letter.id, 6).await.is_err());
    let trail = other.trail("acme", "2").await.expect("trail");
    let edited = trail
        .iter()
        .find(|e| e.step == "edited")
        .expect("edited entry");
    assert_eq!(edited.data, changed);
    // The edited jobs run from the new checkpoint.
    let again = other.claim("w2", 5, 1_000, 10).await.expect("claim");
    let mut keys: Vec<_> = again.iter().map(|c| c.job.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["1", "2"]);
    assert!(again.iter().all(|c| c.job.checkpoint == fixed));

    // A write begun: refused, nothing stored. Queued/running now, another tenant, none: not found.
    assert!(matches!(
        s.edit_and_release("acme", KIND, "3", edit, 11).await,
        Err(StoreError::Conflict(_))
    ));
    let three = s.job("acme", KIND, "3").await.expect("job").expect("there");
    assert_eq!(
        (three.state, three.checkpoint),
        (JobState::Dead, mapped.clone())
    );
    for (tenant, key) in [("acme", "1"), ("globex", "2"), ("acme", "9")] {
        assert!(
            matches!(
                s.edit_and_release(tenant, KIND, key, edit, 12).await,
                Err(StoreError::NotFound(_))
            ),
            "{tenant}/{key}"
        );
    }
    // An edit made on a checkpoint the job no longer has is refused, not laid on top.
    let held = Outcome::Hold {
        reason: "again".into(),
    };
    let one = again.iter().find(|c| c.job.key == "1").expect("claim 1");
    s.finish(one, held, 13).await.expect("hold again");
    assert!(matches!(
        s.edit_and_release("acme", KIND, "1", edit, 14).await,
        Err(StoreError::Conflict(_))
    ));
}
