//! Helpers shared by the end-to-end tests in tests/tests/: where the real `ferry` binary and
//! the built plugin components are, and running the binary like a user does.

use std::path::{Path, PathBuf};
pub mod customers;
pub mod holds;
pub mod nodes;
pub mod orders;
pub mod runs;
pub mod sinks;
pub mod stack;
pub mod sync;

use std::io::BufRead;
use std::process::{Child, Command, Output, Stdio};

fn workspace_root() -> PathBuf {
    ferry_layout::workspace_root()
}

/// The `ferry` binary: `FERRY_BIN` (set by `cargo xtask test`), else target/debug/ferry.
pub fn ferry_bin() -> PathBuf {
    let path = std::env::var_os("FERRY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/ferry"));
    assert!(
        path.exists(),
        "{} not found: run the tests with `cargo xtask test` (or `cargo build -p ferry --features sandbox` first)",
        path.display()
    );
    // `ferry sandbox` and `ferry sim` are linked in only with the `sandbox` feature: say so once
    // rather than fail a test on an unknown subcommand.
    static HAS_SIM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let has_sim = *HAS_SIM.get_or_init(|| {
        Command::new(&path)
            .args(["sim", "--help"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(
        has_sim,
        "{} was built without the simulators: build it with `cargo build -p ferry --features sandbox` (`cargo xtask test` does)",
        path.display()
    );
    path
}

/// Where `cargo xtask build-plugins` put the components (`FERRY_PLUGIN_DIR`, else
/// target/plugins).
pub fn plugin_dir() -> PathBuf {
    ferry_layout::component_dir()
}

/// A component built by `cargo xtask build-plugins`.
pub fn plugin(name: &str) -> PathBuf {
    let path = ferry_layout::component(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo xtask build-plugins` (or `cargo xtask test`)",
        path.display()
    );
    path
}

/// The result of one `ferry` invocation, with its output as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Fails the test, showing everything, unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs `ferry` with `args` against the data directory `data`, to completion.
pub fn ferry(data: &Path, args: &[&str]) -> Run {
    let out = Command::new(ferry_bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("running ferry");
    Run::from(out)
}

/// A `ferry` process that is killed when dropped (tests never leak servers).
pub struct Running {
    pub child: Child,
    /// The JSON of its `READY {json}` line.
    pub ready: serde_json::Value,
}

impl Running {
    pub fn base_url(&self) -> String {
        self.ready["base_url"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `ferry --data-dir DATA ARGS` and waits for its `READY {json}` line on stdout.
pub fn spawn(data: &Path, args: &[&str]) -> Running {
    let mut full = vec![
        "--data-dir".to_string(),
        data.to_str().expect("utf-8").to_string(),
    ];
    full.extend(args.iter().map(|a| a.to_string()));
    spawn_raw(Path::new("."), &full)
}

/// Starts `ferry ARGS` in `cwd` and waits for its `READY {json}` line on stdout.
pub fn spawn_raw(cwd: &Path, args: &[String]) -> Running {
    spawn_raw_env(cwd, args, &[])
}

/// As [`spawn_raw`], with extra environment variables (e.g. `LD_PRELOAD` for faketime).
pub fn spawn_raw_env(cwd: &Path, args: &[String], env: &[(&str, &std::ffi::OsStr)]) -> Running {
    spawn_with(cwd, args, env, Stdio::inherit())
}

/// As [`spawn_raw`], with the server's log (stderr) written to `log`, for tests that read it
/// (e.g. to find panics).
pub fn spawn_logged(cwd: &Path, args: &[String], log: &Path) -> Running {
    let file = std::fs::File::create(log).expect("log file");
    spawn_with(cwd, args, &[], Stdio::from(file))
}

/// As [`spawn_logged`], with extra environment variables; the log is appended to (a node
/// restarted keeps its earlier runs' lines).
pub fn spawn_logged_env(
    cwd: &Path,
    args: &[String],
    env: &[(&str, &std::ffi::OsStr)],
    log: &Path,
) -> Running {
    let file = std::fs::File::options()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    spawn_with(cwd, args, env, Stdio::from(file))
}

fn spawn_with(
    cwd: &Path,
    args: &[String],
    env: &[(&str, &std::ffi::OsStr)],
    stderr: Stdio,
) -> Running {
    let mut child = Command::new(ferry_bin())
        .current_dir(cwd)
        .args(args)
        .env("FERRY_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("starting ferry");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let ready = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(json) = line.strip_prefix("READY ") {
                    break serde_json::from_str(json).expect("READY json");
                }
            }
            _ => {
                let _ = child.kill();
                // The node's log, when it went to a file: why it stopped.
                let log = args
                    .iter()
                    .position(|a| a == "--data-dir")
                    .and_then(|i| args.get(i + 1))
                    .and_then(|d| std::fs::read_to_string(format!("{d}.log")).ok())
                    .unwrap_or_default();
                panic!("ferry {args:?} exited before it was ready\n{log}");
            }
        }
    };
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Running { child, ready }
}
