//! Shared by the benchmarks: where `cargo xtask build-plugins` put the components.
// Each benchmark uses its own subset of these helpers.
#![allow(dead_code)]

pub mod serve;

use std::path::PathBuf;

/// Whether the bench was asked only to list itself (`cargo bench -- --list`); says its name.
pub fn listed(name: &str) -> bool {
    let list = std::env::args().any(|a| a == "--list");
    if list {
        println!("{name}: benchmark");
    }
    list
}

/// The number in environment variable `var`, else `default`.
pub fn env_number(var: &str, default: usize) -> anyhow::Result<usize> {
    use anyhow::Context;
    match std::env::var(var) {
        Ok(s) => s.trim().parse().with_context(|| format!("{var}: a number")),
        Err(_) => Ok(default),
    }
}

/// `FERRY_PLUGIN_DIR`, else target/plugins (`ferry_layout`).
pub fn plugin_dir() -> PathBuf {
    ferry_layout::component_dir()
}

/// A built component's bytes.
pub fn component(name: &str) -> Vec<u8> {
    let path = ferry_layout::component(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask bench`)", path.display()))
}

/// Calls per second of each closure, measured in the same run: 7 interleaved rounds of about
/// 0.3 s each (so a noisy neighbour hurts all alike), the median round per closure.
pub fn rates(calls: &mut [(&str, &mut dyn FnMut())]) -> Vec<(String, f64)> {
    use std::time::{Duration, Instant};
    const ROUNDS: usize = 7;
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); calls.len()];
    for (_, f) in calls.iter_mut() {
        for _ in 0..20 {
            f();
        }
    }
    for _ in 0..ROUNDS {
        for (i, (_, f)) in calls.iter_mut().enumerate() {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_millis(300) {
                f();
                n += 1;
            }
            per[i].push(n as f64 / start.elapsed().as_secs_f64());
        }
    }
    calls
        .iter()
        .zip(per)
        .map(|((name, _), mut r)| {
            r.sort_by(f64::total_cmp);
            (name.to_string(), r[ROUNDS / 2])
        })
        .collect()
}

/// Prints each rate and its ratio to `baseline`'s (one of `rates`).
pub fn report_ratios(title: &str, rates: &[(String, f64)], baseline: &str) {
    let base = rates
        .iter()
        .find(|(n, _)| n == baseline)
        .map(|(_, r)| *r)
        .expect("baseline among the rates");
    println!("{title}:");
    for (name, rate) in rates {
        println!(
            "  {name:<28} {rate:>12.0}/s  {:.2}x {baseline}",
            rate / base
        );
    }
}
