//! The evaluator's promise: an alert is sent once when its rule starts holding, not again
//! while it holds, once more ("resolved") when it clears, a failed delivery is tried again
//! next tick, and what was sent survives a restart. Channels here record what they are given
//! (the rules and the store are the real ones).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use ferry_store::{Jobs, MemoryStore, NewJob, Outcome, clock_ms};
use serde_json::json;

use super::deliver::Deliver;
use super::{Alert, Evaluator, Sent, take_turn};
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

const EVERY: i64 = 60_000;

#[tokio::test]
async fn what_was_sent_survives_a_restart_and_a_rule_cleared_meanwhile_is_resolved() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = MemoryStore::new();
    let letter = dead_letter(&store, "17").await;
    let node = async |ev: &mut Evaluator<Recorder>, slot: i64| {
        take_turn(ev, &store, dir.path(), "n1", slot * EVERY, EVERY)
            .await
            .expect("store")
            .expect("this node's slot")
    };
    let fresh = || {
        Evaluator::new(
            "acme",
            rules(),
            vec![Recorder::new("webhook")],
            Sent::default(),
        )
    };

    assert_eq!(node(&mut fresh(), 1).await.len(), 1);
    // Restarted while it still holds: nothing new to say.
    assert!(node(&mut fresh(), 2).await.is_empty());
    // Restarted after it cleared: the resolution is sent.
    store.replay(letter, clock_ms()).await.expect("replay");
    let mut later = fresh();
    let sent = node(&mut later, 3).await;
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].1.firing);
    assert!(later.sent.0.is_empty(), "nothing firing is kept");
}

#[tokio::test]
async fn the_sent_state_an_older_binary_kept_in_a_file_is_read_once_the_store_has_none() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = MemoryStore::new();
    dead_letter(&store, "17").await;
    let mut sent = Sent::default();
    sent.set("dead-letters", "webhook", true);
    sent.save(&super::state_file(dir.path(), "acme"))
        .expect("file");

    let mut ev = Evaluator::new(
        "acme",
        rules(),
        vec![Recorder::new("webhook")],
        Sent::default(),
    );
    let turn = take_turn(&mut ev, &store, dir.path(), "n1", EVERY, EVERY).await;
    assert!(
        turn.expect("store").expect("slot").is_empty(),
        "already sent before the upgrade"
    );
}

#[tokio::test]
async fn nodes_sharing_a_store_send_each_alert_once_between_them() {
    // Two nodes, each with its own evaluator and channel, on one store: every tick (slot)
    // both try; one evaluates. An alert is sent once in all, and resolved once.
    let dir = tempfile::tempdir().expect("tmp");
    let store = MemoryStore::new();
    let new = || {
        Evaluator::new(
            "acme",
            rules(),
            vec![Recorder::new("webhook")],
            Sent::default(),
        )
    };
    let mut nodes = [("n1", new()), ("n2", new())];
    let letter = dead_letter(&store, "17").await;
    let mut turns = Vec::new();
    for slot in 1..=6 {
        if slot == 4 {
            store.replay(letter, clock_ms()).await.expect("replay");
        }
        // Alternate which node comes first, as whichever wakes first takes the slot.
        let order = if slot % 2 == 0 { [1, 0] } else { [0, 1] };
        for i in order {
            let (name, ev) = &mut nodes[i];
            let turn = take_turn(ev, &store, dir.path(), name, slot * EVERY, EVERY)
                .await
                .expect("store");
            turns.push((slot, *name, turn.is_some()));
        }
    }
    let took: Vec<_> = turns.iter().filter(|t| t.2).map(|t| (t.0, t.1)).collect();
    assert_eq!(
        took,
        [
            (1, "n1"),
            (2, "n2"),
            (3, "n1"),
            (4, "n2"),
            (5, "n1"),
            (6, "n2")
        ],
        "one node per slot"
    );
    let got: Vec<String> = nodes
        .iter()
        .flat_map(|(_, ev)| ev.channels[0].got())
        .collect();
    assert_eq!(got.len(), 2, "once firing, once resolved: {got:#?}");
    assert!(got.iter().any(|t| t.starts_with("[FIRING]")), "{got:#?}");
    assert!(got.iter().any(|t| t.starts_with("[RESOLVED]")), "{got:#?}");
}
