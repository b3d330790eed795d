//! Runtime benchmarks (`cargo xtask bench`), each beside its baseline in the same run:
//! - a call of a trivial transform, on a fresh instance (`warm_instances = 0`) and on a warm one
//!   (the default: the same component under the same grants; the per-call overhead; goal ≤ 10 µs);
//! - a 20-line quote through the test transform component, fresh and warm, vs the same mapping
//!   compiled natively (the same source file, `include!`d; goal ≤ 1.5x);
//! - loading a component from the disk cache vs compiling it cold.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::component;
use criterion::{Criterion, criterion_group, criterion_main};
use ferry::runtime::{Grants, Role, Runtime, RuntimeSettings};
use ferry_domain::{Context, Document, Field, Line, Value};

mod native {
    use ferry_domain::{Document, Field, Line, Value};
    use rust_decimal::Decimal;
    include!("../../../plugins/testing/test-transform/src/quote_to_order.rs");
}

fn text(name: &str, v: &str) -> Field {
    Field {
        name: name.into(),
        value: Value::Text(v.into()),
    }
}

/// A QuoteWerks-shaped quote with `n` product lines (and a comment line the mapping skips).
pub fn quote(n: usize) -> Document {
    let mut lines: Vec<Line> = (0..n)
        .map(|i| Line {
            fields: vec![
                text("LineType", "product"),
                text("ManufacturerPartNumber", &format!("ITM-{i:05}")),
                text(
                    "Description",
                    "Stainless hex bolt M8 x 40, DIN 933, A2-70 grade",
                ),
                Field {
                    name: "QtyTotal".into(),
                    value: Value::Decimal(format!("{}", i % 7 + 1)),
                },
                Field {
                    name: "QtyGroupMultiplier".into(),
                    value: Value::Decimal("1".into()),
                },
                Field {
                    name: "UnitPrice".into(),
                    value: Value::Decimal("12.3456".into()),
                },
                Field {
                    name: "DiscountPercent".into(),
                    value: Value::Decimal("7.5".into()),
                },
            ],
        })
        .collect();
    lines.push(Line {
        fields: vec![
            text("LineType", "comment"),
            text("Description", "Delivered in two parts"),
        ],
    });
    Document {
        kind: "quote".into(),
        id: Some("Q-1001".into()),
        fields: vec![
            text("DocNo", "Q-1001"),
            text("CustomerNumber", "C10042"),
            text("ShipVia", "Ground"),
            Field {
                name: "DocDate".into(),
                value: Value::Date("2026-11-27".into()),
            },
            text("SoldToCompany", "Northwind Industrial Supplies Ltd"),
        ],
        lines,
    }
}

fn settings() -> RuntimeSettings {
    RuntimeSettings {
        call_deadline_ms: 5_000,
        memory_limit_mib: 64,
        ..RuntimeSettings::default()
    }
}

fn benches(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio");
    let rt = Runtime::new(settings()).expect("runtime");
    eprintln!("pooling allocator: {}", rt.uses_pooling());
    let plugin = Arc::new(
        rt.load(&component("test_transform"), Some(Role::Transform))
            .expect("load"),
    );
    // The same component on a runtime that never reuses an instance: every call instantiates.
    let fresh_rt = Runtime::new(RuntimeSettings {
        warm_instances: 0,
        ..settings()
    })
    .expect("runtime");
    let fresh_plugin = Arc::new(
        fresh_rt
            .load(&component("test_transform"), Some(Role::Transform))
            .expect("load"),
    );
    let grants = Arc::new(Grants::for_tenant("bench").with_plugin("bench", BTreeMap::new()));
    let empty = Document {
        kind: "x".into(),
        id: None,
        fields: vec![],
        lines: vec![],
    };
    let ctx = Context {
        tenant: "bench".into(),
        settings: vec![("warehouse".into(), "100".into())],
        ids: vec![],
    };

    let mut g = c.benchmark_group("trivial_call");
    g.bench_function("fresh_instance", |b| {
        b.to_async(&tokio).iter(|| async {
            fresh_rt
                .transform(&fresh_plugin, grants.clone())
                .await
                .expect("instantiate")
                .map("trivial", &empty, &ctx)
                .await
                .expect("call")
        })
    });
    g.bench_function("warm_instance", |b| {
        b.to_async(&tokio).iter(|| async {
            rt.transform(&plugin, grants.clone())
                .await
                .expect("instantiate")
                .map("trivial", &empty, &ctx)
                .await
                .expect("call")
        })
    });
    g.finish();

    let q = quote(20);
    // Same output both ways, or the comparison means nothing.
    let native_out = native::quote_to_order(&q, "100").expect("native");
    let wasm_out = tokio
        .block_on(async {
            rt.transform(&plugin, grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
        })
        .expect("call")
        .expect("mapped")
        .document;
    assert_eq!(native_out, wasm_out);

    let mut g = c.benchmark_group("quote_20_lines");
    g.bench_function("native_rust", |b| {
        b.iter(|| native::quote_to_order(std::hint::black_box(&q), "100").expect("native"))
    });
    g.bench_function("wasm_component_fresh", |b| {
        b.to_async(&tokio).iter(|| async {
            fresh_rt
                .transform(&fresh_plugin, grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
                .expect("call")
        })
    });
    g.bench_function("wasm_component_warm", |b| {
        b.to_async(&tokio).iter(|| async {
            rt.transform(&plugin, grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
                .expect("call")
        })
    });
    g.finish();

    let bytes = component("test_transform");
    let cache = tempfile::tempdir().expect("tmp");
    let cached = Runtime::new(RuntimeSettings {
        cache_dir: Some(cache.path().to_path_buf()),
        ..settings()
    })
    .expect("runtime");
    cached.load(&bytes, None).expect("warm the cache");
    let uncached = Runtime::new(settings()).expect("runtime");
    let mut g = c.benchmark_group("component_load");
    g.sample_size(10);
    g.bench_function("cold_compile", |b| {
        b.iter(|| uncached.load(&bytes, None).expect("load"))
    });
    g.bench_function("disk_cache", |b| {
        b.iter(|| cached.load(&bytes, None).expect("load"))
    });
    g.finish();
}

criterion_group!(runtime, benches);
criterion_main!(runtime);
