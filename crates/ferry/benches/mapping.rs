//! Mapping benchmarks (`cargo bench -p ferry --bench mapping`), in one run, documents per
//! second for a 20-line QuoteWerks quote -> M3 order:
//! - `declarative_component`: the `mapping` component running mappings/quote-to-order.toml,
//!   given as the plugin's setting (fresh instance per call; the mapping is parsed per call);
//! - `rust_example_component`: the Rust example transform (example-bundles, no bundle on the
//!   quote), a hand-written mapping of the same quote;
//! - `native_engine`: the same mapping file in the same engine, compiled natively (parsed once);
//! - `native_engine_with_parse`: natively, parsing the mapping file on every document, which is
//!   what the component does, to show what parsing costs;
//! - `parse_only`: parsing + checking the mapping file alone;
//! - `vrl` (feature `bench-vrl`, on in `cargo xtask bench`): the same mapping written in VRL,
//!   Vector's mapping language (common/quote_to_order.vrl), compiled once, on the same quote;
//!   its output is asserted equal to the engine's first.
//!
//! After criterion's figures, a same-run comparison in documents per second (interleaved rounds,
//! medians): the prepared component and the native engine against VRL (goal: prepared ≥ 2×).

mod common;
#[cfg(feature = "bench-vrl")]
#[path = "common/vrl.rs"]
mod vrl_baseline;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::component;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ferry::mapping::{DEFAULTS, Mapping};
use ferry::runtime::{Grants, Role, Runtime, RuntimeSettings};
use ferry_domain::{Context, Document, Field, Line, Value};

fn f(name: &str, value: Value) -> Field {
    Field {
        name: name.into(),
        value,
    }
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

/// A QuoteWerks quote with `n` product lines (and a comment line both mappings skip), in the
/// column names and types the QuoteWerks tables use.
fn quote(n: usize) -> Document {
    let mut lines: Vec<Line> = (0..n)
        .map(|i| Line {
            fields: vec![
                f("LineType", Value::Integer(1)),
                f("LineAttributes", Value::Integer(0)),
                f("ManufacturerPartNumber", t(&format!("ITM-{i:05}"))),
                f(
                    "Description",
                    t("Stainless hex bolt M8 x 40, DIN 933, A2-70"),
                ),
                f("QtyTotal", Value::Decimal(format!("{}", i % 7 + 1))),
                f("QtyGroupMultiplier", t("")),
                f("UnitOfMeasure", t("Each")),
                f("UnitPrice", Value::Decimal("11.42".into())),
                f("UnitList", Value::Decimal("12.3456".into())),
            ],
        })
        .collect();
    lines.push(Line {
        fields: vec![
            f("LineType", Value::Integer(2)),
            f("Description", t("Delivered in two parts")),
        ],
    });
    Document {
        kind: "quote".into(),
        id: Some("17".into()),
        fields: vec![
            f("DocNo", t("AAAQ1001")),
            f("DocDate", Value::Date("2026-11-27".into())),
            f("ShipVia", t("Ground")),
            f("SoldToCompany", t("Northwind Industrial Supplies Ltd")),
            f("SoldToContact", t("Ann Lee")),
            f("SoldToPONumber", t("PO-7781")),
            f("SalesRep", t("jsmith")),
        ],
        lines,
    }
}

fn benches(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio");
    let rt = Runtime::new(RuntimeSettings {
        call_deadline_ms: 5_000,
        memory_limit_mib: 64,
        ..RuntimeSettings::default()
    })
    .expect("runtime");
    let declarative = Arc::new(
        rt.load(&component("ferry_mapping"), Some(Role::Transform))
            .expect("load ferry_mapping"),
    );
    let rust_example = Arc::new(
        rt.load(&component("example_bundles"), Some(Role::Transform))
            .expect("load example_bundles"),
    );
    let text = DEFAULTS
        .iter()
        .find(|(k, _)| *k == "quote-to-order")
        .map(|(_, t)| *t)
        .expect("default mapping");
    let declarative_grants = Arc::new(Grants::for_tenant("bench").with_plugin(
        "mapping",
        BTreeMap::from([("mapping".to_string(), text.to_string())]),
    ));
    let example_grants =
        Arc::new(Grants::for_tenant("bench").with_plugin("example", BTreeMap::new()));
    let ctx = Context {
        tenant: "bench".into(),
        settings: vec![("warehouse".into(), "100".into())],
        ids: vec![("customer".into(), "C10042".into())],
    };
    let q = quote(20);
    let mapping = Mapping::parse(text).expect("parse");

    // The component and the native engine must agree, or the comparison means nothing.
    let native_out = mapping.map(&q, &ctx).expect("native maps");
    let wasm_out = tokio
        .block_on(async {
            rt.transform(&declarative, declarative_grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
        })
        .expect("call")
        .expect("mapped");
    assert_eq!(native_out, wasm_out);
    assert_eq!(native_out.document.lines.len(), 20);
    // The same component prepared (snapshot after `describe`): the mapping is parsed once.
    let prepared = Arc::new(
        tokio
            .block_on(rt.prepare_transform(&component("ferry_mapping"), declarative_grants.clone()))
            .expect("prepare ferry_mapping"),
    );
    let prepared_out = tokio
        .block_on(async {
            rt.transform(&prepared, declarative_grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
        })
        .expect("call")
        .expect("mapped");
    assert_eq!(native_out, prepared_out);
    let example_out = tokio
        .block_on(async {
            rt.transform(&rust_example, example_grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
        })
        .expect("call")
        .expect("mapped");
    assert_eq!(example_out.document.lines.len(), 20);
    #[cfg(feature = "bench-vrl")]
    let (vrl, vrl_event) = {
        let vrl = vrl_baseline::Vrl::compile();
        let event = vrl_baseline::input(&q, &ctx);
        let out = vrl_baseline::output(&vrl.run(event.clone()));
        assert_eq!(
            vrl_baseline::sorted(native_out.document.clone()),
            vrl_baseline::sorted(out),
            "the VRL program and the mapping file disagree"
        );
        (vrl, event)
    };

    let mut g = c.benchmark_group("quote_20_lines");
    g.throughput(Throughput::Elements(1));
    g.bench_function("declarative_component", |b| {
        b.to_async(&tokio).iter(|| async {
            rt.transform(&declarative, declarative_grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
                .expect("call")
        })
    });
    g.bench_function("declarative_component_prepared", |b| {
        b.to_async(&tokio).iter(|| async {
            rt.transform(&prepared, declarative_grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
                .expect("call")
        })
    });
    g.bench_function("rust_example_component", |b| {
        b.to_async(&tokio).iter(|| async {
            rt.transform(&rust_example, example_grants.clone())
                .await
                .expect("instantiate")
                .map("quote-to-order", &q, &ctx)
                .await
                .expect("call")
        })
    });
    g.bench_function("native_engine", |b| {
        b.iter(|| mapping.map(std::hint::black_box(&q), &ctx))
    });
    g.bench_function("native_engine_with_parse", |b| {
        b.iter(|| {
            let m = Mapping::parse(std::hint::black_box(text)).expect("parse");
            m.map(std::hint::black_box(&q), &ctx)
        })
    });
    #[cfg(feature = "bench-vrl")]
    g.bench_function("vrl", |b| {
        b.iter_batched(
            || vrl_event.clone(),
            |event| vrl.run(event),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();

    // Same-run ratios, documents per second.
    let prepared_call = || {
        tokio
            .block_on(async {
                rt.transform(&prepared, declarative_grants.clone())
                    .await
                    .expect("instantiate")
                    .map("quote-to-order", &q, &ctx)
                    .await
            })
            .expect("call")
    };
    let native_call = || {
        let _ = mapping.map(std::hint::black_box(&q), &ctx);
    };
    #[cfg(feature = "bench-vrl")]
    {
        let vrl_call = || {
            std::hint::black_box(vrl.run(vrl_event.clone()));
        };
        let clone_call = || {
            std::hint::black_box(vrl_event.clone());
        };
        let mut rates = common::rates(&mut [
            ("prepared component", &mut || {
                let _ = prepared_call();
            }),
            ("native engine", &mut { native_call }),
            ("vrl (with event clone)", &mut { vrl_call }),
            ("vrl event clone", &mut { clone_call }),
        ]);
        // VRL consumes its event, so each run is given a clone; the engine reads its input by
        // reference. VRL's own rate leaves the clone's time out (measured alone, same run).
        let clone_secs = 1.0 / rates[3].1;
        let vrl_rate = 1.0 / (1.0 / rates[2].1 - clone_secs);
        rates.push(("vrl".to_string(), vrl_rate));
        common::report_ratios("quote_20_lines docs/s vs VRL", &rates, "vrl");
    }
    #[cfg(not(feature = "bench-vrl"))]
    {
        let rates = common::rates(&mut [
            ("prepared component", &mut || {
                let _ = prepared_call();
            }),
            ("native engine", &mut { native_call }),
        ]);
        common::report_ratios(
            "quote_20_lines docs/s (VRL: feature bench-vrl)",
            &rates,
            "native engine",
        );
    }

    let mut g = c.benchmark_group("mapping_file");
    g.bench_function("parse_only", |b| {
        b.iter(|| Mapping::parse(std::hint::black_box(text)).expect("parse"))
    });
    g.finish();
}

criterion_group!(mapping, benches);
criterion_main!(mapping);
