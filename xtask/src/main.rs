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
    ("hostile-sql", "hostile_sql"),
    ("future-transform", "future_transform"),
    ("ferry-mapping", "ferry_mapping"),
    ("example-bundles", "example_bundles"),
    ("m3-connector", "m3_connector"),
    ("quotewerks-connector", "quotewerks_connector"),
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
    build_python_example(root, &out_dir)?;
    eprintln!("xtask: plugins in {}", out_dir.display());
    Ok(out_dir)
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// componentize-py builds the Python example; pinned so components are reproducible.
const COMPONENTIZE_PY: &str = "0.25.1";

/// The Python example transform (plugins/examples/python-pricing), built with componentize-py
/// against world `transform`. componentize-py is pip-installed into target/ on first use (PyPI
/// is the one thing needed besides rustup and cargo). The build takes seconds and makes an
/// ~18 MB component, so it is skipped while its inputs (the Python sources, wit/ and the
/// componentize-py version) are unchanged.
fn build_python_example(root: &Path, out_dir: &Path) -> anyhow::Result<()> {
    let app_dir = root.join("plugins/examples/python-pricing");
    let out = out_dir.join("example_pricing.wasm");
    let stamp = out_dir.join("example_pricing.inputs");
    let mut inputs = vec![app_dir.join("app.py")];
    let mut wit: Vec<PathBuf> = std::fs::read_dir(root.join("wit"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wit"))
        .collect();
    wit.sort();
    inputs.extend(wit);
    let mut hash = Fnv::default();
    hash.write(COMPONENTIZE_PY.as_bytes());
    for path in &inputs {
        hash.write(
            path.strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .as_bytes(),
        );
        hash.write(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    }
    let digest = format!("{:016x}", hash.0);
    if out.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == digest) {
        return Ok(());
    }

    let python = python()?;
    let site = root
        .join("target")
        .join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let probe = Command::new(&python)
        .args(["-c", "import componentize_py"])
        .env("PYTHONPATH", &site)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "xtask: installing componentize-py {COMPONENTIZE_PY} into {}",
            site.display()
        );
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--upgrade",
        ])
        .arg("--target")
        .arg(&site)
        .arg(format!("componentize-py=={COMPONENTIZE_PY}"));
        run(pip)
            .context("installing componentize-py with pip (needs python3 with pip, and PyPI)")?;
    }
    eprintln!("xtask: building the Python example with componentize-py");
    let mut build = Command::new(&python);
    build
        .args([
            "-c",
            "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
        ])
        .arg("-d")
        .arg(root.join("wit"))
        .args(["-w", "transform", "componentize", "-p"])
        .arg(&app_dir)
        .args(["app", "-o"])
        .arg(&out)
        .env("PYTHONPATH", &site);
    run(build)?;
    std::fs::write(&stamp, digest)?;
    Ok(())
}

fn python() -> anyhow::Result<String> {
    for candidate in ["python3", "python"] {
        if Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Ok(candidate.to_string());
        }
    }
    bail!("python3 is needed to build the Python example plugin (plugins/examples/python-pricing)")
}

/// FNV-1a: a hash that stays the same across Rust versions, for the build stamp.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separate inputs so ("ab", "c") and ("a", "bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
}
