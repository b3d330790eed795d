//! Build orchestration: `cargo xtask <command>`. Builds the guest plugins (wasm32-wasip2),
//! then whatever the command needs from the host. Everything a fresh machine with only rustup
//! and cargo needs is installed here, so README's two commands just work.

mod tidy;

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
    /// fmt check, clippy (host and plugins), cargo-deny, a compile check of the fuzz targets,
    /// and the tests.
    Ci,
    /// Run each fuzz target (fuzz/) for a while with cargo-fuzz; installs cargo-fuzz if missing.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        secs: u64,
        /// Targets to run (default: all of them).
        targets: Vec<String>,
    },
    /// `cargo deny check bans licenses sources` (deny.toml); installs cargo-deny if missing.
    Deny,
    /// Layer and frozen-contract checks (no build); also run first by `test`.
    Tidy,
}

const WASM_TARGET: &str = "wasm32-wasip2";
/// The README's commands build Ferry with the simulators linked in (`ferry sandbox`, `ferry
/// sim`); a release build leaves them out. Test builds use the same features as the build of
/// the binary the end-to-end tests run, so neither rebuilds the other's `ferry`.
const SANDBOX: &str = "ferry/sandbox";

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
            cmd.args([
                "run",
                "--quiet",
                "-p",
                "ferry",
                "--features",
                "sandbox",
                "--",
                "sandbox",
                "--demo",
            ])
            .env(ferry_layout::PLUGIN_DIR_ENV, &dir);
            run(cmd)
        }
        Cmd::Bench { rest } => {
            let dir = build_plugins(&root)?;
            // The nodes bench starts a throwaway PostgreSQL.
            ensure_postgres();
            let mut cmd = cargo(&root);
            // `bench-vrl`: the mapping bench's VRL baseline (a large build, benches only).
            cmd.args(["bench", "-p", "ferry", "--features", "sandbox,bench-vrl"])
                .args(rest)
                .env(ferry_layout::PLUGIN_DIR_ENV, &dir);
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
            deny(&root)?;
            check_fuzz(&root)?;
            test(&root, &dir, &[])
        }
        Cmd::Fuzz { secs, targets } => fuzz(&root, secs, &targets),
        Cmd::Deny => deny(&root),
        Cmd::Tidy => tidy::tidy(&root),
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
    // Layers and frozen contracts first: no build needed, and a break is a design fault.
    tidy::tidy(root)?;
    // The guest crates' own unit tests, natively (a filter in `rest` is for the host's tests).
    if rest.is_empty() {
        test_guests(root)?;
    }
    ensure_faketime();
    ensure_postgres();
    ensure_chromium();
    // End-to-end tests drive the real binary: build it first so they never race its build.
    let mut build = cargo(root);
    build.args(["build", "-p", "ferry", "--features", SANDBOX]);
    run(build)?;
    let mut cmd = cargo(root);
    cmd.args(["test", "--workspace", "--features", SANDBOX])
        .args(rest)
        .env(ferry_layout::PLUGIN_DIR_ENV, plugin_dir)
        .env("FERRY_BIN", root.join("target").join("debug").join("ferry"));
    run(cmd)
}

/// Runs the unit tests of the guest crates (plugins/) for the host target: their parsers and
/// rules are plain Rust, and the WIT imports they never call in a unit test link as stubs. An
/// explicit `--target` keeps these builds in plugins/target/<host triple>, apart from the
/// wasm32-wasip2 release builds, so neither invalidates the other's cache.
fn test_guests(root: &Path) -> anyhow::Result<()> {
    let host = host_triple()?;
    let mut cmd = cargo(&root.join("plugins"));
    cmd.args(["test", "--workspace", "--target", &host])
        .env_remove("CARGO_TARGET_DIR");
    run(cmd)
}

fn host_triple() -> anyhow::Result<String> {
    let out = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV printed no host triple")
}

/// libfaketime, for tests/tests/clock_jumps.rs (Debian's multiarch path, or the plain one).
fn libfaketime_installed() -> bool {
    let multiarch = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .any(|e| e.path().join("faketime/libfaketime.so.1").exists());
    multiarch || Path::new("/usr/lib/faketime/libfaketime.so.1").exists()
}

/// Installs Debian's faketime (the clock-jump tests preload its library) when missing. Not
/// fatal: without it the clock-jump tests fail and say how to install it.
fn ensure_faketime() {
    if libfaketime_installed() {
        return;
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd.status().is_ok_and(|s| s.success())
    };
    eprintln!("xtask: installing faketime with apt-get (for the clock-jump tests)");
    let installed = apt(&["install", "-y", "-q", "faketime"])
        // The package lists may be empty (a fresh container): fetch them once and retry.
        || (apt(&["update", "-q"]) && apt(&["install", "-y", "-q", "faketime"]));
    if !installed {
        eprintln!(
            "xtask: could not install faketime; tests/tests/clock_jumps.rs will fail (install it with `apt-get install faketime`)"
        );
    }
}

/// PostgreSQL's server binaries (`initdb`, `postgres`): the store's conformance suite and the
/// PostgreSQL e2e tests start a throwaway cluster with them (`ferry_store::testing::pg`, which
/// looks on PATH and in Debian's /usr/lib/postgresql/*/bin).
fn postgres_installed() -> bool {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("initdb").is_file()));
    on_path
        || std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .any(|e| e.path().join("bin/initdb").is_file())
}

/// Installs Debian's PostgreSQL server when `initdb` is missing. Not fatal: without it the
/// PostgreSQL tests fail and say how to install it.
fn ensure_postgres() {
    if postgres_installed() {
        return;
    }
    eprintln!("xtask: installing postgresql with apt-get (for the PostgreSQL store tests)");
    if !apt_install("postgresql") {
        eprintln!(
            "xtask: could not install postgresql; the PostgreSQL store tests will fail (install it with `apt-get install -y postgresql`)"
        );
    }
}

/// Installs Debian's Chromium and its WebDriver when either is missing, for the console's
/// browser test (`tests/tests/console.rs`). Not fatal: without them that test fails and says
/// how to install them.
fn ensure_chromium() {
    let installed = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .all(|p| Path::new(p).is_file());
    if installed {
        return;
    }
    eprintln!(
        "xtask: installing chromium and chromium-driver with apt-get (for the console's browser test)"
    );
    if !(apt_install("chromium") && apt_install("chromium-driver")) {
        eprintln!(
            "xtask: could not install chromium; the console's browser test will fail (install it with `apt-get install -y chromium chromium-driver`)"
        );
    }
}

/// `apt-get install -y PACKAGE` (through `sudo -n` when not root), fetching the package lists
/// first if the install fails on a fresh machine's empty lists.
fn apt_install(package: &str) -> bool {
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd.status().is_ok_and(|s| s.success())
    };
    apt(&["install", "-y", "-q", package])
        || (apt(&["update", "-q"]) && apt(&["install", "-y", "-q", package]))
}

/// Installs a cargo subcommand from crates.io when `cargo <sub> --version` fails.
fn ensure_cargo_tool(root: &Path, krate: &str, sub: &str) -> anyhow::Result<()> {
    let mut probe = cargo(root);
    probe.args([sub, "--version"]);
    if probe.output().is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    eprintln!("xtask: installing {krate} with cargo install");
    let mut install = cargo(root);
    install
        .args(["install", "--locked", krate])
        .env_remove("CARGO_TARGET_DIR");
    run(install)
}

/// License, ban and source checks (deny.toml). Advisories need the RustSec database, which
/// needs the network: run `cargo deny check advisories` where there is one.
fn deny(root: &Path) -> anyhow::Result<()> {
    ensure_cargo_tool(root, "cargo-deny", "deny")?;
    let mut cmd = cargo(root);
    // The inclusion graphs of duplicate versions (upstream's to unify) drown the real findings.
    cmd.args([
        "deny",
        "check",
        "--hide-inclusion-graph",
        "bans",
        "licenses",
        "sources",
    ]);
    run(cmd)
}

/// The fuzz targets in fuzz/Cargo.toml.
const FUZZ_TARGETS: &[&str] = &["webhook", "bod", "mi_response", "mapping_expr"];

/// Runs each fuzz target for `secs` with cargo-fuzz (libFuzzer and AddressSanitizer need
/// nightly flags; RUSTC_BOOTSTRAP=1 lets the installed toolchain take them). New inputs go to
/// fuzz/corpus/<target>, crashes to fuzz/artifacts/<target>; every target runs even after one
/// crashes, and the command fails naming them.
fn fuzz(root: &Path, secs: u64, targets: &[String]) -> anyhow::Result<()> {
    ensure_cargo_tool(root, "cargo-fuzz", "fuzz")?;
    let dir = root.join("fuzz");
    let targets: Vec<&str> = if targets.is_empty() {
        FUZZ_TARGETS.to_vec()
    } else {
        targets.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = targets.iter().find(|t| !FUZZ_TARGETS.contains(t)) {
        bail!(
            "no fuzz target '{unknown}' (there are: {})",
            FUZZ_TARGETS.join(", ")
        );
    }
    let mut crashed = Vec::new();
    for target in targets {
        let corpus = dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let mut cmd = cargo(&dir);
        cmd.args(["fuzz", "run", "--debug-assertions", target])
            .arg(&corpus);
        let seeds = dir.join("seeds").join(target);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.arg("--")
            .arg(format!("-max_total_time={secs}"))
            // A slow input is a finding too (a parser gone quadratic), as is a huge allocation.
            .args(["-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"])
            .env("RUSTC_BOOTSTRAP", "1")
            .env_remove("CARGO_TARGET_DIR");
        eprintln!("xtask: fuzzing {target} for {secs} s");
        if let Err(e) = run(cmd) {
            eprintln!("xtask: {target}: {e}");
            crashed.push(target);
        }
    }
    if !crashed.is_empty() {
        bail!(
            "fuzzing found crashes in {}: inputs in fuzz/artifacts/<target>/ (replay with `cargo fuzz run <target> <file>`)",
            crashed.join(", ")
        );
    }
    Ok(())
}

/// A plain compile check of the fuzz targets (no nightly flags, its own target dir), so API
/// changes in the parsers they drive don't break `cargo xtask fuzz` unnoticed.
fn check_fuzz(root: &Path) -> anyhow::Result<()> {
    let mut cmd = cargo(&root.join("fuzz"));
    cmd.args(["check", "--bins"]).env_remove("CARGO_TARGET_DIR");
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
    ("contract-1-0", "contract_1_0"),
    ("contract-1-1-erp", "contract_1_1_erp"),
    ("contract-1-1-quoting", "contract_1_1_quoting"),
    ("contract-1-3-erp", "contract_1_3_erp"),
    ("wasi-logging-transform", "wasi_logging_transform"),
    ("ferry-mapping", "ferry_mapping"),
    ("example-bundles", "example_bundles"),
    ("m3-connector", "m3_connector"),
    ("quotewerks-connector", "quotewerks_connector"),
];

fn build_plugins(root: &Path) -> anyhow::Result<PathBuf> {
    ensure_wasm_target()?;
    let plugins = root.join("plugins");
    let out_dir = ferry_layout::build_output(root);
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
            &ferry_layout::component_path(&out_dir, file),
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
        &ferry_layout::component_path(&out_dir, "test_transform_v2"),
    )?;
    // A second version of the M3 connector (YREF in upper case), for connector shadow runs.
    let next_target = plugins.join("target").join("next");
    let mut next = cargo(&plugins);
    next.args([
        "build",
        "--release",
        "--target",
        WASM_TARGET,
        "-p",
        "m3-connector",
        "--features",
        "yref-upper",
    ])
    .arg("--target-dir")
    .arg(&next_target);
    run(next)?;
    copy(
        &next_target
            .join(WASM_TARGET)
            .join("release")
            .join("m3_connector.wasm"),
        &ferry_layout::component_path(&out_dir, "m3_connector_yref_upper"),
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
    let out = ferry_layout::component_path(out_dir, "example_pricing");
    let stamp = out_dir.join("example_pricing.inputs");
    let mut inputs = vec![app_dir.join("app.py")];
    // The transform package and the packages it depends on (wit/transform/deps links them).
    let mut wit: Vec<PathBuf> = Vec::new();
    for package in ["transform", "host", "types"] {
        wit.extend(
            std::fs::read_dir(root.join("wit").join(package))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wit")),
        );
    }
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
        .arg(root.join("wit/transform"))
        .args(["-w", "plugin", "componentize", "-p"])
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
