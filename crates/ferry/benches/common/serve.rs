//! Starting the real `ferry serve` as a process of its own, for the benches that measure it
//! from outside.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use ferry_sim::stack::{FerrySettings, StackOptions};
use futures_util::StreamExt;

/// How to start one `ferry serve`.
pub struct Serve<'a> {
    pub config: &'a Path,
    /// `--data-dir`; none: the config's.
    pub data: Option<&'a Path>,
    /// Its stderr goes here.
    pub log: &'a Path,
    /// `FERRY_LOG`.
    pub filter: &'a str,
    /// The store named by `FERRY_DATABASE_URL`; none: the config's.
    pub pg: Option<&'a str>,
}

/// Starts `ferry serve` in `dir` and waits for its READY line: the child and its base URL.
pub fn spawn_serve(dir: &Path, serve: Serve<'_>) -> anyhow::Result<(Child, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.current_dir(dir).arg("--config").arg(serve.config);
    if let Some(data) = serve.data {
        cmd.arg("--data-dir").arg(data);
    }
    cmd.arg("serve")
        .env("FERRY_LOG", serve.filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(serve.log)?));
    if let Some(url) = serve.pg {
        cmd.env("FERRY_DATABASE_URL", url);
    }
    let log = serve.log;
    let mut child = cmd.spawn().context("starting ferry serve")?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = std::io::BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("READY ") => {
                let ready: serde_json::Value = serde_json::from_str(&line["READY ".len()..])?;
                break ready["base_url"]
                    .as_str()
                    .context("no base_url in the READY line")?
                    .to_string();
            }
            Some(Ok(_)) => {}
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "ferry serve exited before it was ready:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        }
    };
    // Keep reading stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((child, url))
}

/// Stops a `ferry serve` started by [`spawn_serve`]; when its run `failed` (or with
/// `FERRY_BENCH_PRINT_LOG` set), prints its log.
pub fn stop(mut child: Child, log: &Path, failed: bool) {
    let _ = child.kill();
    let _ = child.wait();
    if failed || std::env::var_os("FERRY_BENCH_PRINT_LOG").is_some() {
        eprintln!("{}", std::fs::read_to_string(log).unwrap_or_default());
    }
}

/// The config's table `key`, made when it is missing.
pub fn table<'a>(doc: &'a mut toml::Table, key: &str) -> anyhow::Result<&'a mut toml::Table> {
    doc.entry(key)
        .or_insert_with(|| toml::Table::new().into())
        .as_table_mut()
        .with_context(|| format!("[{key}] is not a table"))
}

/// The demo stack with nothing moving on its own: no quotes, no failing quotes, no BODs sent to
/// Ferry, polling off. Each bench adds the load it measures.
pub fn quiet_stack() -> StackOptions {
    let mut opts = StackOptions::demo(None, super::plugin_dir());
    opts.quotes = 0;
    opts.bad_quotes = false;
    opts.bods_to_ferry = false;
    opts.ferry = FerrySettings {
        poll_interval_secs: 0,
        ..FerrySettings::demo()
    };
    opts
}

/// Runs `jobs`, `at_once` at a time; the first that failed fails the lot.
pub async fn run_at_most<T>(
    at_once: usize,
    jobs: impl Iterator<Item = impl Future<Output = anyhow::Result<T>>>,
) -> anyhow::Result<()> {
    let done: Vec<_> = futures_util::stream::iter(jobs)
        .buffer_unordered(at_once)
        .collect()
        .await;
    for r in done {
        r?;
    }
    Ok(())
}
