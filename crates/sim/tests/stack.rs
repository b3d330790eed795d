//! The stack harness: what it starts and writes is wired together. A stand-in for Ferry listens
//! on the address the harness bound and checks that QuoteWerks' webhooks and M3's BODs arrive
//! there, on the tenant's routes, with the secrets the config points at; both simulators draw
//! from the one catalog; a missing component stops the start with its path.

use std::path::Path;
use std::time::Duration;

use axum::http::{HeaderMap, Uri};
use ferry_sim::m3::ItemChange;
use ferry_sim::seed;
use ferry_sim::stack::{Catalog, SimStack, StackOptions, m3_from_flags};

type Seen = (String, HeaderMap);

/// Empty files where the components would be: the harness only names them in the config.
fn fake_plugins(dir: &Path) {
    for (_, name) in ferry_sim::stack::COMPONENTS {
        std::fs::write(dir.join(format!("{name}.wasm")), b"").expect("component file");
    }
}

/// Serves the stack's Ferry address, recording each request's path and headers.
fn stand_in_for_ferry(stack: &mut SimStack) -> tokio::sync::mpsc::UnboundedReceiver<Seen> {
    let listener = stack.ferry_listener.take().expect("Ferry's listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((uri.path().to_string(), headers));
            axum::http::StatusCode::ACCEPTED
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    rx
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Seen>, path: &str) -> HeaderMap {
    loop {
        let (seen, headers) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("nothing reached {path}"))
            .expect("receiver open");
        if seen == path {
            return headers;
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn webhooks_and_bods_reach_ferrys_address_with_the_secrets_the_config_names() {
    let plugins = tempfile::tempdir().expect("tmp");
    fake_plugins(plugins.path());
    let mut stack = SimStack::start(StackOptions::demo(None, plugins.path()))
        .await
        .expect("stack");
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(&stack.config_path).expect("config"))
            .expect("TOML");
    assert_eq!(
        config["server"]["listen"].as_str(),
        Some(stack.ferry_addr.to_string().as_str())
    );
    let host = &config["tenants"]["demo"]["host"];
    let file = |key: &str| {
        let name = host[key]["file"].as_str().expect("a file reference");
        std::fs::read_to_string(stack.dir.join(name)).expect("secret file")
    };
    let (webhook_secret, ion_token) = (file("webhook_secret"), file("ion_token"));
    let mut requests = stand_in_for_ferry(&mut stack);

    let quote = stack.qw.documents(None).expect("quotes")[0].id;
    stack
        .qw
        .set_status(quote, ferry_sim::stack::READY)
        .expect("approve");
    let hook = next(&mut requests, "/hooks/demo/quotewerks").await;
    let header_name = host["webhook_header"].as_str().expect("header name");
    assert_eq!(header(&hook, header_name), webhook_secret);

    let item = seed::item(stack.catalog.seed, 0).itno;
    let change = ItemChange {
        itds: Some("Renamed".into()),
        stat: None,
        sapr: None,
        stock: Vec::new(),
    };
    stack.m3.change_item(&item, &change).expect("item change");
    let bod = next(&mut requests, "/ion/demo/events").await;
    assert_eq!(header(&bod, "authorization"), format!("Bearer {ion_token}"));
    stack.shutdown().await;
}

#[tokio::test]
async fn both_simulators_draw_from_the_catalog_the_stack_is_given() {
    let plugins = tempfile::tempdir().expect("tmp");
    fake_plugins(plugins.path());
    let catalog = Catalog {
        seed: 7,
        items: 60,
        customers: 25,
    };
    let stack = SimStack::start(StackOptions {
        catalog,
        bods_to_ferry: false,
        ..StackOptions::demo(None, plugins.path())
    })
    .await
    .expect("stack");
    let m3 = stack.m3.summary().expect("summary");
    assert_eq!((m3.items, m3.customers), (60, 25));
    let items: std::collections::HashSet<String> = (0..60).map(|i| seed::item(7, i).itno).collect();
    let mut named = 0;
    for d in stack.qw.documents(None).expect("quotes") {
        if d.doc_no.starts_with("FRYQ9") {
            continue; // the bad quotes name an unknown item on purpose
        }
        for line in stack.qw.document(d.id).expect("quote").items {
            if let Some(mpn) = line
                .get("ManufacturerPartNumber")
                .and_then(|v| v.as_str())
                .filter(|m| !m.is_empty())
            {
                assert!(items.contains(mpn), "{} names {mpn}", d.doc_no);
                named += 1;
            }
        }
    }
    assert!(named > 0, "no quote names an item");
    stack.shutdown().await;
}

#[tokio::test]
async fn a_missing_component_stops_the_start_with_its_path() {
    let plugins = tempfile::tempdir().expect("tmp");
    fake_plugins(plugins.path());
    std::fs::remove_file(plugins.path().join("ferry_mapping.wasm")).expect("remove");
    let err = SimStack::start(StackOptions::demo(None, plugins.path()))
        .await
        .err()
        .expect("refused");
    assert!(
        format!("{err:#}").contains("ferry_mapping.wasm is missing"),
        "{err:#}"
    );
}

#[test]
fn m3_faults_are_given_as_ferry_sim_m3_flags() {
    let m3 = m3_from_flags(&["--fault-503-rate", "0.2", "--fault-seed", "11"]).expect("flags");
    assert_eq!((m3.fault_503_rate, m3.fault_seed), (0.2, 11));
    assert!(m3_from_flags(&["--fault-503-rat", "0.2"]).is_err());
}
