//! Webhook intake (issue 16; `cargo xtask bench`, or `cargo bench -p ferry --features sandbox
//! --bench intake`): the real `ferry serve` (a process of its own, SQLite store) taking
//! QuoteWerks webhooks for the stack's tenant, beside a baseline measured in the same run: a
//! bare HTTP server in this process (axum, the stack Ferry's server is built on) that reads the
//! body and answers 202, storing nothing: what this machine's HTTP stack allows at best.
//!
//! Each webhook carries a status that is not ready, so Ferry checks its secret, has the tenant's
//! quoting plugin parse it, stores it durably (deduplicated by event id) and queues nothing.
//! Two measures per server:
//! - throughput: N posts (`FERRY_BENCH_INTAKE_POSTS`, default 20,000) over 64 connections;
//! - latency at a steady 500 req/s for S seconds (`FERRY_BENCH_INTAKE_SECS`, default 6),
//!   sent open-loop (each on time, whether or not the previous one was answered): p50 / p99.
//!
//! Sender and servers share the machine's cores.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::serve::{Serve, quiet_stack, run_at_most, spawn_serve, stop, table};
use ferry_sim::quotewerks::DEFAULT_SECRET_HEADER;
use ferry_sim::stack::SimStack;

const CONNECTIONS: usize = 64;
const RATE: u64 = 500;

struct Target {
    url: String,
    secret: String,
}

struct Row {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn main() -> anyhow::Result<()> {
    if common::listed("intake") {
        return Ok(());
    }
    let number = common::env_number;
    let posts = number("FERRY_BENCH_INTAKE_POSTS", 20_000)?;
    let secs = number("FERRY_BENCH_INTAKE_SECS", 6)? as u64;
    anyhow::ensure!(posts >= 1 && secs >= 1, "at least one post and one second");

    // The sender's runtime; the baseline server gets one of its own.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (base_rt, base_addr) = baseline_server()?;

    let rows = tokio.block_on(async {
        let mut stack = SimStack::start(quiet_stack()).await?;
        drop(stack.ferry_listener.take());
        let config = stack.dir.join("intake.toml");
        write_config(&stack.config_path, &config)?;
        let log = stack.dir.join("ferry.log");
        let data = stack.dir.join("data");
        let (child, url) = spawn_serve(
            &stack.dir,
            Serve {
                config: &config,
                data: Some(&data),
                log: &log,
                filter: "warn",
                pg: None,
            },
        )?;
        let ferry = Target {
            url: format!("{url}/hooks/{}/quotewerks", stack.tenant),
            secret: stack.webhook_secret.clone(),
        };
        let base = Target {
            url: format!("http://{base_addr}/hooks/bench/quotewerks"),
            secret: "bench".into(),
        };
        let outcome = async {
            let http = reqwest::Client::new();
            let mut rows = Vec::new();
            for (round, target) in [&base, &ferry].into_iter().enumerate() {
                let per_sec = throughput(&http, target, round, posts).await?;
                let (p50, p99) = latency(&http, target, round, secs).await?;
                rows.push(Row { per_sec, p50, p99 });
            }
            anyhow::Ok(rows)
        }
        .await;
        stop(child, &log, outcome.is_err());
        stack.shutdown().await;
        outcome
    })?;
    drop(base_rt);

    let (base, ferry) = (&rows[0], &rows[1]);
    println!();
    println!(
        "intake: {posts} webhooks over {CONNECTIONS} connections, then {RATE} req/s for {secs} s"
    );
    println!(
        "  {:<34} {:>10} {:>10} {:>10}",
        "server", "req/s", "p50", "p99"
    );
    for (name, r) in [
        ("bare axum (baseline)", base),
        ("ferry serve (SQLite)", ferry),
    ] {
        println!(
            "  {name:<34} {:>10.0} {:>10.2?} {:>10.2?}",
            r.per_sec, r.p50, r.p99
        );
    }
    println!(
        "  ferry / baseline: throughput {:.2}x, p99 {:.2}x (goal: >= 10,000 req/s; p99 <= 2 ms at {RATE} req/s)",
        ferry.per_sec / base.per_sec.max(1e-9),
        ferry.p99.as_secs_f64() / base.p99.as_secs_f64().max(1e-9),
    );
    Ok(())
}

/// A webhook whose status is not ready: stored, nothing queued.
fn post(
    http: &reqwest::Client,
    target: &Target,
    event: String,
) -> impl std::future::Future<Output = anyhow::Result<Duration>> + use<> {
    let body = serde_json::json!({
        "event": "QuoteWerks.DocumentStatusChanged",
        "eventId": event,
        "document": {"id": "1", "docNo": "Q-1", "docType": "QUOTE", "status": "Open"},
    });
    let req = http
        .post(&target.url)
        .header(DEFAULT_SECRET_HEADER, &target.secret)
        .header("content-type", "application/json")
        .body(body.to_string());
    async move {
        let t = Instant::now();
        let resp = req.send().await?;
        let status = resp.status();
        resp.bytes().await?;
        anyhow::ensure!(status.is_success(), "webhook: {status}");
        Ok(t.elapsed())
    }
}

/// Posts per second, `n` posts over [`CONNECTIONS`] connections.
async fn throughput(
    http: &reqwest::Client,
    target: &Target,
    round: usize,
    n: usize,
) -> anyhow::Result<f64> {
    // Open the connections first, so the measure is of requests, not of handshakes.
    let warm = (0..CONNECTIONS * 2).map(|k| post(http, target, format!("warm-{round}-{k}")));
    run_at_most(CONNECTIONS, warm).await?;
    let posts = (0..n).map(|k| post(http, target, format!("tp-{round}-{k}")));
    let t = Instant::now();
    run_at_most(CONNECTIONS, posts).await?;
    Ok(n as f64 / t.elapsed().as_secs_f64().max(1e-9))
}

/// p50 and p99 of posts sent at [`RATE`] a second for `secs` seconds, each on its own schedule.
async fn latency(
    http: &reqwest::Client,
    target: &Target,
    round: usize,
    secs: u64,
) -> anyhow::Result<(Duration, Duration)> {
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = Vec::new();
    for k in 0..RATE * secs {
        tick.tick().await;
        sent.push(tokio::spawn(post(http, target, format!("lat-{round}-{k}"))));
    }
    let mut took = Vec::with_capacity(sent.len());
    for handle in sent {
        took.push(handle.await??);
    }
    took.sort();
    let at = |p: f64| took[((took.len() - 1) as f64 * p).round() as usize];
    Ok((at(0.50), at(0.99)))
}

/// The baseline: reads the body, checks the secret header, answers 202 with a small JSON, on a
/// runtime of its own (two threads, as many as the machine's cores).
fn baseline_server() -> anyhow::Result<(tokio::runtime::Runtime, SocketAddr)> {
    use axum::http::{HeaderMap, StatusCode};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let secret = Arc::new("bench".to_string());
    let app = axum::Router::new().route(
        "/hooks/{tenant}/quotewerks",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let secret = secret.clone();
            async move {
                let ok = headers
                    .get(DEFAULT_SECRET_HEADER)
                    .is_some_and(|v| v.as_bytes() == secret.as_bytes());
                let parsed = serde_json::from_slice::<serde_json::Value>(&body).is_ok();
                if ok && parsed {
                    (StatusCode::ACCEPTED, r#"{"outcome":"stored"}"#)
                } else {
                    (StatusCode::BAD_REQUEST, "{}")
                }
            }
        }),
    );
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((rt, addr))
}

/// The stack's config, on a port of its own and with no intake rate limit (the bench measures
/// intake).
fn write_config(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(from)?)?;
    let server = table(&mut doc, "server")?;
    server.insert("listen".into(), "127.0.0.1:0".into());
    server.insert("tenant_rate_per_sec".into(), 0.into());
    std::fs::write(to, toml::to_string(&doc)?)?;
    Ok(())
}
