//! ERP events through the durable inbox, over the real `ferry serve`, plugins and simulators:
//! an M3 BOD about an order Ferry made queues the order's status push-back as a job, which is
//! retried until the quote shows the status (status polling off, so nothing else would bring
//! it); the same BOD twice changes nothing; the role-named routes work beside the old paths.

use std::time::{Duration, Instant};

use ferry_tests::orders::{approve_all, create_quotes, settle_all_done};
use ferry_tests::runs::{plugin_calls, requested, run_detail};
use ferry_tests::stack::{ION_TOKEN, Options, Stack, TENANT};

/// The stack with status polling off (the default), so only ERP events push status back.
fn stack_without_status_polling() -> Stack {
    let mut stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    stack.kill_ferry();
    let config = std::fs::read_to_string(&stack.config).expect("config");
    assert!(config.contains("status_poll_secs = 1"), "{config}");
    std::fs::write(
        &stack.config,
        config.replace("status_poll_secs = 1", "status_poll_secs = 0"),
    )
    .expect("config");
    stack.start_ferry();
    stack
}

/// Moves the quote's M3 order to `status`; returns the order number and the SyncSalesOrder BOD
/// M3 published for it (taken from the simulator's outbox: the stack gives it no ION target).
fn advance(stack: &Stack, doc_no: &str, status: &str) -> (String, String) {
    let orno = stack
        .m3_orders()
        .into_iter()
        .find(|o| o.cuor.trim() == doc_no)
        .expect("order")
        .orno
        .trim()
        .to_string();
    stack.m3_control(
        reqwest::Method::POST,
        &format!("/_control/orders/{orno}/advance"),
        serde_json::json!({ "to": status }),
    );
    let bods = stack.m3_control(
        reqwest::Method::GET,
        "/_control/bods",
        serde_json::Value::Null,
    );
    let bod = bods
        .as_array()
        .expect("bods")
        .iter()
        .rev()
        .filter_map(|b| b["xml"].as_str())
        .find(|x| {
            x.contains("SyncSalesOrder") && x.contains(&orno) && x.contains(&format!(">{status}<"))
        })
        .unwrap_or_else(|| panic!("no BOD for {orno} at {status}: {bods}"))
        .to_string();
    (orno, bod)
}

/// Posts a BOD as ION does (bearer token, bare XML); the status and the JSON answer.
fn post_bod(stack: &Stack, path: &str, bod: &str) -> (u16, serde_json::Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}{path}", stack.ferry_url()))
        .bearer_auth(ION_TOKEN)
        .header("content-type", "application/xml")
        .body(bod.to_string())
        .send()
        .expect("post");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(serde_json::Value::Null))
}

fn wait_for_quote_status(stack: &Stack, doc_id: i64, want: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let doc = stack.document(doc_id);
        if doc["header"]["DocStatus"] == want {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "quote {doc_id}: status still {} (want {want})",
            doc["header"]["DocStatus"]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ferry_db(stack: &Stack) -> rusqlite::Connection {
    rusqlite::Connection::open(stack.data.join("ferry.db")).expect("ferry.db")
}

fn count(stack: &Stack, sql: &str) -> i64 {
    ferry_db(stack)
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

#[test]
fn an_erp_event_whose_status_push_back_fails_is_retried_until_the_quote_shows_it() {
    let stack = stack_without_status_polling();
    let expected = create_quotes(&stack, 1);
    approve_all(&stack, &expected);
    settle_all_done(&stack, 1, Duration::from_secs(120));
    // M3's gateway fails the next three status reads (GetHead): a 500 is not resent by the
    // transport, so each is a failed push-back.
    stack.m3_control(
        reqwest::Method::POST,
        "/_control/faults/queue",
        serde_json::json!({ "kind": "500", "target": "OIS100MI/GetHead", "count": 3 }),
    );
    let (orno, bod) = advance(&stack, &expected[0].doc_no, "44");
    // ION's path as configured today (an alias of /events/{tenant}/erp).
    let (status, reply) = post_bod(&stack, &format!("/ion/{TENANT}/events"), &bod);
    assert_eq!(status, 202, "{reply}");
    wait_for_quote_status(
        &stack,
        expected[0].doc_id,
        "7-M3 Picked",
        Duration::from_secs(60),
    );
    let faults = stack.m3_control(
        reqwest::Method::GET,
        "/_control/faults",
        serde_json::Value::Null,
    );
    assert_eq!(
        faults["queue"].as_array().map(Vec::len),
        Some(0),
        "the status reads failed first: {faults}"
    );
    let retries = count(
        &stack,
        "SELECT count(*) FROM audit WHERE kind = 'order-status' AND step = 'retry'",
    );
    assert!(retries >= 3, "{retries} retries recorded");
    // The push-back's run detail (issue 13): its failed attempts and the M3 reads they made.
    let detail = run_detail(&stack, &orno, Some("order-status"));
    let failed: u64 = detail["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["failed_attempts"].as_u64())
        .sum();
    assert!(
        failed >= 3,
        "{failed} failed attempts in {}",
        detail["steps"]
    );
    assert!(
        plugin_calls(&detail)
            .iter()
            .any(|c| c["role"] == "erp" && requested(c, "OIS100MI/GetHead")),
        "no GetHead request in {}",
        detail["steps"]
    );
}

#[test]
fn the_same_bod_twice_changes_nothing_and_role_routes_work_beside_the_old_paths() {
    let stack = stack_without_status_polling();
    let expected = create_quotes(&stack, 1);
    approve_all(&stack, &expected);
    settle_all_done(&stack, 1, Duration::from_secs(120));

    let (orno, bod) = advance(&stack, &expected[0].doc_no, "44");
    let (status, reply) = post_bod(&stack, &format!("/events/{TENANT}/erp"), &bod);
    assert_eq!(status, 202, "{reply}");
    assert_eq!(reply["outcome"], "stored", "{reply}");
    assert_eq!(reply["status_updates_queued"], 1, "{reply}");
    wait_for_quote_status(
        &stack,
        expected[0].doc_id,
        "7-M3 Picked",
        Duration::from_secs(30),
    );
    let settled = || {
        let job = format!(
            "SELECT count(*) FROM jobs WHERE kind = 'order-status' AND key = '{orno}' AND state = 'done'"
        );
        count(&stack, &job) == 1
    };
    let start = Instant::now();
    while !settled() {
        assert!(start.elapsed() < Duration::from_secs(30), "job not done");
        std::thread::sleep(Duration::from_millis(100));
    }
    let trail = "SELECT count(*) FROM audit";
    let (inbox, audit) = (
        count(&stack, "SELECT count(*) FROM inbox"),
        count(&stack, trail),
    );

    // Redelivered, on the old path too: a duplicate, nothing stored, nothing queued or run.
    for path in [
        format!("/events/{TENANT}/erp"),
        format!("/ion/{TENANT}/events"),
    ] {
        let (status, reply) = post_bod(&stack, &path, &bod);
        assert_eq!(status, 202, "{reply}");
        assert_eq!(reply["outcome"], "duplicate", "{path}: {reply}");
        assert_eq!(reply["status_updates_queued"], 0, "{path}: {reply}");
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(&stack, "SELECT count(*) FROM inbox"), inbox);
    assert_eq!(count(&stack, trail), audit, "no job ran again");
    assert!(settled());

    // A BOD about an order Ferry did not make: stored, answered, nothing queued.
    let stranger = bod.replace(&orno, "9999999");
    let (status, reply) = post_bod(&stack, &format!("/events/{TENANT}/erp"), &stranger);
    assert_eq!((status, &reply["status_updates_queued"]), (202, &0.into()));
    assert_eq!(count(&stack, "SELECT count(*) FROM inbox"), inbox + 1);
    assert_eq!(
        count(&stack, "SELECT count(*) FROM jobs WHERE key = '9999999'"),
        0
    );

    // QuoteWerks' webhook, replayed on the role-named route: the same event, so a duplicate.
    let hooks = reqwest::blocking::Client::new()
        .get(format!("{}/_control/webhooks", stack.qw.base_url))
        .bearer_auth(&stack.qw.control_token)
        .send()
        .expect("webhooks")
        .json::<serde_json::Value>()
        .expect("json");
    let delivered = hooks
        .as_array()
        .and_then(|h| h.iter().find(|d| d["delivered"] == true))
        .unwrap_or_else(|| panic!("no delivered webhook: {hooks}"));
    let secret = stack.qw.webhook_secret.as_deref().expect("secret");
    let webhook = |path: &str, secret: &str| {
        reqwest::blocking::Client::new()
            .post(format!("{}{path}", stack.ferry_url()))
            .header("X-QuoteWerks-Secret", secret)
            .header("content-type", "application/json")
            .body(delivered["body"].as_str().unwrap_or_default().to_string())
            .send()
            .expect("post")
    };
    let replay = webhook(&format!("/hooks/{TENANT}/quoting"), secret);
    assert_eq!(replay.status(), 202);
    let reply: serde_json::Value = replay.json().expect("json");
    assert_eq!(reply["outcome"], "duplicate", "{reply}");
    assert_eq!(
        webhook(&format!("/hooks/{TENANT}/quoting"), "wrong").status(),
        401
    );
    // The role-named ERP route checks the token like the old one.
    let refused = reqwest::blocking::Client::new()
        .post(format!("{}/events/{TENANT}/erp", stack.ferry_url()))
        .bearer_auth("guess")
        .body(bod)
        .send()
        .expect("post");
    assert_eq!(refused.status(), 401);
}
