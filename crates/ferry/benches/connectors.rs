//! M3 connector benchmark: M3 round trips and time per sales order, batch entry
//! (AddBatchHead + one AddBatchLine per line + Confirm) against one bulk POST of the lines
//! (AddBatchHead + bulk + Confirm), through the real component and host against the M3
//! simulator over loopback, with OAuth. Two gateways: plain loopback, and loopback with 20 ms
//! added to every MI call (the order of an ION API gateway round trip).
//!
//! Round trips are read from the connector's own log line
//! (`m3 order <ref>: <orno> in <n> M3 round trips (<mode>, <lines> lines)`).
//!
//! `cargo bench -p ferry --bench connectors` (needs `cargo xtask build-plugins` first).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::component;
use criterion::{Criterion, criterion_group, criterion_main};
use ferry::config::FerryConfig;
use ferry::runtime::bindings::types::{Document, Field, Line, Value};
use ferry::runtime::{Grants, Plugin, Role, Runtime, RuntimeSettings};
use ferry_sim::m3::{FaultConfig, Latency};
use ferry_sim::{M3Sim, M3SimConfig, M3SimHandle, seed};
use tracing_subscriber::layer::SubscriberExt;

const LINES: usize = 10;

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Logs {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct V(String);
        impl tracing::field::Visit for V {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" {
                    self.0 = format!("{v:?}");
                }
            }
        }
        let mut v = V(String::new());
        event.record(&mut v);
        if v.0.starts_with("m3 order ") {
            self.0.lock().expect("lock").push(v.0);
        }
    }
}

impl Logs {
    fn last_round_trips(&self) -> u32 {
        let logs = self.0.lock().expect("lock");
        logs.last()
            .and_then(|l| l.split(" in ").nth(1)?.split(' ').next()?.parse().ok())
            .expect("the connector's round-trip log line")
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    sim: M3SimHandle,
    runtime: Arc<Runtime>,
    plugin: Plugin,
    batch: Arc<Grants>,
    bulk: Arc<Grants>,
}

async fn setup() -> Setup {
    let sim = M3Sim::start(M3SimConfig {
        items: 200,
        ..M3SimConfig::default()
    })
    .await
    .expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("m3.ionapi"), sim.ionapi_json()).expect("ionapi");
    let toml = "[tenants.acme.connections.m3]\nkind = \"http\"\nionapi = { file = \"m3.ionapi\" }\n\
         [tenants.acme.plugins.erp]\nconnections = [\"m3\"]\n";
    std::fs::write(dir.path().join("ferry.toml"), toml).expect("toml");
    let config = FerryConfig::load(&dir.path().join("ferry.toml")).expect("config");
    let base = config.plugin_grants("acme", Role::Erp).expect("grants");
    let settings = |mode: &str| {
        [("order_entry".to_string(), mode.to_string())]
            .into_iter()
            .collect()
    };
    let runtime = Runtime::new(RuntimeSettings {
        call_deadline_ms: 30_000,
        ..RuntimeSettings::default()
    })
    .expect("runtime");
    let plugin = runtime
        .load(&component("m3_connector"), Some(Role::Erp))
        .expect("load");
    Setup {
        batch: Arc::new(base.with_plugin("m3", settings("batch"))),
        bulk: Arc::new(base.with_plugin("m3", settings("bulk"))),
        _dir: dir,
        sim,
        runtime,
        plugin,
    }
}

fn order(n: usize) -> Document {
    let text = |name: &str, v: &str| Field {
        name: name.into(),
        value: Value::Text(v.into()),
    };
    Document {
        kind: "order".into(),
        id: None,
        fields: vec![text("CUNO", &seed::customer(42, 0).cuno)],
        lines: (0..n)
            .map(|i| {
                // Skip the seed's discontinued items (index ≡ 13 mod 25).
                let idx = if i % 25 == 13 { i + 100 } else { i };
                Line {
                    fields: vec![
                        text("ITNO", &seed::item_number(idx)),
                        Field {
                            name: "ORQT".into(),
                            value: Value::Decimal("1".into()),
                        },
                    ],
                }
            })
            .collect(),
    }
}

async fn create(s: &Setup, grants: &Arc<Grants>, reference: &str, doc: &Document) {
    let mut call = s
        .runtime
        .erp(&s.plugin, grants.clone())
        .await
        .expect("instantiate");
    let (erp, store) = call.parts();
    let r = erp
        .ferry_erp_erp()
        .call_create_order(store, doc, reference)
        .await;
    call.finish(r).expect("call").expect("order created");
}

fn bench(c: &mut Criterion) {
    let logs = Logs::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(logs.clone()))
        .expect("subscriber");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let s = rt.block_on(setup());
    let doc = order(LINES);
    let counter = std::sync::atomic::AtomicU64::new(0);
    let next_ref = || {
        format!(
            "BENCH{}",
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        )
    };

    for (gateway, latency_ms) in [("loopback", 0u64), ("gateway+20ms", 20)] {
        s.sim.set_faults(FaultConfig {
            latency: (latency_ms > 0).then_some(Latency {
                min_ms: latency_ms,
                max_ms: latency_ms,
            }),
            ..FaultConfig::default()
        });
        // A fixed run for the summary line: round trips and mean time per order per mode.
        let mut summary = Vec::new();
        for (mode, grants) in [("batch", &s.batch), ("bulk", &s.bulk)] {
            rt.block_on(create(&s, grants, &next_ref(), &doc)); // warm
            let runs = 20;
            let started = Instant::now();
            for _ in 0..runs {
                rt.block_on(create(&s, grants, &next_ref(), &doc));
            }
            let per_order = started.elapsed() / runs;
            summary.push((mode, logs.last_round_trips(), per_order));
        }
        let (_, bt, bd) = summary[0];
        let (_, kt, kd) = summary[1];
        println!(
            "\nM3 order of {LINES} lines, {gateway}: batch {bt} round trips, {:.2} ms/order; \
             bulk {kt} round trips, {:.2} ms/order; batch/bulk: {:.2}x round trips, {:.2}x time\n",
            ms(bd),
            ms(kd),
            f64::from(bt) / f64::from(kt),
            bd.as_secs_f64() / kd.as_secs_f64(),
        );

        let mut group = c.benchmark_group(format!("m3_order_{LINES}_lines_{gateway}"));
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(if latency_ms > 0 { 8 } else { 4 }));
        for (mode, grants) in [("batch", &s.batch), ("bulk", &s.bulk)] {
            group.bench_function(mode, |b| {
                b.to_async(&rt)
                    .iter(|| async { create(&s, grants, &next_ref(), &doc).await })
            });
        }
        group.finish();
    }
    s.sim.clear_faults();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

criterion_group!(benches, bench);
criterion_main!(benches);
