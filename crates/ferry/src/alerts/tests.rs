//! The evaluator's promise: an alert is sent once when its rule starts holding, not again
//! while it holds, once more ("resolved") when it clears, a failed delivery is tried again
//! next tick, and what was sent survives a restart. Channels here record what they are given
//! (the rules and the store are the real ones).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_store::{Jobs, MemoryStore, NewJob, Outcome, clock_ms};
use serde_json::json;

use super::deliver::Deliver;
use super::{Alert, Evaluator, Sent};
use crate::config::alerts::AlertRule;

#[derive(Default)]
struct Recorder {
    id: &'static str,
    failing: AtomicBool,
    got: Mutex<Vec<String>>,
}

impl Deliver for Recorder {
    fn id(&self) -> &str {
        self.id
    }

    async fn send(&self, alert: &Alert) -> Result<(), String> {
        if self.failing.load(Ordering::SeqCst) {
            return Err("connection refused".into());
        }
        self.got.lock().expect("lock").push(alert.text());
        Ok(())
    }
}

impl Recorder {
    fn new(id: &'static str) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    fn got(&self) -> Vec<String> {
        self.got.lock().expect("lock").clone()
    }
}

async fn dead_letter(store: &MemoryStore, key: &str) -> i64 {
    let job = NewJob {
        tenant: "acme",
        kind: "quote-to-order",
        key,
        checkpoint: json!({}),
    };
    store.enqueue(job, clock_ms()).await.expect("enqueue");
    let claim = store
        .claim("w", 1, 60_000, clock_ms())
        .await
        .expect("claim")
        .pop()
        .expect("job");
    let error = "gave up after 2 attempts: M3 answered 500".to_string();
    store
        .finish(&claim, Outcome::Dead { error }, clock_ms())
        .await
        .expect("dead");
    store
        .dead_letters(Some("acme"))
        .await
        .expect("letters")
        .last()
        .expect("one")
        .id
}

fn rules() -> Vec<AlertRule> {
    vec![AlertRule::DeadLetters {
        name: None,
        above: 0,
    }]
}

#[tokio::test]
async fn an_alert_is_sent_once_while_it_holds_and_again_when_it_clears() {
    let store = MemoryStore::new();
    let channels = vec![Recorder::new("webhook"), Recorder::new("email")];
    let mut ev = Evaluator::new("acme", rules(), channels, Sent::default());
    assert!(
        ev.tick(&store, clock_ms()).await.is_empty(),
        "nothing holds"
    );

    let letter = dead_letter(&store, "17").await;
    let sent = ev.tick(&store, clock_ms()).await;
    assert_eq!(sent.len(), 2, "one per channel");
    for channel in &ev.channels {
        assert_eq!(
            channel.got(),
            [
                "[FIRING] tenant acme, rule dead-letters: 1 dead letter open (fires above 0)\n- quote-to-order 17: gave up after 2 attempts: M3 answered 500"
            ]
        );
    }
    for _ in 0..3 {
        assert!(
            ev.tick(&store, clock_ms()).await.is_empty(),
            "not sent again while it holds"
        );
    }

    store.replay(letter, clock_ms()).await.expect("replay");
    assert_eq!(ev.tick(&store, clock_ms()).await.len(), 2);
    for channel in &ev.channels {
        let got = channel.got();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            "[RESOLVED] tenant acme, rule dead-letters: 0 dead letters open (fires above 0)"
        );
    }
    assert!(ev.tick(&store, clock_ms()).await.is_empty());
}

#[tokio::test]
async fn a_failed_delivery_is_tried_again_next_tick_on_that_channel_only() {
    let store = MemoryStore::new();
    let channels = vec![Recorder::new("webhook"), Recorder::new("email")];
    channels[1].failing.store(true, Ordering::SeqCst);
    let mut ev = Evaluator::new("acme", rules(), channels, Sent::default());
    dead_letter(&store, "17").await;

    let sent = ev.tick(&store, clock_ms()).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "webhook");
    assert!(
        ev.tick(&store, clock_ms()).await.is_empty(),
        "still failing"
    );

    ev.channels[1].failing.store(false, Ordering::SeqCst);
    let sent = ev.tick(&store, clock_ms()).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "email");
    assert!(sent[0].1.firing);
    assert_eq!(
        ev.channels[0].got().len(),
        1,
        "the webhook was not sent twice"
    );
    assert_eq!(ev.channels[1].got().len(), 1);
}

#[tokio::test]
async fn what_was_sent_survives_a_restart_and_a_rule_cleared_meanwhile_is_resolved() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = super::state_file(dir.path(), "acme");
    let store = MemoryStore::new();
    let letter = dead_letter(&store, "17").await;

    let mut first = Evaluator::new(
        "acme",
        rules(),
        vec![Recorder::new("webhook")],
        Sent::load(&file),
    );
    assert_eq!(first.tick(&store, clock_ms()).await.len(), 1);
    first.sent.save(&file).expect("save");

    // Restarted while it still holds: nothing new to say.
    let mut again = Evaluator::new(
        "acme",
        rules(),
        vec![Recorder::new("webhook")],
        Sent::load(&file),
    );
    assert!(again.tick(&store, clock_ms()).await.is_empty());

    // Restarted after it cleared: the resolution is sent.
    store.replay(letter, clock_ms()).await.expect("replay");
    let mut later = Evaluator::new(
        "acme",
        rules(),
        vec![Recorder::new("webhook")],
        Sent::load(&file),
    );
    let sent = later.tick(&store, clock_ms()).await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].1.firing);
    assert!(later.sent.0.is_empty(), "nothing firing is kept");
}
