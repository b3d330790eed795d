//! The M3 connector's catalog reads at scale against the M3 simulator: the batched calls (erp
//! 1.3 `get-item-prices`, `get-stocks`) take ceil(N / bulk_size) MI round trips per
//! transaction (list price; customer price; one warehouse's balance), counted by the
//! simulator, and answer the same as the per-item calls; the stock delta (erp 1.4) is one
//! listing; a changed-since listing skips no item when one it already read changes mid-run; a
//! mistyped setting is an error naming it.

mod common;

use std::sync::Arc;

use common::*;
use ferry::config::FerryConfig;
use ferry::runtime::{Grants, Plugin, Role, Runtime};
use ferry_sim::seed;
use ferry_sim::{M3Sim, M3SimConfig, M3SimHandle};

const BULK: usize = 25;

struct Env {
    _dir: tempfile::TempDir,
    sim: M3SimHandle,
    rt: Arc<Runtime>,
    plugin: Plugin,
    grants: Arc<Grants>,
}

async fn env() -> Env {
    env_with("").await
}

/// `settings`: more connector settings, as TOML lines.
async fn env_with(settings: &str) -> Env {
    env_on(M3SimConfig::default(), settings).await
}

/// The same against an M3 simulator so configured (120 items).
async fn env_on(m3: M3SimConfig, settings: &str) -> Env {
    let sim = M3Sim::start(M3SimConfig { items: 120, ..m3 })
        .await
        .expect("m3 sim");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("m3.ionapi"), sim.ionapi_json()).expect("ionapi");
    let toml = format!(
        "[tenants.acme.connections.m3]\nkind = \"http\"\nionapi = {{ file = \"m3.ionapi\" }}\n\n\
         [tenants.acme.plugins.erp]\nconnections = [\"m3\"]\n\n\
         [tenants.acme.plugins.erp.settings]\nbulk_size = \"{BULK}\"\n{settings}"
    );
    std::fs::write(dir.path().join("ferry.toml"), toml).expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let grants = config.plugin_grants("acme", Role::Erp).expect("grants");
    let rt = runtime();
    let plugin = load(&rt, "m3_connector", Role::Erp);
    Env {
        _dir: dir,
        sim,
        rt,
        plugin,
        grants,
    }
}

/// Calls one `erp` export: `erp!(env, call_get_item_price, "A1")`.
macro_rules! erp {
    ($env:expr, $method:ident $(, $arg:expr)*) => {{
        let mut call = $env.rt.erp(&$env.plugin, $env.grants.clone()).await.expect("instantiate");
        let (erp, store) = call.parts();
        let r = erp.ferry_erp_erp().$method(store $(, $arg)*).await;
        call.finish(r)
    }};
}

/// The connector's stock listing since `since` in `warehouses`: `None` when it cannot tell.
macro_rules! stocks_changed {
    ($env:expr, $since:expr, $warehouses:expr) => {
        erp!($env, call_list_stocks_changed, $since, $warehouses)
            .expect("call")
            .expect("an answer")
    };
}

fn items(n: usize) -> Vec<String> {
    (0..n).map(seed::item_number).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn prices_of_n_items_take_one_round_trip_per_bulk() {
    let env = env().await;
    let items = items(110);
    // Warm the token first: its request is no MI round trip, but keep the count clean.
    erp!(env, call_get_item_price, &items[0])
        .expect("call")
        .expect("a price");

    let before = env.sim.mi_requests();
    let found = erp!(env, call_get_item_prices, &items, None)
        .expect("call")
        .expect("prices");
    let trips = env.sim.mi_requests() - before;
    assert_eq!(trips, items.len().div_ceil(BULK) as u64, "list prices");
    assert_eq!(found.len(), items.len());
    assert!(
        found.iter().zip(&items).all(|(p, i)| &p.item == i),
        "in order"
    );

    // The same answer as one call per item.
    for (p, item) in found.iter().zip(&items).take(5) {
        let one = erp!(env, call_get_item_price, item)
            .expect("call")
            .expect("a price");
        let batched = p.list_price.as_ref().expect("a list price");
        assert_eq!(batched.amount, one.amount, "{item}");
    }

    // With a reference customer: one more round trip per bulk for its prices.
    let cuno = seed::customer(42, 0).cuno;
    let before = env.sim.mi_requests();
    let found = erp!(env, call_get_item_prices, &items, Some(cuno.as_str()))
        .expect("call")
        .expect("prices");
    let trips = env.sim.mi_requests() - before;
    assert_eq!(
        trips,
        2 * items.len().div_ceil(BULK) as u64,
        "list + customer"
    );
    assert!(
        found.iter().filter(|p| p.customer_price.is_some()).count() > items.len() / 2,
        "customer prices found"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stock_of_n_items_in_one_warehouse_takes_one_round_trip_per_bulk() {
    let env = env().await;
    let items = items(60);
    erp!(env, call_get_item_price, &items[0])
        .expect("call")
        .expect("a price");
    let whlo = seed::WAREHOUSES[0].0.to_string();
    let before = env.sim.mi_requests();
    let found = erp!(env, call_get_stocks, &items, std::slice::from_ref(&whlo))
        .expect("call")
        .expect("stock");
    let trips = env.sim.mi_requests() - before;
    assert_eq!(trips, items.len().div_ceil(BULK) as u64);
    assert_eq!(found.len(), items.len());
    let one = erp!(env, call_get_stock, &items[3])
        .expect("call")
        .expect("stock");
    let per_item = one.iter().find(|b| b.warehouse.trim() == whlo);
    let batched = found[3].balances.first();
    assert_eq!(
        batched.map(|b| b.allocatable.clone()),
        per_item.map(|b| b.allocatable.clone()),
        "the same balance either way"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stock_delta_lists_the_balances_changed_since_by_m3s_change_stamps() {
    // One LstNewBalances per warehouse, then one bulk read of the changed items' balances in
    // the warehouses they did not change in.
    stock_delta_lists_only_the_changed_items(env().await, 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stock_delta_by_warehouse_listing_when_asked_or_when_m3_has_no_change_stamps() {
    // One LstItemWarehous per warehouse.
    let env = env_with("stock_new_balances = \"false\"\n").await;
    stock_delta_lists_only_the_changed_items(env, 0).await;
    // An older M3 answers TransactionNotFound to the first warehouse's LstNewBalances, on MI
    // v2 (HTTP 400) and v1 (a NOK in the body) alike.
    for settings in ["", "api = \"v1\"\n"] {
        let older = M3SimConfig {
            without_transactions: vec!["OIS100MI/LstNewBalances".into()],
            ..M3SimConfig::default()
        };
        stock_delta_lists_only_the_changed_items(env_on(older, settings).await, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn many_items_changed_in_one_warehouse_of_several_read_the_warehouses_whole_on_v1() {
    use ferry_sim::m3::{ItemChange, StockChange};
    // On v1 each of the other warehouses' balances would be a GET of its own: 12 items in 3
    // warehouses are 36, more than reading the 3 warehouses whole.
    let env = env_with("api = \"v1\"\n").await;
    let all: Vec<String> = seed::WAREHOUSES.iter().map(|w| w.0.to_string()).collect();
    let since = chrono::Utc::now().to_rfc3339();
    let changed: Vec<String> = (0..12).map(seed::item_number).collect();
    for itno in &changed {
        let change = ItemChange {
            stock: vec![StockChange {
                whlo: all[1].clone(),
                stqt: 3.into(),
            }],
            ..ItemChange::default()
        };
        env.sim.change_item(itno, &change).expect("change stock");
    }
    let before = env.sim.mi_requests();
    let found = stocks_changed!(env, &since, &all).expect("an answer");
    assert_eq!(
        env.sim.mi_requests() - before,
        2 * all.len() as u64,
        "one LstNewBalances and one LstItemWarehous per warehouse"
    );
    let mut keys: Vec<String> = found.iter().map(|s| s.item.trim().to_string()).collect();
    keys.sort();
    let mut expected = changed.clone();
    expected.sort();
    assert_eq!(keys, expected);
    assert!(
        found.iter().all(|s| s.balances.len() == all.len()),
        "{found:?}"
    );
}

/// Two items' balances change in one warehouse; the delta over every warehouse lists those two,
/// with each balance in every warehouse, in `warehouses + more` round trips.
async fn stock_delta_lists_only_the_changed_items(env: Env, more: u64) {
    use ferry_sim::m3::{ItemChange, StockChange};
    erp!(env, call_get_item_price, &items(1)[0])
        .expect("call")
        .expect("a price");
    // Seeded balances changed on or before 2026-01-01; these two change after `since`.
    let since = chrono::Utc::now().to_rfc3339();
    let (one, two) = (seed::item_number(7), seed::item_number(42));
    let whlo = seed::WAREHOUSES[1].0.to_string();
    for (itno, qty) in [(&one, 5), (&two, 9)] {
        let change = ItemChange {
            stock: vec![StockChange {
                whlo: whlo.clone(),
                stqt: qty.into(),
            }],
            ..ItemChange::default()
        };
        env.sim.change_item(itno, &change).expect("change stock");
    }
    // No warehouse named (nor a `warehouses` setting): it cannot tell, and asks M3 nothing.
    let before = env.sim.mi_requests();
    let none = stocks_changed!(env, &since, &[]);
    assert!(none.is_none(), "{none:?}");
    assert_eq!(env.sim.mi_requests(), before);
    let all: Vec<String> = seed::WAREHOUSES.iter().map(|w| w.0.to_string()).collect();
    let found = stocks_changed!(env, &since, &all).expect("the M3 connector can tell what changed");
    assert_eq!(env.sim.mi_requests() - before, all.len() as u64 + more);
    let keys: Vec<&str> = found.iter().map(|s| s.item.trim()).collect();
    let mut changed = [one.as_str(), two.as_str()];
    changed.sort();
    assert_eq!(keys, changed, "only the changed items, in item order");
    // Every warehouse's balance of a changed item, the same as the per-item read.
    let per_item = erp!(env, call_get_stock, &one)
        .expect("call")
        .expect("stock");
    let listed_one = found.iter().find(|s| s.item.trim() == one).expect("listed");
    let mut listed: Vec<(String, String)> = listed_one
        .balances
        .iter()
        .map(|b| (b.warehouse.trim().to_string(), b.allocatable.clone()))
        .collect();
    let mut read: Vec<(String, String)> = per_item
        .iter()
        .map(|b| (b.warehouse.trim().to_string(), b.allocatable.clone()))
        .collect();
    listed.sort();
    read.sort();
    assert_eq!(listed, read);
    assert!(
        listed.contains(&(whlo.clone(), "5".to_string())),
        "{listed:?}"
    );
    // Only the asked warehouses count: both items changed elsewhere, neither is listed.
    let other = seed::WAREHOUSES[0].0.to_string();
    let found = stocks_changed!(env, &since, std::slice::from_ref(&other)).expect("a listing");
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_changing_while_the_changed_since_listing_pages_skips_no_other_item() {
    use ferry::runtime::bindings::types::PageRequest;
    use ferry_sim::m3::ItemChange;
    let env = env().await;
    let all: std::collections::BTreeSet<String> = env
        .sim
        .items()
        .expect("items")
        .into_iter()
        .map(|i| i.itno)
        .collect();
    let mut read = Vec::new();
    let mut cursor = None;
    loop {
        let page = erp!(
            env,
            call_list_items_changed,
            "2024-01-01T00:00:00Z",
            &PageRequest {
                cursor: cursor.clone(),
                limit: 7
            }
        )
        .expect("call")
        .expect("a page");
        let ids: Vec<String> = page.documents.iter().filter_map(|d| d.id.clone()).collect();
        if read.is_empty() {
            // The page's last item changes now: it leaves the date the cursor stands on (a count
            // of that date's records read so far would then point one record too far).
            let last = ids.last().expect("a first page");
            let change = ItemChange {
                itds: Some("Changed mid-run".into()),
                ..ItemChange::default()
            };
            env.sim.change_item(last, &change).expect("change");
        }
        read.extend(ids);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let distinct: std::collections::BTreeSet<String> = read.iter().cloned().collect();
    let missed: Vec<&String> = all.difference(&distinct).collect();
    assert!(missed.is_empty(), "items never read: {missed:?}");
    // The changed item comes again at its new date; its old date is read again from its start
    // (within one page), as the item it stood on is gone from there.
    assert!(
        read.len() > all.len() && read.len() <= all.len() + 7,
        "{} read for {} items",
        read.len(),
        all.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warehouse_with_more_balances_than_one_answer_should_carry_cannot_tell() {
    // 120 items, each stocked in every warehouse: more than 50 balances in one, read whole
    // (stock_new_balances off); by change stamps, more than 50 changed balances.
    let env = env_with("stock_list_max = \"50\"\nstock_new_balances = \"false\"\n").await;
    let whlo = seed::WAREHOUSES[0].0.to_string();
    let since = chrono::Utc::now().to_rfc3339();
    let answer = stocks_changed!(env, &since, std::slice::from_ref(&whlo));
    assert!(answer.is_none(), "{answer:?}");

    // By change stamps: nothing changed is an answer; more than 50 changed balances is not.
    use ferry_sim::m3::{ItemChange, StockChange};
    let env = env_with("stock_list_max = \"50\"\n").await;
    let answer = stocks_changed!(env, &since, std::slice::from_ref(&whlo));
    assert_eq!(answer.map(|a| a.len()), Some(0));
    for i in 0..60 {
        let change = ItemChange {
            stock: vec![StockChange {
                whlo: whlo.clone(),
                stqt: (100 + i).into(),
            }],
            ..ItemChange::default()
        };
        env.sim
            .change_item(&seed::item_number(i), &change)
            .expect("change stock");
    }
    let answer = stocks_changed!(env, &since, std::slice::from_ref(&whlo));
    assert!(answer.is_none(), "{answer:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_with_more_changes_than_one_answer_should_carry_is_read_by_key_instead() {
    use ferry::runtime::bindings::types::PageRequest;
    use ferry_sim::m3::ItemChange;
    // At most 10 records of one date asked for again; 30 items change today.
    let env = env_with("changed_date_max = \"10\"\n").await;
    let all: std::collections::BTreeSet<String> = env
        .sim
        .items()
        .expect("items")
        .into_iter()
        .map(|i| i.itno)
        .collect();
    let changed: std::collections::BTreeSet<String> = all.iter().take(30).cloned().collect();
    for itno in &changed {
        let change = ItemChange {
            itds: Some("Renamed today".into()),
            ..ItemChange::default()
        };
        env.sim.change_item(itno, &change).expect("change");
    }
    let since = chrono::Utc::now().to_rfc3339();
    let (mut read, mut cursor, mut by_key) = (Vec::new(), None, false);
    for _ in 0..100 {
        let page = erp!(
            env,
            call_list_items_changed,
            &since,
            &PageRequest {
                cursor: cursor.clone(),
                limit: 7
            }
        )
        .expect("call")
        .expect("a page");
        read.extend(page.documents.iter().filter_map(|d| d.id.clone()));
        by_key |= page.next.as_deref().is_some_and(|n| n.starts_with("*|"));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "the listing ended");
    assert!(by_key, "it went on by key");
    let distinct: std::collections::BTreeSet<String> = read.into_iter().collect();
    // Every item by key: the changed ones, and the unchanged ones the host will compare.
    assert_eq!(distinct, all);
    assert!(changed.is_subset(&distinct));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_setting_is_an_error_naming_it_never_its_default() {
    use ferry::runtime::bindings::types::Error;
    // Each of these once fell back to its default without a word.
    let whlo = vec![seed::WAREHOUSES[0].0.to_string()];
    let since = chrono::Utc::now().to_rfc3339();
    for (line, named) in [
        ("stock_list_max = \"50k\"", "stock_list_max = '50k'"),
        ("stock_list_max = \"0\"", "stock_list_max = '0'"),
        ("stock_new_balances = \"no\"", "stock_new_balances = 'no'"),
        ("stock_change_date = \"off\"", "stock_change_date = 'off'"),
        (
            "stock_stamp_margin_seconds = \"15m\"",
            "stock_stamp_margin_seconds",
        ),
    ] {
        let env = env_with(&format!("{line}\n")).await;
        let answer = erp!(env, call_list_stocks_changed, &since, &whlo).expect("call");
        assert!(
            matches!(&answer, Err(Error::Fatal(m)) if m.contains(named)),
            "{line}: {answer:?}"
        );
        assert_eq!(env.sim.mi_requests(), 0, "{line}: nothing asked of M3");
    }
    let env = env_with("stock_list_max = \" 50 \"\nstock_new_balances = \"FALSE\"\n").await;
    let answer = stocks_changed!(env, &since, &whlo);
    assert!(answer.is_none(), "understood: 120 balances > 50 read whole");
}
