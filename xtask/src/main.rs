//! Build orchestration: `cargo xtask <command>`. Builds the guest plugins (wasm32-wasip2),
//! then whatever the command needs from the host. Everything a fresh machine with only rustup
//! and cargo needs is installed here, so README's two commands just work.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Ferry's build entry point")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build every guest plugin into target/plugins/.
    BuildPlugins,
    /// Build plugins, then run every test in the workspace (what CI runs).
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
    /// Build plugins, then run the sandbox demo end to end.
    Demo,
    /// Build plugins, then run the benchmarks (release build).
    Bench {
        #[arg(trailing_var_arg = true)]
        rest: Vec<String>,
    },
    /// fmt check, clippy (host and plugins) and the tests.
    Ci,
}

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = workspace_root()?;
    match args.command {
        Cmd::BuildPlugins => build_plugins(&root).map(|_| ()),
        Cmd::Test { rest } => {
            let dir = build_plugins(&root)?;
            test(&root, &dir, &rest)
        }
        Cmd::Demo => {
            let dir = build_plugins(&root)?;
            let mut cmd = cargo(&root);
            cmd.args(["run", "--quiet", "-p", "ferry", "--", "sandbox", "--demo"])
                .env("FERRY_PLUGIN_DIR", &dir);
            run(cmd)
        }
        Cmd::Bench { rest } => {
            let dir = build_plugins(&root)?;
            let mut cmd = cargo(&root);
            cmd.args(["bench", "-p", "ferry"])
                .args(rest)
                .env("FERRY_PLUGIN_DIR", &dir);
            run(cmd)
        }
        Cmd::Ci => {
            let mut fmt = cargo(&root);
            fmt.args(["fmt", "--all", "--check"]);
            run(fmt)?;
            let mut clippy = cargo(&root);
            clippy.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]);
            run(clippy)?;
            let dir = build_plugins(&root)?;
            let mut guest_clippy = cargo(&root.join("plugins"));
            guest_clippy.args(["clippy", "--target", WASM_TARGET, "--", "-D", "warnings"]);
            run(guest_clippy)?;
            test(&root, &dir, &[])
        }
    }
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

fn cargo(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir);
    cmd
}

fn run(mut cmd: Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn test(root: &Path, plugin_dir: &Path, rest: &[String]) -> anyhow::Result<()> {
    // End-to-end tests drive the real binary: build it first so they never race its build.
    let mut build = cargo(root);
    build.args(["build", "-p", "ferry"]);
    run(build)?;
    let mut cmd = cargo(root);
    cmd.args(["test", "--workspace"])
        .args(rest)
        .env("FERRY_PLUGIN_DIR", plugin_dir)
        .env("FERRY_BIN", root.join("target").join("debug").join("ferry"));
    run(cmd)
}

/// Installs the wasm target when missing (rustup is the one tool we may assume).
fn ensure_wasm_target() -> anyhow::Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (needed to add the wasm32-wasip2 target)")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    eprintln!("xtask: installing the {WASM_TARGET} target with rustup");
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", WASM_TARGET]);
    run(cmd)
}

/// Guest crates and the file names their components get in target/plugins/.
const PLUGINS: &[(&str, &str)] = &[
    ("test-transform", "test_transform"),
    ("test-erp", "test_erp"),
    ("test-quoting", "test_quoting"),
    ("future-transform", "future_transform"),
];

fn build_plugins(root: &Path) -> anyhow::Result<PathBuf> {
    ensure_wasm_target()?;
    let plugins = root.join("plugins");
    let out_dir = root.join("target").join("plugins");
    std::fs::create_dir_all(&out_dir)?;

    let mut build = cargo(&plugins);
    build.args(["build", "--release", "--target", WASM_TARGET]);
    // Cargo inside `cargo xtask` would otherwise inherit the host workspace's target dir.
    build.env_remove("CARGO_TARGET_DIR");
    run(build)?;
    let built = plugins.join("target").join(WASM_TARGET).join("release");
    for (_, file) in PLUGINS {
        copy(
            &built.join(format!("{file}.wasm")),
            &out_dir.join(format!("{file}.wasm")),
        )?;
    }

    // A second version of the test transform, for hot-swap tests; its own target dir keeps
    // both builds cached.
    let v2_target = plugins.join("target").join("v2");
    let mut v2 = cargo(&plugins);
    v2.args([
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "-p",
        "test-transform",
        "--features",
        "v2",
    ])
    .arg("--target-dir")
    .arg(&v2_target);
    run(v2)?;
    copy(
        &v2_target
            .join(WASM_TARGET)
            .join("release")
            .join("test_transform.wasm"),
        &out_dir.join("test_transform_v2.wasm"),
    )?;
    eprintln!("xtask: plugins in {}", out_dir.display());
    Ok(out_dir)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}
