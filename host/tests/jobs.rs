//! The durable job store: deduplicated intake, fenced claims, intents that survive a crash,
//! holds, dead letters and replay.

use ferry::store::{Ingested, JobState, JobStore, NewJob, Outcome, SqliteStore, StoreError};
use serde_json::json;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tmp");
    let s = SqliteStore::open(&dir.path().join("ferry.db")).expect("store");
    (dir, s)
}

fn job<'a>(key: &'a str) -> NewJob<'a> {
    NewJob {
        tenant: "acme",
        kind: "quote-to-order",
        key,
        checkpoint: json!({ "quote_id": key }),
    }
}

#[test]
fn intake_is_deduplicated_and_a_handled_quote_is_never_queued_again() {
    let (_d, s) = store();
    let ev = json!({"status": "Approved"});
    assert_eq!(
        s.ingest("acme", "qw", "e1", &ev, Some(job("7")), 0)
            .expect("ingest"),
        Ingested::Queued
    );
    assert_eq!(
        s.ingest("acme", "qw", "e1", &ev, Some(job("7")), 0)
            .expect("ingest"),
        Ingested::Duplicate
    );
    // Another delivery for the same quote while it is queued: still one job.
    assert_eq!(
        s.ingest("acme", "qw", "e2", &ev, Some(job("7")), 0)
            .expect("ingest"),
        Ingested::Queued
    );
    assert_eq!(s.jobs(Some("acme"), None).expect("jobs").len(), 1);
    // A status that starts nothing is stored for the record only.
    assert_eq!(
        s.ingest("acme", "qw", "e3", &ev, None, 0).expect("ingest"),
        Ingested::Stored
    );

    let claim = s
        .claim("w", 1, 1_000, 0)
        .expect("claim")
        .pop()
        .expect("a job");
    s.finish(&claim, Outcome::Done, 0).expect("finish");
    // Re-approval of a transferred quote: recorded, nothing queued.
    assert_eq!(
        s.ingest("acme", "qw", "e4", &ev, Some(job("7")), 0)
            .expect("ingest"),
        Ingested::AlreadyHandled
    );
    assert!(
        !s.enqueue(job("7"), 0).expect("enqueue"),
        "the poller can't queue it either"
    );
    assert!(s.claim("w", 10, 1_000, 0).expect("claim").is_empty());
}

#[test]
fn claims_are_fenced_and_an_expired_lease_passes_the_job_on() {
    let (_d, s) = store();
    s.enqueue(job("1"), 0).expect("enqueue");
    let first = s
        .claim("a", 1, 1_000, 0)
        .expect("claim")
        .pop()
        .expect("job");
    assert!(
        s.claim("b", 1, 1_000, 500).expect("claim").is_empty(),
        "leased jobs aren't claimed twice"
    );
    // The lease runs out (worker a is stuck or dead): b takes over.
    let second = s
        .claim("b", 1, 1_000, 1_001)
        .expect("claim")
        .pop()
        .expect("job");
    assert_eq!(second.job.attempts, 2);
    // a wakes up: every write it attempts is refused.
    assert!(matches!(
        s.commit_step(&first, "fetched", &json!({}), "x", None),
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        s.begin_intent(&first, "head"),
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        s.finish(&first, Outcome::Done, 0),
        Err(StoreError::LeaseLost(_))
    ));
    s.commit_step(
        &second,
        "fetched",
        &json!({"quote_id": "1", "quote": "q"}),
        "fetched",
        None,
    )
    .expect("b commits");
    assert_eq!(
        s.job("acme", "quote-to-order", "1")
            .expect("job")
            .expect("some")
            .step,
        "fetched"
    );
}

#[test]
fn an_intent_without_a_result_survives_retries_and_crashes() {
    let (_d, s) = store();
    s.enqueue(job("9"), 0).expect("enqueue");
    let c = s
        .claim("a", 1, 1_000, 0)
        .expect("claim")
        .pop()
        .expect("job");
    s.begin_intent(&c, "confirm").expect("intent");
    // The call timed out: retry later, still in doubt.
    s.finish(
        &c,
        Outcome::Retry {
            at_ms: 100,
            error: "timeout".into(),
        },
        0,
    )
    .expect("finish");
    let c = s
        .claim("a", 1, 1_000, 100)
        .expect("claim")
        .pop()
        .expect("job");
    assert_eq!(c.job.intent.as_deref(), Some("confirm"));
    // The worker dies here (no finish); the next claim after the lease still sees the intent.
    let c = s
        .claim("b", 1, 1_000, 2_000)
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
        Some(("order-ref", "Q9", "9")),
    )
    .expect("commit");
    assert_eq!(
        s.xref_get("acme", "order-ref", "Q9")
            .expect("xref")
            .as_deref(),
        Some("9")
    );
    assert_eq!(
        s.job("acme", "quote-to-order", "9")
            .expect("job")
            .expect("some")
            .intent,
        None
    );
}

#[test]
fn holds_release_and_dead_letters_replay_from_the_last_checkpoint() {
    let (_d, s) = store();
    s.enqueue(job("h"), 0).expect("enqueue");
    s.enqueue(job("d"), 0).expect("enqueue");
    let claims = s.claim("w", 2, 1_000, 0).expect("claim");
    let (h, d) = (&claims[0], &claims[1]);
    s.commit_step(
        h,
        "mapped",
        &json!({"quote_id": "h", "order": 1}),
        "mapped",
        None,
    )
    .expect("commit");
    s.finish(
        h,
        Outcome::Hold {
            reason: "lines[2].ITNO: item X does not exist".into(),
        },
        0,
    )
    .expect("hold");
    s.finish(
        d,
        Outcome::Dead {
            error: "fatal: boom".into(),
        },
        0,
    )
    .expect("dead");

    let held = s.jobs(None, Some(JobState::Held)).expect("held");
    assert_eq!(
        held[0].hold_reason.as_deref(),
        Some("lines[2].ITNO: item X does not exist")
    );
    assert!(
        s.claim("w", 5, 1_000, 10).expect("claim").is_empty(),
        "held and dead jobs wait"
    );

    let released = s
        .release("acme", "quote-to-order", "h", false, 20)
        .expect("release");
    assert_eq!(
        (released.state, released.step.as_str()),
        (JobState::Queued, "mapped")
    );
    assert!(
        s.release("acme", "quote-to-order", "h", false, 20).is_err(),
        "not held any more"
    );

    let letters = s.dead_letters(Some("acme")).expect("dlq");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error, "fatal: boom");
    assert_eq!(letters[0].input["quote_id"], "d");
    let replayed = s.replay(letters[0].id, 30).expect("replay");
    assert_eq!(replayed.state, JobState::Queued);
    assert!(
        s.replay(letters[0].id, 30).is_err(),
        "a dead letter replays once"
    );
    let keys: Vec<String> = s
        .claim("w", 5, 1_000, 40)
        .expect("claim")
        .into_iter()
        .map(|c| c.job.key)
        .collect();
    assert_eq!(keys, vec!["h", "d"]);

    let trail: Vec<String> = s
        .trail("acme", "h")
        .expect("trail")
        .into_iter()
        .map(|e| e.step)
        .collect();
    assert_eq!(trail, vec!["mapped", "held", "release"]);
}

/// 08:00 on some day, in ms: the tests step the clock an hour back from here.
const T: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

#[test]
fn a_clock_stepped_back_delays_a_retry_by_its_backoff_not_by_the_step() {
    let (_d, s) = store();
    s.enqueue(job("r"), T).expect("enqueue");
    let c = s
        .claim("w", 1, 60_000, T)
        .expect("claim")
        .pop()
        .expect("job");
    s.finish(
        &c,
        Outcome::Retry {
            at_ms: T + 1_000,
            error: "transient: M3 busy".into(),
        },
        T,
    )
    .expect("retry");
    // NTP steps the clock back an hour. The retry keeps its 1 s backoff from the first look
    // after the step; it is not stranded until the old wall time comes round again.
    let back = T - HOUR;
    assert!(s.claim("w", 1, 60_000, back).expect("claim").is_empty());
    let again = s
        .claim("w", 1, 60_000, back + 1_000)
        .expect("claim")
        .pop()
        .expect("the retry runs 1 s after the step, not an hour later");
    assert_eq!(again.job.attempts, 2);
}

#[test]
fn a_clock_stepped_back_keeps_a_dead_workers_lease_for_one_lease_only() {
    let (_d, s) = store();
    s.enqueue(job("l"), T).expect("enqueue");
    let first = s
        .claim("a", 1, 60_000, T)
        .expect("claim")
        .pop()
        .expect("job");
    // Worker a dies, and the clock steps back an hour.
    let back = T - HOUR;
    assert!(
        s.claim("b", 1, 60_000, back).expect("claim").is_empty(),
        "the lease still holds for its length"
    );
    assert!(
        s.claim("b", 1, 60_000, back + 59_000)
            .expect("claim")
            .is_empty()
    );
    let second = s
        .claim("b", 1, 60_000, back + 60_001)
        .expect("claim")
        .pop()
        .expect("b takes over after one lease, not after an hour and a lease");
    assert_eq!(second.job.attempts, 2);
    assert!(matches!(
        s.finish(&first, Outcome::Done, back + 60_002),
        Err(StoreError::LeaseLost(_))
    ));
}

#[test]
fn a_heartbeat_after_a_clock_step_back_keeps_the_lease_with_its_holder() {
    let (_d, s) = store();
    s.enqueue(job("k"), T).expect("enqueue");
    let held = s
        .claim("a", 1, 60_000, T)
        .expect("claim")
        .pop()
        .expect("job");
    let back = T - HOUR;
    // a is alive: it renews every third of the lease on its own (monotonic) timer.
    for beat in 1..=6 {
        s.extend(&held, 60_000, back + beat * 20_000)
            .expect("renewed");
        assert!(
            s.claim("b", 1, 60_000, back + beat * 20_000 + 1)
                .expect("claim")
                .is_empty(),
            "a live, renewed lease is never taken"
        );
    }
    s.finish(&held, Outcome::Done, back + 130_000)
        .expect("a finishes");
}

#[test]
fn the_store_clock_starts_at_wall_time_and_never_runs_backwards() {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    let first = ferry::store::clock_ms();
    assert!((first - wall).abs() < 60_000, "{first} vs wall {wall}");
    let mut last = first;
    for _ in 0..10_000 {
        let now = ferry::store::clock_ms();
        assert!(now >= last);
        last = now;
    }
}

#[test]
fn one_job_at_a_time_holds_an_order_reference() {
    let (_d, s) = store();
    s.enqueue(job("Q1001"), 0).expect("enqueue");
    s.enqueue(job("Q1001-01"), 0).expect("enqueue");
    let claims = s.claim("node-a-0", 2, 10_000, 0).expect("claim");
    assert_eq!(claims.len(), 2);
    let (first, second) = (&claims[0], &claims[1]);
    assert!(s.lock_reference(first, "Q1001").expect("lock"));
    assert!(
        s.lock_reference(first, "Q1001").expect("again"),
        "re-entrant"
    );
    assert!(
        !s.lock_reference(second, "Q1001").expect("lock"),
        "the revision must wait while the quote's job runs"
    );
    assert!(
        s.lock_reference(second, "Q2002").expect("lock"),
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
    .expect("wait");
    let waiting = s
        .job("acme", "quote-to-order", "Q1001-01")
        .expect("job")
        .expect("some");
    assert_eq!(waiting.state, JobState::Queued);
    assert_eq!(waiting.attempts, attempts - 1);

    // Once the holder is done (or held, or dead), the reference passes on.
    s.finish(first, Outcome::Done, 0).expect("done");
    let again = s
        .claim("node-a-0", 1, 10_000, 10)
        .expect("claim")
        .pop()
        .expect("revision");
    assert!(s.lock_reference(&again, "Q1001").expect("lock"));
}

#[test]
fn a_restarted_node_takes_its_own_claims_back_at_once_and_no_one_elses() {
    let (_d, s) = store();
    for k in ["1", "2", "3"] {
        s.enqueue(job(k), 0).expect("enqueue");
    }
    let mine = s.claim("node-a-0", 2, 60_000, 0).expect("claim");
    let theirs = s.claim("node-ab-0", 1, 60_000, 0).expect("claim");
    assert_eq!((mine.len(), theirs.len()), (2, 1));
    // A minute's lease: nothing is claimable a second later...
    assert!(
        s.claim("node-a-1", 3, 60_000, 1_000)
            .expect("claim")
            .is_empty()
    );
    // ...until node-a, restarted, releases what it held before (not node-ab's).
    assert_eq!(s.release_claims_of("node-a", 1_000).expect("release"), 2);
    let back = s.claim("node-a-1", 3, 60_000, 1_001).expect("claim");
    let mut keys: Vec<_> = back.iter().map(|c| c.job.key.clone()).collect();
    keys.sort();
    let mut expected: Vec<_> = mine.iter().map(|c| c.job.key.clone()).collect();
    expected.sort();
    assert_eq!(keys, expected);
    // The old claims are fenced off: the dead process's writes would be refused.
    assert!(matches!(
        s.finish(&mine[0], Outcome::Done, 1_002),
        Err(StoreError::LeaseLost(_))
    ));
}

#[test]
fn another_tenants_job_never_waits_on_this_tenants_reference() {
    let (_d, s) = store();
    s.enqueue(job("Q1001"), 0).expect("enqueue");
    s.enqueue(
        NewJob {
            tenant: "beta",
            ..job("Q1001")
        },
        0,
    )
    .expect("enqueue");
    let claims = s.claim("node-a-0", 2, 10_000, 0).expect("claim");
    assert_eq!(claims.len(), 2);
    assert_ne!(claims[0].job.tenant, claims[1].job.tenant);
    // The same reference in two tenants is two references: both take it at once.
    assert!(s.lock_reference(&claims[0], "Q1001").expect("lock"));
    assert!(s.lock_reference(&claims[1], "Q1001").expect("lock"));
}
