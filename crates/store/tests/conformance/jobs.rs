//! Jobs: deduplicated intake, fenced claims, intents that survive a crash, holds, dead letters
//! and replay, one writer per order reference, a restarted node's claims.

use ferry_store::{Ingested, JobState, LinkRef, NewJob, Outcome, Release, StoreError};
use serde_json::json;

use crate::common::{Fixture, KIND, job};

pub async fn intake_is_deduplicated_and_a_handled_quote_is_never_queued_again(s: &Fixture) {
    let ev = json!({"status": "Approved"});
    let ingest =
        |id: &'static str, job: Option<NewJob<'static>>| s.ingest("acme", "qw", id, &ev, job, 0);
    assert_eq!(
        ingest("e1", Some(job("7"))).await.expect("ingest"),
        Ingested::Queued
    );
    assert_eq!(
        ingest("e1", Some(job("7"))).await.expect("ingest"),
        Ingested::Duplicate
    );
    // Another delivery for the same quote while it is queued: still one job.
    assert_eq!(
        ingest("e2", Some(job("7"))).await.expect("ingest"),
        Ingested::Queued
    );
    assert_eq!(s.jobs(Some("acme"), None).await.expect("jobs").len(), 1);
    // A status that starts nothing is stored for the record only.
    assert_eq!(ingest("e3", None).await.expect("ingest"), Ingested::Stored);

    let claim = s
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("a job");
    s.finish(&claim, Outcome::Done, 0).await.expect("finish");
    // Re-approval of a transferred quote: recorded, nothing queued.
    assert_eq!(
        ingest("e4", Some(job("7"))).await.expect("ingest"),
        Ingested::AlreadyHandled
    );
    assert!(
        !s.enqueue(job("7"), 0).await.expect("enqueue"),
        "the poller can't queue it either"
    );
    assert!(s.claim("w", 10, 1_000, 0).await.expect("claim").is_empty());
}

pub async fn claims_are_fenced_and_an_expired_lease_passes_the_job_on(s: &Fixture) {
    s.enqueue(job("1"), 0).await.expect("enqueue");
    let first = s
        .claim("a", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    assert_eq!(first.job.attempts, 1);
    assert_eq!(first.job.state, JobState::Running);
    assert!(
        s.claim("b", 1, 1_000, 500).await.expect("claim").is_empty(),
        "leased jobs aren't claimed twice"
    );
    // The lease runs out (worker a is stuck or dead): b takes over.
    let second = s
        .claim("b", 1, 1_000, 1_001)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    assert_eq!(second.job.attempts, 2);
    assert_ne!(first.token, second.token, "each claim has its own token");
    // a wakes up: every write it attempts is refused.
    assert!(matches!(
        s.commit_step(&first, "fetched", &json!({}), "x", None)
            .await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        s.begin_intent(&first, "head").await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        s.extend(&first, 1_000, 1_002).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        s.finish(&first, Outcome::Done, 0).await,
        Err(StoreError::LeaseLost(_))
    ));
    s.commit_step(
        &second,
        "fetched",
        &json!({"quote_id": "1", "quote": "q"}),
        "fetched",
        None,
    )
    .await
    .expect("b commits");
    let stored = s.job("acme", KIND, "1").await.expect("job").expect("some");
    assert_eq!(stored.step, "fetched");
    assert_eq!(stored.checkpoint["quote"], "q");
    // The refused writes left no trace in the trail; b's commit did, with the checkpoint's
    // keys (not its content).
    let trail = s.trail("acme", "1").await.expect("trail");
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].job_id, stored.id);
    assert_eq!(
        trail[0].data,
        json!({"checkpoint_keys": ["quote", "quote_id"]})
    );
}

pub async fn an_intent_without_a_result_survives_retries_and_crashes(s: &Fixture) {
    s.enqueue(job("9"), 0).await.expect("enqueue");
    let c = s
        .claim("a", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    s.begin_intent(&c, "confirm").await.expect("intent");
    // The call timed out: retry later, still in doubt.
    s.finish(
        &c,
        Outcome::Retry {
            at_ms: 100,
            error: "timeout".into(),
        },
        0,
    )
    .await
    .expect("finish");
    let queued = s.job("acme", KIND, "9").await.expect("job").expect("some");
    assert_eq!(queued.state, JobState::Queued);
    assert_eq!(queued.last_error.as_deref(), Some("timeout"));
    assert!(
        s.claim("a", 1, 1_000, 99).await.expect("claim").is_empty(),
        "not before its backoff"
    );
    let c = s
        .claim("a", 1, 1_000, 100)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    assert_eq!(c.job.intent.as_deref(), Some("confirm"));
    // The worker dies here (no finish); the next claim after the lease still sees the intent.
    let c = s
        .claim("b", 1, 1_000, 2_000)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    assert_eq!(c.job.intent.as_deref(), Some("confirm"));
    // Committing the step's result clears it, with the cross-reference in the same write.
    s.commit_step(
        &c,
        "confirmed",
        &json!({"quote_id": "9"}),
        "confirmed",
        Some(LinkRef {
            kind: "order-ref",
            local_id: "Q9",
            remote_id: "9",
        }),
    )
    .await
    .expect("commit");
    let link = s
        .link("acme", "order-ref", "Q9")
        .await
        .expect("link")
        .expect("written with the step");
    assert_eq!(link.remote_id, "9");
    assert_eq!(
        s.job("acme", KIND, "9")
            .await
            .expect("job")
            .expect("some")
            .intent,
        None
    );
    let steps: Vec<String> = s
        .trail("acme", "9")
        .await
        .expect("trail")
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(steps, vec!["confirm", "retry", "confirmed"]);
}

pub async fn holds_release_and_dead_letters_replay_from_the_last_checkpoint(s: &Fixture) {
    s.enqueue(job("h"), 0).await.expect("enqueue");
    s.enqueue(job("d"), 0).await.expect("enqueue");
    let claims = s.claim("w", 2, 1_000, 0).await.expect("claim");
    let (h, d) = (&claims[0], &claims[1]);
    s.commit_step(
        h,
        "mapped",
        &json!({"quote_id": "h", "order": 1}),
        "mapped",
        None,
    )
    .await
    .expect("commit");
    let reason = "lines[2].ITNO: item X does not exist";
    s.finish(
        h,
        Outcome::Hold {
            reason: reason.into(),
        },
        0,
    )
    .await
    .expect("hold");
    s.finish(
        d,
        Outcome::Dead {
            error: "fatal: boom".into(),
        },
        0,
    )
    .await
    .expect("dead");

    let held = s.jobs(None, Some(JobState::Held)).await.expect("held");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].hold_reason.as_deref(), Some(reason));
    assert!(
        s.claim("w", 5, 1_000, 10).await.expect("claim").is_empty(),
        "held and dead jobs wait"
    );

    let released = s
        .release("acme", KIND, "h", Release::AtCheckpoint, 20)
        .await
        .expect("release");
    assert_eq!(
        (released.state, released.step.as_str()),
        (JobState::Queued, "mapped")
    );
    assert_eq!(released.checkpoint["order"], 1);
    assert_eq!(released.hold_reason, None);
    assert!(matches!(
        s.release("acme", KIND, "h", Release::AtCheckpoint, 20)
            .await,
        Err(StoreError::NotFound(_))
    ));

    let letters = s.dead_letters(Some("acme")).await.expect("dlq");
    assert_eq!(letters.len(), 1);
    assert!(s.dead_letters(Some("beta")).await.expect("dlq").is_empty());
    assert_eq!(letters[0].error, "fatal: boom");
    assert_eq!(letters[0].input["quote_id"], "d");
    assert_eq!(letters[0].key, "d");
    let one = s
        .dead_letter(letters[0].id)
        .await
        .expect("dead letter")
        .expect("some");
    assert_eq!(one.job_id, d.job.id);
    assert!(
        s.dead_letter(letters[0].id + 1000)
            .await
            .expect("none")
            .is_none()
    );
    let replayed = s.replay(letters[0].id, 30).await.expect("replay");
    assert_eq!((replayed.state, replayed.attempts), (JobState::Queued, 0));
    assert!(
        matches!(
            s.replay(letters[0].id, 30).await,
            Err(StoreError::NotFound(_))
        ),
        "a dead letter replays once"
    );
    assert!(
        s.dead_letters(None).await.expect("dlq")[0]
            .replayed_at
            .is_some()
    );
    let keys: Vec<String> = s
        .claim("w", 5, 1_000, 40)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.job.key)
        .collect();
    assert_eq!(keys, vec!["h", "d"]);

    let trail: Vec<String> = s
        .trail("acme", "h")
        .await
        .expect("trail")
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(trail, vec!["mapped", "held", "release"]);
    let trail: Vec<String> = s
        .trail("acme", "d")
        .await
        .expect("trail")
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(trail, vec!["dead", "replay"]);
}

pub async fn a_restart_release_starts_from_the_beginning_with_only_the_kept_fields(s: &Fixture) {
    s.enqueue(
        NewJob {
            checkpoint: json!({"quote_id": "r", "event": {"status": "Approved"}}),
            ..job("r")
        },
        0,
    )
    .await
    .expect("enqueue");
    let c = s
        .claim("w", 1, 1_000, 0)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    s.commit_step(
        &c,
        "mapped",
        &json!({"quote_id": "r", "event": {"status": "Approved"}, "order": {"lines": 3}}),
        "mapped",
        None,
    )
    .await
    .expect("commit");
    s.begin_intent(&c, "head").await.expect("intent");
    s.finish(
        &c,
        Outcome::Hold {
            reason: "customer unknown".into(),
        },
        0,
    )
    .await
    .expect("hold");
    let keep = ["quote_id", "event", "missing"];
    let job = s
        .release("acme", KIND, "r", Release::Restart { keep: &keep }, 10)
        .await
        .expect("release");
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.step, "received");
    assert_eq!(job.intent, None);
    assert_eq!(job.attempts, 0);
    assert_eq!(
        job.checkpoint,
        json!({"quote_id": "r", "event": {"status": "Approved"}, "missing": null})
    );
    assert_eq!(
        s.job("acme", KIND, "r")
            .await
            .expect("job")
            .expect("some")
            .checkpoint,
        job.checkpoint,
        "stored, not just returned"
    );
}

pub async fn one_job_at_a_time_holds_an_order_reference(s: &Fixture) {
    s.enqueue(job("Q1001"), 0).await.expect("enqueue");
    s.enqueue(job("Q1001-01"), 0).await.expect("enqueue");
    let claims = s.claim("node-a-0", 2, 10_000, 0).await.expect("claim");
    assert_eq!(claims.len(), 2);
    let (first, second) = (&claims[0], &claims[1]);
    assert!(s.lock_reference(first, "Q1001").await.expect("lock"));
    assert!(
        s.lock_reference(first, "Q1001").await.expect("again"),
        "re-entrant"
    );
    assert!(
        !s.lock_reference(second, "Q1001").await.expect("lock"),
        "the revision must wait while the quote's job runs"
    );
    assert!(
        s.lock_reference(second, "Q2002").await.expect("lock"),
        "other references are free"
    );

    // Waiting is no failed attempt: the job goes back to the queue with its count unchanged.
    let attempts = second.job.attempts;
    s.finish(
        second,
        Outcome::Wait {
            at_ms: 5,
            reason: "busy".into(),
        },
        0,
    )
    .await
    .expect("wait");
    let waiting = s
        .job("acme", KIND, "Q1001-01")
        .await
        .expect("job")
        .expect("some");
    assert_eq!(waiting.state, JobState::Queued);
    assert_eq!(waiting.attempts, attempts - 1);
    assert_eq!(waiting.run_at_ms, 5);

    // Once the holder is done (or held, or dead), the reference passes on.
    s.finish(first, Outcome::Done, 0).await.expect("done");
    let again = s
        .claim("node-a-0", 1, 10_000, 10)
        .await
        .expect("claim")
        .pop()
        .expect("revision");
    assert!(s.lock_reference(&again, "Q1001").await.expect("lock"));
}

pub async fn a_restarted_node_takes_its_own_claims_back_at_once_and_no_one_elses(s: &Fixture) {
    for k in ["1", "2", "3"] {
        s.enqueue(job(k), 0).await.expect("enqueue");
    }
    let mine = s.claim("node-a-0", 2, 60_000, 0).await.expect("claim");
    let theirs = s.claim("node-ab-0", 1, 60_000, 0).await.expect("claim");
    assert_eq!((mine.len(), theirs.len()), (2, 1));
    // A minute's lease: nothing is claimable a second later...
    assert!(
        s.claim("node-a-1", 3, 60_000, 1_000)
            .await
            .expect("claim")
            .is_empty()
    );
    // ...until node-a, restarted, releases what it held before (not node-ab's).
    assert_eq!(
        s.release_claims_of("node-a", 1_000).await.expect("release"),
        2
    );
    let back = s.claim("node-a-1", 3, 60_000, 1_001).await.expect("claim");
    let mut keys: Vec<_> = back.iter().map(|c| c.job.key.clone()).collect();
    keys.sort();
    let mut expected: Vec<_> = mine.iter().map(|c| c.job.key.clone()).collect();
    expected.sort();
    assert_eq!(keys, expected);
    // The old claims are fenced off: the dead process's writes would be refused.
    assert!(matches!(
        s.finish(&mine[0], Outcome::Done, 1_002).await,
        Err(StoreError::LeaseLost(_))
    ));
    // node-ab's claim still holds.
    s.finish(&theirs[0], Outcome::Done, 1_002)
        .await
        .expect("node-ab finishes");
}

pub async fn another_tenants_job_never_waits_on_this_tenants_reference(s: &Fixture) {
    s.enqueue(job("Q1001"), 0).await.expect("enqueue");
    s.enqueue(
        NewJob {
            tenant: "beta",
            ..job("Q1001")
        },
        0,
    )
    .await
    .expect("enqueue");
    let claims = s.claim("node-a-0", 2, 10_000, 0).await.expect("claim");
    assert_eq!(claims.len(), 2);
    assert_ne!(claims[0].job.tenant, claims[1].job.tenant);
    // The same reference in two tenants is two references: both take it at once.
    assert!(s.lock_reference(&claims[0], "Q1001").await.expect("lock"));
    assert!(s.lock_reference(&claims[1], "Q1001").await.expect("lock"));
    assert_eq!(s.jobs(Some("beta"), None).await.expect("jobs").len(), 1);
}

pub async fn a_job_written_by_one_handle_is_claimed_once_across_handles(s: &Fixture) {
    let other = s.another().await;
    s.enqueue(job("x"), 0).await.expect("enqueue");
    assert!(
        !other.enqueue(job("x"), 0).await.expect("enqueue"),
        "one job per key, whoever queues it"
    );
    let (a, b) = tokio::join!(
        s.claim("node-a-0", 5, 10_000, 0),
        other.claim("node-b-0", 5, 10_000, 0)
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    assert_eq!(a.len() + b.len(), 1, "exactly one node gets the job");
    let winner = a.into_iter().chain(b).next().expect("a claim");
    other
        .finish(&winner, Outcome::Done, 1)
        .await
        .expect("the claim's token is valid through any handle");
    let done = s.job("acme", KIND, "x").await.expect("job").expect("some");
    assert_eq!(done.state, JobState::Done);
}

pub async fn audit_outside_a_step_joins_the_keys_trail(s: &Fixture) {
    s.enqueue(job("a1"), 0).await.expect("enqueue");
    let id = s
        .job("acme", KIND, "a1")
        .await
        .expect("job")
        .expect("some")
        .id;
    s.audit(
        "acme",
        KIND,
        "a1",
        "status",
        "ERP status 22 → 66",
        &json!({"status": "66"}),
    )
    .await
    .expect("audit");
    // A key without a job (a status push for an order made before jobs existed).
    s.audit("acme", KIND, "old", "status", "pushed", &json!(null))
        .await
        .expect("audit");
    // Another tenant's entry about the same key is not in this trail.
    s.audit("beta", KIND, "a1", "status", "theirs", &json!(null))
        .await
        .expect("audit");
    let trail = s.trail("acme", "a1").await.expect("trail");
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (
            trail[0].job_id,
            trail[0].step.as_str(),
            trail[0].message.as_str()
        ),
        (id, "status", "ERP status 22 → 66")
    );
    assert_eq!(trail[0].data["status"], "66");
    assert_eq!(s.trail("acme", "old").await.expect("trail")[0].job_id, 0);
}

pub async fn job_counts_are_per_kind_and_state_of_one_tenant_and_filter_by_last_change(
    s: &Fixture,
) {
    for key in ["1", "2", "3"] {
        s.enqueue(job(key), 0).await.expect("enqueue");
    }
    let other = NewJob {
        tenant: "globex",
        kind: KIND,
        key: "9",
        checkpoint: json!({}),
    };
    s.enqueue(other, 0).await.expect("enqueue");
    let sync = NewJob {
        tenant: "acme",
        kind: "catalog-sync",
        key: "catalog",
        checkpoint: json!({}),
    };
    s.enqueue(sync, 0).await.expect("enqueue");
    // Claim acme's quote jobs 1 and 2 (oldest first): one ends done, one dead.
    let mut claims = Vec::new();
    while claims.len() < 2 {
        let claim = s
            .claim("w", 1, 60_000, 0)
            .await
            .expect("claim")
            .pop()
            .expect("a job");
        if claim.job.tenant == "acme" && claim.job.kind == KIND {
            claims.push(claim);
        } else {
            s.finish(
                &claim,
                Outcome::Wait {
                    at_ms: 1_000_000,
                    reason: "later".into(),
                },
                0,
            )
            .await
            .expect("wait");
        }
    }
    s.finish(&claims[0], Outcome::Done, 0).await.expect("done");
    s.finish(
        &claims[1],
        Outcome::Dead {
            error: "refused".into(),
        },
        0,
    )
    .await
    .expect("dead");

    let counts = s.job_counts("acme", None).await.expect("counts");
    let of = |kind: &str, state: JobState| {
        counts
            .iter()
            .filter(|c| c.kind == kind && c.state == state)
            .map(|c| c.count)
            .sum::<i64>()
    };
    assert_eq!(of(KIND, JobState::Done), 1, "{counts:?}");
    assert_eq!(of(KIND, JobState::Dead), 1, "{counts:?}");
    assert_eq!(of(KIND, JobState::Queued), 1, "{counts:?}");
    assert_eq!(of("catalog-sync", JobState::Queued), 1, "{counts:?}");
    assert_eq!(
        counts.iter().map(|c| c.count).sum::<i64>(),
        4,
        "globex's job is not acme's: {counts:?}"
    );
    let past = s
        .job_counts("acme", Some("2000-01-01T00:00:00.000Z"))
        .await
        .expect("counts");
    assert_eq!(past, counts, "every job changed after 2000");
    let future = s
        .job_counts("acme", Some("2999-01-01T00:00:00.000Z"))
        .await
        .expect("counts");
    assert!(future.is_empty(), "none changed after 2999: {future:?}");
}
