//! Starting the real `ferry serve` as a process of its own, for the benches that measure it
//! from outside.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::Context;

/// Starts one `ferry serve` (config `config`, data under `data`, stderr to `log`, the store
/// named by `FERRY_DATABASE_URL = pg` when given) and waits for its READY line: the child and
/// its base URL.
pub fn spawn_node(
    dir: &Path,
    config: &Path,
    data: &Path,
    log: &Path,
    pg: Option<&str>,
) -> anyhow::Result<(Child, String)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.current_dir(dir)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .arg("serve")
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(log)?));
    if let Some(url) = pg {
        cmd.env("FERRY_DATABASE_URL", url);
    }
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

/// The config's table `key`, made when it is missing.
pub fn table<'a>(doc: &'a mut toml::Table, key: &str) -> anyhow::Result<&'a mut toml::Table> {
    doc.entry(key)
        .or_insert_with(|| toml::Table::new().into())
        .as_table_mut()
        .with_context(|| format!("[{key}] is not a table"))
}
