//! Reruns: a job that reads the current state of something (the order-status push-back) runs
//! once after every change, however the change finds it: absent, queued, running or finished; a
//! queued job takes a new checkpoint in place of its own until it runs (a full over a queued delta).

use ferry_store::{Ingested, Job, JobState, NewEvent, NewJob, Outcome};
use serde_json::json;

use crate::common::Fixture;

const KIND: &str = "order-status";

/// The order's status job as it stands.
async fn status_job(s: &Fixture) -> Job {
    s.job("acme", KIND, "1000123")
        .await
        .expect("job")
        .expect("some")
}

fn status(order: &str, bod: &str) -> NewJob<'static> {
    NewJob {
        tenant: "acme",
        kind: KIND,
        key: "1000123",
        checkpoint: json!({ "order": order, "bod": bod }),
    }
}

pub async fn a_rerun_queues_once_per_event_and_a_duplicate_event_changes_nothing(s: &Fixture) {
    let bod = json!({"status": "66"});
    let event = |id| NewEvent {
        source: "ion",
        dedup_key: id,
        payload: &bod,
    };
    assert_eq!(
        s.rerun(Some(event("BOD-1")), status("1000123", "BOD-1"), 0)
            .await
            .expect("rerun"),
        Ingested::Queued
    );
    let c = s
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    s.finish(&c, Outcome::Done, 1).await.expect("done");
    // ION sends the same BOD again: stored once, nothing runs.
    assert_eq!(
        s.rerun(Some(event("BOD-1")), status("1000123", "BOD-1-again"), 2)
            .await
            .expect("rerun"),
        Ingested::Duplicate
    );
    let job = status_job(s).await;
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.checkpoint["bod"], "BOD-1");
    assert!(
        s.event("acme", "ion", "BOD-1")
            .await
            .expect("event")
            .is_some()
    );

    // A new BOD for the finished job: queued again from its checkpoint, attempts reset.
    assert_eq!(
        s.rerun(Some(event("BOD-2")), status("1000123", "BOD-2"), 10)
            .await
            .expect("rerun"),
        Ingested::Queued
    );
    let job = status_job(s).await;
    assert_eq!(
        (job.state, job.step.as_str(), job.attempts, job.run_at_ms),
        (JobState::Queued, "received", 0, 10)
    );
    assert_eq!(job.checkpoint["bod"], "BOD-2");
    // A poll without an event while it is queued leaves it as it is.
    s.rerun(None, status("1000123", "poll"), 20)
        .await
        .expect("rerun");
    let job = status_job(s).await;
    assert_eq!(
        (job.run_at_ms, &job.checkpoint["bod"]),
        (10, &json!("BOD-2"))
    );
    assert_eq!(s.jobs(None, None).await.expect("jobs").len(), 1);
}

pub async fn a_rerun_while_the_job_runs_makes_it_run_once_more(s: &Fixture) {
    s.rerun(None, status("1000123", "first"), 0)
        .await
        .expect("rerun");
    let c = s
        .claim("w", 1, 10_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    // A change arrives while the worker reads the old status.
    s.rerun(None, status("1000123", "second"), 5)
        .await
        .expect("rerun");
    assert!(
        s.claim("w2", 1, 10_000, 6).await.expect("claim").is_empty(),
        "not twice at once"
    );
    s.finish(&c, Outcome::Done, 7).await.expect("done");
    let job = status_job(s).await;
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    let again = s
        .claim("w", 1, 10_000, 8)
        .await
        .expect("claim")
        .pop()
        .expect("runs once more");
    assert_eq!(again.job.checkpoint["order"], "1000123");
    // Without another change, this run ends it.
    s.finish(&again, Outcome::Done, 9).await.expect("done");
    let job = status_job(s).await;
    assert_eq!(job.state, JobState::Done);
    assert!(
        s.claim("w", 1, 10_000, 100)
            .await
            .expect("claim")
            .is_empty()
    );
}

pub async fn a_rerun_takes_a_held_or_dead_job_back_into_the_queue(s: &Fixture) {
    s.rerun(None, status("1000123", "a"), 0)
        .await
        .expect("rerun");
    let c = s
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    s.finish(
        &c,
        Outcome::Hold {
            reason: "quote not found".into(),
        },
        0,
    )
    .await
    .expect("hold");
    s.rerun(None, status("1000123", "b"), 5)
        .await
        .expect("rerun");
    let job = status_job(s).await;
    assert_eq!((job.state, job.hold_reason), (JobState::Queued, None));
    let c = s
        .claim("w", 1, 1_000, 5)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    s.finish(
        &c,
        Outcome::Dead {
            error: "fatal".into(),
        },
        5,
    )
    .await
    .expect("dead");
    s.rerun(None, status("1000123", "c"), 9)
        .await
        .expect("rerun");
    let job = status_job(s).await;
    assert_eq!(
        (job.state, &job.checkpoint["bod"]),
        (JobState::Queued, &json!("c"))
    );
}

pub async fn a_queued_job_takes_a_new_checkpoint_only_until_it_runs(s: &Fixture) {
    // No such job: nothing is created.
    assert!(
        !s.replace_queued(status("1000123", "full"), 0)
            .await
            .expect("replace")
    );
    assert!(s.jobs(None, None).await.expect("jobs").is_empty());
    // Queued, waiting out a retry's backoff after one failed attempt.
    s.rerun(None, status("1000123", "delta"), 0)
        .await
        .expect("rerun");
    let c = s
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    let retry = Outcome::Retry {
        at_ms: 500,
        error: "503".into(),
    };
    s.finish(&c, retry, 1).await.expect("retry");
    assert!(
        s.replace_queued(status("1000123", "full"), 10)
            .await
            .expect("replace")
    );
    let job = status_job(s).await;
    assert_eq!(
        (job.state, job.step.as_str(), job.attempts, job.run_at_ms),
        (JobState::Queued, "received", 0, 10)
    );
    assert_eq!(job.checkpoint["bod"], "full");
    // Runs now, not after the old backoff, with the new checkpoint.
    let c = s
        .claim("w", 1, 1_000, 11)
        .await
        .expect("claim")
        .pop()
        .expect("runs at once");
    assert_eq!(c.job.checkpoint["bod"], "full");
    // Running, then done: left as it is.
    for state in ["running", "done"] {
        assert!(
            !s.replace_queued(status("1000123", "later"), 12)
                .await
                .expect("replace"),
            "{state}"
        );
        let job = status_job(s).await;
        assert_eq!(job.checkpoint["bod"], "full", "{state}");
        if state == "running" {
            s.finish(&c, Outcome::Done, 13).await.expect("done");
        }
    }
    assert_eq!(status_job(s).await.state, JobState::Done);
}

/// One tenant's replacement never touches another tenant's queued job of the same kind and
/// key (each tenant's sync runs under the same key, `catalog`, `prices`, `stock`).
pub async fn a_queued_job_is_replaced_for_its_own_tenant_only(s: &Fixture) {
    let globex = |bod: &str| NewJob {
        tenant: "globex",
        ..status("1000123", bod)
    };
    s.rerun(None, status("1000123", "delta"), 0)
        .await
        .expect("acme");
    s.rerun(None, globex("delta"), 0).await.expect("globex");
    assert!(s.replace_queued(globex("full"), 5).await.expect("replace"));
    let theirs = s
        .job("globex", KIND, "1000123")
        .await
        .expect("job")
        .expect("some");
    assert_eq!(
        (theirs.checkpoint["bod"].as_str(), theirs.run_at_ms),
        (Some("full"), 5)
    );
    let ours = status_job(s).await;
    assert_eq!(
        (ours.state, ours.checkpoint["bod"].as_str(), ours.run_at_ms),
        (JobState::Queued, Some("delta"), 0),
        "acme's queued job was changed by globex's replacement"
    );
}
