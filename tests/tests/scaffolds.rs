//! `ferry plugin new` for all six combinations (three worlds, Rust and Python), each built and
//! tested the way its README says, against the contract `ferry wit export` wrote into it; the
//! transforms also through `ferry plugin test` on their own fixtures; and `ferry wit export`
//! writing the repository's wit/ byte for byte.
//!
//! Rust projects build with `CARGO_TARGET_DIR` shared with the guest plugins' build
//! (plugins/target) and plugins/Cargo.lock, offline, so the dependencies they share with the
//! pdk are compiled once. Python needs componentize-py, which `cargo xtask test` installs into
//! target/ (the test fails saying so when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_tests::ferry;

const WORLDS: [&str; 3] = ["transform", "erp-connector", "quoting-connector"];
const COMPONENTIZE_PY: &str = "0.25.1";

fn root() -> PathBuf {
    ferry_layout::workspace_root()
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn new_project(data: &Path, dir: &Path, name: &str, world: &str, lang: &str) {
    let pdk = root().join("plugins/pdk");
    let mut args = vec![
        "plugin",
        "new",
        name,
        "--world",
        world,
        "--lang",
        lang,
        "--dir",
        dir.to_str().unwrap(),
    ];
    if lang == "rust" {
        args.extend(["--pdk-path", pdk.to_str().unwrap()]);
    }
    let made = ferry(data, &args).expect_code(0);
    assert!(made.stdout.contains("next:"), "{}", made.stdout);
    assert!(dir.join("README.md").is_file());
    // The project carries the contract; nothing points back into Ferry's source.
    assert!(dir.join(format!("wit/{}", package(world))).is_dir());
    for f in tree(dir).iter().filter(|f| !f.starts_with("wit")) {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        assert!(!text.contains("../wit"), "{} points at ../wit", f.display());
    }
}

fn package(world: &str) -> &'static str {
    match world {
        "transform" => "transform",
        "erp-connector" => "erp",
        _ => "quoting",
    }
}

fn host_triple() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("a host triple")
        .to_string()
}

fn cargo(dir: &Path, target_dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_NET_OFFLINE", "true");
    cmd
}

#[test]
fn wit_export_writes_the_contract_byte_for_byte() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("wit");
    let done = ferry(data.path(), &["wit", "export", dir.to_str().unwrap()]).expect_code(0);
    let wit = root().join("wit");
    assert_eq!(tree(&dir), tree(&wit), "{}", done.stdout);
    for f in tree(&wit) {
        assert_eq!(
            std::fs::read(dir.join(&f)).unwrap(),
            std::fs::read(wit.join(&f)).unwrap(),
            "{} differs",
            f.display()
        );
    }
}

#[test]
fn rust_scaffolds_build_and_pass_their_tests() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let target_dir = root().join("plugins/target");
    let host = host_triple();
    for world in WORLDS {
        let name = format!("scaffold-{world}");
        let dir = work.path().join(&name);
        new_project(data.path(), &dir, &name, world, "rust");
        // The pdk's lock file: the same dependency versions as the plugins, offline.
        std::fs::copy(root().join("plugins/Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        run(
            cargo(&dir, &target_dir).args(["build", "--release", "--target", "wasm32-wasip2"]),
            &format!("{name}: cargo build"),
        );
        run(
            cargo(&dir, &target_dir).args(["test", "--target", &host]),
            &format!("{name}: cargo test"),
        );
        let wasm = target_dir.join(format!(
            "wasm32-wasip2/release/{}.wasm",
            name.replace('-', "_")
        ));
        let check = ferry(
            data.path(),
            &[
                "plugin",
                "check",
                wasm.to_str().unwrap(),
                "--role",
                package(world),
            ],
        )
        .expect_code(0);
        assert!(check.stdout.contains("ok: compatible"), "{}", check.stdout);
        if world == "transform" {
            let fixtures = dir.join("fixtures");
            let passed = ferry(
                data.path(),
                &[
                    "plugin",
                    "test",
                    wasm.to_str().unwrap(),
                    "--fixtures",
                    fixtures.to_str().unwrap(),
                ],
            )
            .expect_code(0);
            assert!(
                passed.stdout.contains("2 passed, 0 failed"),
                "{}",
                passed.stdout
            );
            a_changed_expectation_fails_with_the_field(data.path(), &wasm, &fixtures);
        }
    }
}

/// The scaffold's own fixture with one expected value changed: exit 1 and the field named.
fn a_changed_expectation_fails_with_the_field(data: &Path, wasm: &Path, fixtures: &Path) {
    let changed = tempfile::tempdir().unwrap();
    for f in ["quote.input.json", "quote.expected.json"] {
        std::fs::copy(fixtures.join(f), changed.path().join(f)).unwrap();
    }
    let expected = changed.path().join("quote.expected.json");
    let text = std::fs::read_to_string(&expected).unwrap();
    std::fs::write(
        &expected,
        text.replace("\"WHLO\": \"200\"", "\"WHLO\": \"300\""),
    )
    .unwrap();
    let failed = ferry(
        data,
        &[
            "plugin",
            "test",
            wasm.to_str().unwrap(),
            "--fixtures",
            changed.path().to_str().unwrap(),
        ],
    )
    .expect_code(1);
    assert!(
        failed
            .stdout
            .contains("fields.WHLO: expected \"300\", got \"200\""),
        "{}",
        failed.stdout
    );
    assert!(failed.stdout.contains("FAIL  quote"), "{}", failed.stdout);
}

/// componentize-py as `cargo xtask` installs it (target/componentize-py-VERSION), run through
/// python3 so no PATH entry is needed.
fn componentize_py(dir: &Path) -> Command {
    let site = root().join(format!("target/componentize-py-{COMPONENTIZE_PY}"));
    assert!(
        site.join("componentize_py").is_dir(),
        "componentize-py {COMPONENTIZE_PY} is not installed in {}: `cargo xtask test` (or `cargo xtask build-plugins`) installs it, or `pip install --target {} componentize-py=={COMPONENTIZE_PY}`",
        site.display(),
        site.display()
    );
    let mut cmd = Command::new("python3");
    cmd.current_dir(dir)
        .args([
            "-c",
            "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
        ])
        .env("PYTHONPATH", site);
    cmd
}

#[test]
fn python_scaffolds_build_and_pass_their_tests() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    for world in WORLDS {
        let name = format!("py-{world}");
        let dir = work.path().join(&name);
        new_project(data.path(), &dir, &name, world, "python");
        let features: &[&str] = if world == "transform" {
            &[]
        } else {
            &["--features", "sync"]
        };
        let wit = format!("wit/{}", package(world));
        let wasm = format!("{name}.wasm");
        run(
            componentize_py(&dir)
                .args(["-d", &wit, "-w", "plugin"])
                .args(features)
                .args(["componentize", "app", "-o", &wasm]),
            &format!("{name}: componentize-py componentize"),
        );
        run(
            componentize_py(&dir)
                .args(["-d", &wit, "-w", "plugin"])
                .args(features)
                .args(["bindings", "bindings"]),
            &format!("{name}: componentize-py bindings"),
        );
        run(
            Command::new("python3")
                .current_dir(&dir)
                .args(["-m", "unittest", "-v"]),
            &format!("{name}: python -m unittest"),
        );
        let check = ferry(
            data.path(),
            &[
                "plugin",
                "check",
                dir.join(&wasm).to_str().unwrap(),
                "--role",
                package(world),
            ],
        )
        .expect_code(0);
        assert!(check.stdout.contains("ok: compatible"), "{}", check.stdout);
        if world == "transform" {
            // The project folder: its one .wasm and its fixtures/.
            let passed =
                ferry(data.path(), &["plugin", "test", dir.to_str().unwrap()]).expect_code(0);
            assert!(
                passed.stdout.contains("2 passed, 0 failed"),
                "{}",
                passed.stdout
            );
        }
    }
}
