//! Wall-clock steps: a backoff or a lease set before the clock stepped back keeps its length
//! from the first look after the step, not until the old wall time comes round again.

use ferry_store::{Outcome, StoreError};

use crate::common::{Fixture, job};

/// 08:00 on some day, in ms: the tests step the clock an hour back from here.
const T: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

pub async fn a_clock_stepped_back_delays_a_retry_by_its_backoff_not_by_the_step(s: &Fixture) {
    s.enqueue(job("r"), T).await.expect("enqueue");
    let c = s
        .claim("w", 1, 60_000, T)
        .await
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
    .await
    .expect("retry");
    // NTP steps the clock back an hour. The retry keeps its 1 s backoff from the first look
    // after the step; it is not stranded until the old wall time comes round again.
    let back = T - HOUR;
    assert!(
        s.claim("w", 1, 60_000, back)
            .await
            .expect("claim")
            .is_empty()
    );
    let again = s
        .claim("w", 1, 60_000, back + 1_000)
        .await
        .expect("claim")
        .pop()
        .expect("the retry runs 1 s after the step, not an hour later");
    assert_eq!(again.job.attempts, 2);
}

pub async fn a_clock_stepped_back_keeps_a_dead_workers_lease_for_one_lease_only(s: &Fixture) {
    s.enqueue(job("l"), T).await.expect("enqueue");
    let first = s
        .claim("a", 1, 60_000, T)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    // Worker a dies, and the clock steps back an hour.
    let back = T - HOUR;
    assert!(
        s.claim("b", 1, 60_000, back)
            .await
            .expect("claim")
            .is_empty(),
        "the lease still holds for its length"
    );
    assert!(
        s.claim("b", 1, 60_000, back + 59_000)
            .await
            .expect("claim")
            .is_empty()
    );
    let second = s
        .claim("b", 1, 60_000, back + 60_001)
        .await
        .expect("claim")
        .pop()
        .expect("b takes over after one lease, not after an hour and a lease");
    assert_eq!(second.job.attempts, 2);
    assert!(matches!(
        s.finish(&first, Outcome::Done, back + 60_002).await,
        Err(StoreError::LeaseLost(_))
    ));
}

pub async fn a_heartbeat_after_a_clock_step_back_keeps_the_lease_with_its_holder(s: &Fixture) {
    s.enqueue(job("k"), T).await.expect("enqueue");
    let held = s
        .claim("a", 1, 60_000, T)
        .await
        .expect("claim")
        .pop()
        .expect("job");
    let back = T - HOUR;
    // a is alive: it renews every third of the lease on its own (monotonic) timer.
    for beat in 1..=6 {
        s.extend(&held, 60_000, back + beat * 20_000)
            .await
            .expect("renewed");
        assert!(
            s.claim("b", 1, 60_000, back + beat * 20_000 + 1)
                .await
                .expect("claim")
                .is_empty(),
            "a live, renewed lease is never taken"
        );
    }
    s.finish(&held, Outcome::Done, back + 130_000)
        .await
        .expect("a finishes");
}
