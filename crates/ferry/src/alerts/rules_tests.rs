//! Each rule on the in-memory store, driven through the same store calls the flows make;
//! ages are tested by evaluating at a later `now_ms`, never by waiting.

use std::time::Duration;

use ferry_store::{Jobs, MemoryStore, NewJob, Outcome, Store, SyncState, clock_ms};
use serde_json::json;

use super::{evaluate, rfc3339};
use crate::config::alerts::{AlertRule, Span};
use crate::flows::{catalog, quote_to_order};

const T: &str = "acme";
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
/// Rows carry the wall clock's time and rules compare it with the store's clock, which may
/// differ by milliseconds: ages are read half a minute past the figure they should show.
const SLACK: i64 = 30_000;

fn span(secs: u64) -> Span {
    Span(Duration::from_secs(secs))
}

async fn queue(store: &dyn Store, kind: &str, key: &str) {
    let job = NewJob {
        tenant: T,
        kind,
        key,
        checkpoint: json!({ "quote_id": key }),
    };
    assert!(store.enqueue(job, clock_ms()).await.expect("enqueue"));
}

/// Claims the one queued job `key` and ends it with `outcome`.
async fn end(store: &dyn Store, key: &str, outcome: Outcome) {
    let claims = store
        .claim("w", 100, 60_000, clock_ms())
        .await
        .expect("claim");
    for claim in claims {
        let out = if claim.job.key == key {
            outcome.clone()
        } else {
            // Back in the queue, due at once, its attempt given back.
            Outcome::Wait {
                at_ms: clock_ms(),
                reason: "not this one".into(),
            }
        };
        store.finish(&claim, out, clock_ms()).await.expect("finish");
    }
}

fn dead(error: &str) -> Outcome {
    Outcome::Dead {
        error: error.into(),
    }
}

#[tokio::test]
async fn dead_letters_hold_above_their_threshold_and_name_the_jobs() {
    let store = MemoryStore::new();
    queue(&store, quote_to_order::KIND, "17").await;
    queue(&store, quote_to_order::KIND, "18").await;
    end(&store, "17", dead("M3 refused the order")).await;
    let now = clock_ms();
    let rule = AlertRule::DeadLetters {
        name: None,
        above: 0,
    };
    let r = evaluate(&store, T, &rule, now, now)
        .await
        .expect("evaluate");
    assert!(r.holds);
    assert_eq!(r.summary, "1 dead letter open (fires above 0)");
    assert_eq!(r.examples, ["quote-to-order 17: M3 refused the order"]);

    let lenient = AlertRule::DeadLetters {
        name: None,
        above: 1,
    };
    assert!(
        !evaluate(&store, T, &lenient, now, now)
            .await
            .expect("evaluate")
            .holds
    );
    let other = evaluate(&store, "globex", &rule, now, now)
        .await
        .expect("evaluate");
    assert!(!other.holds, "another tenant's dead letter is not globex's");

    // Retried: the dead letter is no longer open.
    let letter = store.dead_letters(Some(T)).await.expect("letters")[0].id;
    store.replay(letter, clock_ms()).await.expect("replay");
    let r = evaluate(&store, T, &rule, now, now)
        .await
        .expect("evaluate");
    assert!(!r.holds);
    assert_eq!(r.summary, "0 dead letters open (fires above 0)");
    assert!(r.examples.is_empty());
}

#[tokio::test]
async fn the_failure_rate_counts_jobs_that_ended_in_the_window() {
    let store = MemoryStore::new();
    for key in ["1", "2", "3", "4", "5"] {
        queue(&store, quote_to_order::KIND, key).await;
    }
    queue(&store, catalog::KIND, catalog::KEY).await;
    for key in ["1", "2", "3", "4"] {
        end(&store, key, Outcome::Done).await;
    }
    end(&store, "5", dead("gave up")).await;
    end(&store, catalog::KEY, dead("ERP down")).await;
    let now = clock_ms();
    let rule = |percent, min_runs, flow: Option<&str>| AlertRule::FailureRate {
        name: None,
        window: span(3600),
        percent,
        min_runs,
        flow: flow.map(str::to_string),
    };
    let quotes = Some(quote_to_order::KIND);
    // 1 of 5 quote jobs: 20%.
    let r = evaluate(&store, T, &rule(20, 5, quotes), now, now)
        .await
        .expect("evaluate");
    assert!(r.holds, "{}", r.summary);
    assert_eq!(
        r.summary,
        "1 of 5 quote-to-order jobs that ended in the last 1h went dead (20%; fires at 20% once 5 ended)"
    );
    assert!(
        !evaluate(&store, T, &rule(25, 5, quotes), now, now)
            .await
            .expect("e")
            .holds
    );
    assert!(
        !evaluate(&store, T, &rule(20, 6, quotes), now, now)
            .await
            .expect("e")
            .holds,
        "fewer runs than min_runs say nothing"
    );
    // Every kind: 2 of 6 (33%).
    let all = evaluate(&store, T, &rule(30, 5, None), now, now)
        .await
        .expect("e");
    assert!(all.holds, "{}", all.summary);
    assert!(all.summary.starts_with("2 of 6 jobs"), "{}", all.summary);
    // Two hours on, none of them ended within the last hour.
    let later = evaluate(&store, T, &rule(1, 1, None), now + 2 * HOUR, now)
        .await
        .expect("e");
    assert!(!later.holds);
    assert!(
        later.summary.starts_with("0 of 0 jobs"),
        "{}",
        later.summary
    );
}

#[tokio::test]
async fn a_hold_fires_once_it_is_older_than_the_limit() {
    let store = MemoryStore::new();
    queue(&store, quote_to_order::KIND, "21").await;
    end(
        &store,
        "21",
        Outcome::Hold {
            reason: "unknown item NOSUCH".into(),
        },
    )
    .await;
    let rule = AlertRule::HoldAge {
        name: None,
        older_than: span(2 * 3600),
    };
    let now = clock_ms();
    let fresh = evaluate(&store, T, &rule, now, now).await.expect("e");
    assert!(!fresh.holds);
    assert_eq!(fresh.summary, "no job held longer than 2h (1 held)");
    let r = evaluate(&store, T, &rule, now + 3 * HOUR + SLACK, now)
        .await
        .expect("e");
    assert!(r.holds);
    assert!(
        r.summary
            .starts_with("1 of 1 held job held longer than 2h (oldest: 3h 0m)"),
        "{}",
        r.summary
    );
    assert_eq!(r.examples.len(), 1);
    assert!(
        r.examples[0].starts_with("quote-to-order 21 held 3h 0m: unknown item NOSUCH"),
        "{:?}",
        r.examples
    );
}

#[tokio::test]
async fn an_approved_quote_without_an_order_fires_after_the_limit() {
    let store = MemoryStore::new();
    queue(&store, quote_to_order::KIND, "31").await;
    queue(&store, quote_to_order::KIND, "32").await;
    queue(&store, catalog::KIND, catalog::KEY).await;
    end(&store, "32", Outcome::Done).await;
    let rule = AlertRule::QuoteNotOrdered {
        name: None,
        after: span(30 * 60),
    };
    let now = clock_ms();
    assert!(!evaluate(&store, T, &rule, now, now).await.expect("e").holds);
    let r = evaluate(&store, T, &rule, now + 31 * MIN + SLACK, now)
        .await
        .expect("e");
    assert!(r.holds);
    assert_eq!(
        r.summary,
        "1 approved quote without an ERP order 30m after arrival"
    );
    assert_eq!(
        r.examples.len(),
        1,
        "the done quote and the catalog job are not counted"
    );
    assert!(
        r.examples[0].starts_with("quote 31 arrived 31m"),
        "{:?}",
        r.examples
    );

    // The order is made: nothing is missing any more.
    end(&store, "31", Outcome::Done).await;
    assert!(
        !evaluate(&store, T, &rule, now + 31 * MIN, now)
            .await
            .expect("e")
            .holds
    );
}

#[tokio::test]
async fn no_catalog_sync_fires_from_the_start_and_clears_when_one_finishes() {
    let store = MemoryStore::new();
    let rule = AlertRule::CatalogNotSynced {
        name: None,
        after: span(3600),
    };
    let started = clock_ms();
    assert!(
        !evaluate(&store, T, &rule, started + 30 * MIN, started)
            .await
            .expect("e")
            .holds
    );
    let r = evaluate(&store, T, &rule, started + 2 * HOUR, started)
        .await
        .expect("e");
    assert!(r.holds);
    assert_eq!(
        r.summary,
        "catalog sync: none finished since ferry started 2h 0m ago (fires when none finished in 1h)"
    );
    // A run finished (the flow moves the delta cursor to the run's start).
    store
        .set_cursor(T, catalog::CURSOR, &rfc3339(started + 90 * MIN))
        .await
        .expect("cursor");
    let r = evaluate(&store, T, &rule, started + 2 * HOUR, started)
        .await
        .expect("e");
    assert!(!r.holds, "{}", r.summary);
    assert!(
        r.summary.contains("the last finished 30m 0s ago"),
        "{}",
        r.summary
    );
}
