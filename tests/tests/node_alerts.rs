//! Issue 14: alerts from several nodes. Two `ferry serve` nodes on one PostgreSQL evaluate the
//! same tenant's rules every second; an alert reaches the webhook once, not once per node, and
//! its resolution once, whichever node evaluates when it clears.

use std::time::Duration;

use ferry_tests::nodes::Cluster;
use ferry_tests::sinks::WebhookSink;
use ferry_tests::stack::{Options, TENANT};

const LIMIT: Duration = Duration::from_secs(60);

fn texts(hook: &WebhookSink, prefix: &str) -> Vec<String> {
    hook.bodies()
        .iter()
        .filter_map(|b| b["text"].as_str())
        .filter(|t| t.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn two_nodes_send_an_alert_and_its_resolution_once_between_them() {
    let hook = WebhookSink::start();
    let mut cluster = Cluster::new(
        2,
        Options {
            m3_flags: &[],
            create_customers: false,
            order_entry: "batch",
        },
        5_000,
    );
    let dir = cluster.stack.dir.path();
    std::fs::write(dir.join("alert-webhook.url"), hook.url()).expect("webhook url");
    // No catalog sync has run: the rule holds 8 s after each node starts (and again 8 s after
    // the sync below, later than this test looks).
    let alerts = r#"
[tenants.acme.alerts]
every = "1s"
webhook = { file = "alert-webhook.url" }

[[tenants.acme.alerts.rules]]
rule = "catalog-not-synced"
after = "8s"
"#;
    cluster.append_config(alerts);
    cluster.start_all();

    hook.wait_for(LIMIT, |b| {
        b["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("[FIRING]"))
    });
    // Both nodes evaluate every second while it holds; neither says it again.
    std::thread::sleep(Duration::from_secs(4));
    let firing = texts(&hook, "[FIRING]");
    assert_eq!(firing.len(), 1, "{firing:#?}");
    assert!(
        firing[0].starts_with(
            "[FIRING] tenant acme, rule catalog-not-synced: catalog sync: none finished"
        ),
        "{}",
        firing[0]
    );

    // A catalog sync finishes (run by the operator's CLI on the shared database): resolved once.
    cluster.cli(&["sync", "catalog", "--tenant", TENANT]);
    hook.wait_for(LIMIT, |b| {
        b["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("[RESOLVED]"))
    });
    std::thread::sleep(Duration::from_secs(3));
    let resolved = texts(&hook, "[RESOLVED]");
    assert_eq!(resolved.len(), 1, "{resolved:#?}");
    assert_eq!(texts(&hook, "[FIRING]").len(), 1, "{:#?}", hook.bodies());
}
