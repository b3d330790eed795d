//! Alerts as an operator meets them: `ferry serve` on the real stack with a dead-letters rule,
//! a webhook receiver and an SMTP server on loopback. M3 fails every call until the quote's job
//! gives up (a dead letter): the alert arrives on both, with the tenant, the rule and the
//! figures, once (the webhook's first delivery is refused and retried, and nothing is sent
//! again while it holds). M3 is fixed and the dead letter retried with `ferry dlq replay`: the
//! order is made and the "resolved" alert arrives on both.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferry_sim::quotewerks::{NewLine, NewQuote, SoldTo};
use ferry_tests::ferry;
use ferry_tests::orders::{d, definite_customers, sellable_items};
use ferry_tests::sinks::{SmtpSink, WebhookSink};
use ferry_tests::stack::{Options, READY, Stack};
use rust_decimal::Decimal;

const LIMIT: Duration = Duration::from_secs(60);

fn quote(doc_no: &str) -> NewQuote {
    let customers = definite_customers();
    NewQuote {
        sold_to: SoldTo::from_seed(&customers[0]),
        ship_to: None,
        doc_no: Some(doc_no.into()),
        doc_name: None,
        doc_type: "QUOTE".into(),
        status: "1-In Progress".into(),
        doc_date: None,
        sales_rep: "JSMITH".into(),
        po_number: "PO-ALERT".into(),
        project_no: None,
        local_tax_rate: Decimal::ZERO,
        shipping_amount: Decimal::ZERO,
        custom: BTreeMap::new(),
        lines: vec![NewLine::product(&sellable_items()[0], d(2))],
    }
}

fn wait_for_job(stack: &Stack, key: &str, state: &str) {
    let start = Instant::now();
    loop {
        let jobs = stack.jobs();
        if jobs.iter().any(|j| j.0 == key && j.1 == state) {
            return;
        }
        assert!(
            start.elapsed() < LIMIT,
            "job {key} never became {state}: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn text(body: &serde_json::Value) -> &str {
    body["text"].as_str().unwrap_or_default()
}

#[test]
fn a_dead_letter_is_alerted_by_webhook_and_email_and_resolved_when_retried() {
    let smtp = SmtpSink::start();
    let hook = WebhookSink::start();
    // The first webhook delivery is refused: it must be tried again on a later tick.
    hook.fail_next(1);

    let (mut stack, listener) = Stack::simulators(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    drop(listener);
    // Give up after two attempts (the stack's 40 would take a while), and alert.
    let config = std::fs::read_to_string(&stack.config).expect("config");
    assert!(config.contains("maximum_attempts = 40"), "{config}");
    let dir = stack.config.parent().expect("config dir").to_path_buf();
    std::fs::write(dir.join("alert-webhook.url"), hook.url()).expect("webhook url");
    std::fs::write(dir.join("smtp.password"), "mail-s3cret\n").expect("smtp password");
    let alerts = format!(
        r#"
[tenants.acme.alerts]
every = "1s"
timeout_ms = 5000
webhook = {{ file = "alert-webhook.url" }}
email_to = ["ops@acme.example"]

[tenants.acme.alerts.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
from = "ferry@acme.example"
username = "ferry"
password = {{ file = "smtp.password" }}

[[tenants.acme.alerts.rules]]
rule = "dead-letters"

[[tenants.acme.alerts.rules]]
rule = "quote-not-ordered"
after = "1h"
"#,
        port = smtp.addr.port()
    );
    std::fs::write(
        &stack.config,
        config.replace("maximum_attempts = 40", "maximum_attempts = 2") + &alerts,
    )
    .expect("write config");
    stack.start_ferry();

    // M3 answers 500 to everything: the order can't be made.
    stack.m3_control(
        reqwest::Method::PUT,
        "/_control/faults",
        serde_json::json!({ "rate_500": 1.0 }),
    );
    let (id, doc_no) = stack.create_quote(&quote("Q7001"));
    stack.set_status(id, READY);
    let key = id.to_string();
    wait_for_job(&stack, &key, "dead");

    let firing = hook.wait_for(LIMIT, |b| text(b).starts_with("[FIRING]"));
    let t = text(&firing);
    assert!(
        t.starts_with(
            "[FIRING] tenant acme, rule dead-letters: 1 dead letter open (fires above 0)"
        ),
        "{t}"
    );
    assert!(
        t.contains(&format!("quote-to-order {key}: gave up after 2 attempts")),
        "{t}"
    );
    assert!(hook.refused() >= 1, "the first delivery was refused");

    let mail = smtp.wait_for(LIMIT, |m| {
        m.header("Subject").is_some_and(|s| s.contains("FIRING"))
    });
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("[ferry] FIRING acme dead-letters")
    );
    assert_eq!(mail.from, "ferry@acme.example");
    assert_eq!(mail.to, ["ops@acme.example"]);
    assert_eq!(
        mail.auth,
        Some(("ferry".to_string(), "mail-s3cret".to_string())),
        "authenticated with the password read by reference"
    );
    let body = mail.body();
    assert!(
        body.contains("[FIRING] tenant acme, rule dead-letters: 1 dead letter open"),
        "{body}"
    );
    assert!(body.contains(&format!("quote-to-order {key}")), "{body}");

    // While it holds, nothing is sent again (the rule is evaluated every second).
    std::thread::sleep(Duration::from_secs(3));
    let firing_hooks = hook
        .bodies()
        .iter()
        .filter(|b| text(b).starts_with("[FIRING]"))
        .count();
    assert_eq!(firing_hooks, 1, "{:#?}", hook.bodies());
    assert_eq!(smtp.mails().len(), 1, "{:#?}", smtp.mails());

    // M3 is fixed; the operator retries the dead letter.
    stack.m3_control(
        reqwest::Method::DELETE,
        "/_control/faults",
        serde_json::json!({}),
    );
    ferry(
        &stack.data,
        &["dlq", "replay", "--quote", &doc_no, "--tenant", "acme"],
    )
    .expect_code(0);
    wait_for_job(&stack, &key, "done");

    let resolved = hook.wait_for(LIMIT, |b| text(b).starts_with("[RESOLVED]"));
    assert_eq!(
        text(&resolved),
        "[RESOLVED] tenant acme, rule dead-letters: 0 dead letters open (fires above 0)"
    );
    let mail = smtp.wait_for(LIMIT, |m| {
        m.header("Subject").is_some_and(|s| s.contains("RESOLVED"))
    });
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("[ferry] RESOLVED acme dead-letters")
    );
    assert!(
        mail.body()
            .contains("[RESOLVED] tenant acme, rule dead-letters: 0 dead letters open"),
        "{}",
        mail.body()
    );
    assert_eq!(
        stack.m3_orders().len(),
        1,
        "the retried quote became an order"
    );
    // The other rule never held: nothing was said about it.
    assert!(
        hook.bodies()
            .iter()
            .all(|b| !text(b).contains("quote-not-ordered")),
        "{:#?}",
        hook.bodies()
    );
}
