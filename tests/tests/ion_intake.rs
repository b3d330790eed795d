//! `POST /ion/{tenant}/events` over a real socket: only ION's bearer token gets in; malformed,
//! oversized or unknown payloads are refused with 4xx and change nothing.

use ferry_tests::stack::{ION_TOKEN, Options, Stack, TENANT};

#[test]
fn the_ion_endpoint_refuses_strangers_and_bad_payloads() {
    let stack = Stack::start(Options {
        m3_flags: &[],
        create_customers: false,
        order_entry: "batch",
    });
    let url = format!("{}/ion/{TENANT}/events", stack.ferry_url());
    // No pooled connections: after a 413 the server closes the connection without reading the
    // rest of the body, and a pooled connection could be reused just as it closes.
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let bod = r#"<?xml version="1.0"?><SyncSalesOrder><DataArea><SalesOrder><SalesOrderHeader><DocumentID><ID>1000000001</ID></DocumentID><Status><Code>66</Code></Status></SalesOrderHeader></SalesOrder></DataArea></SyncSalesOrder>"#;
    let post = |token: Option<&str>, content_type: &str, body: Vec<u8>| {
        let mut req = http
            .post(&url)
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().expect("post").status().as_u16()
    };

    assert_eq!(post(None, "application/xml", bod.into()), 401);
    assert_eq!(post(Some("guess"), "application/xml", bod.into()), 401);
    // A billion-laughs style document: refused by the connector's parser, never expanded.
    let evil = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><SyncSalesOrder>&b;</SyncSalesOrder>"#;
    assert_eq!(post(Some(ION_TOKEN), "application/xml", evil.into()), 400);
    assert_eq!(
        post(Some(ION_TOKEN), "application/xml", b"<not xml".to_vec()),
        400
    );
    assert_eq!(
        post(
            Some(ION_TOKEN),
            "multipart/form-data; boundary=XYZ",
            b"--XYZ\r\nbroken".to_vec()
        ),
        400
    );
    // Too large: refused from the announced length alone. Announced on a raw socket, because
    // a client still writing 2 MiB may see the refusal's connection close as a broken pipe
    // before it reads the 413.
    assert_eq!(announce_body(&stack.ferry_url(), ION_TOKEN, 2 << 20), 413);
    // An unknown tenant is answered exactly like a wrong token: nothing tells them apart, and
    // nothing of the request is echoed.
    let refusal = |tenant: &str, token: &str| {
        let r = http
            .post(format!("{}/ion/{tenant}/events", stack.ferry_url()))
            .bearer_auth(token)
            .body(bod)
            .send()
            .expect("post");
        let status = r.status().as_u16();
        let text = r.text().expect("body");
        let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
        let id = json
            .as_object_mut()
            .and_then(|o| o.remove("correlation_id"));
        assert!(id.is_some(), "an error carries a correlation id: {text}");
        (status, json, text)
    };
    let (unknown_status, unknown, text) = refusal("nobody-xyz", ION_TOKEN);
    let (wrong_status, wrong, _) = refusal(TENANT, "guess");
    assert_eq!((unknown_status, &unknown), (401, &wrong));
    assert_eq!(wrong_status, 401);
    assert!(!text.contains("nobody-xyz"), "{text}");
    // A well-formed BOD for an order Ferry never made is accepted and changes nothing.
    assert_eq!(post(Some(ION_TOKEN), "application/xml", bod.into()), 202);
    assert!(stack.jobs().is_empty());
}

/// Sends only the head of an ION post announcing `len` body bytes; the reply's status.
fn announce_body(base_url: &str, token: &str, len: usize) -> u16 {
    use std::io::{Read, Write};
    let addr = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "POST /ion/{TENANT}/events HTTP/1.1\r\nHost: ferry\r\nAuthorization: Bearer {token}\r\nContent-Type: application/xml\r\nContent-Length: {len}\r\n\r\n"
    )
    .expect("write");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("status line");
    String::from_utf8_lossy(&head[9..12])
        .parse()
        .expect("a status code")
}
