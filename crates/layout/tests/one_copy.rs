//! The component finder and the data directory's file names are written once, in this crate;
//! the config wiring a tenant to the simulators once, in the stack harness (`crates/sim`).
//! This test walks the non-test sources and fails when another file spells one of them again
//! (a copy drifts: three finders and four `ferry.db` joins once lived apart, and the demo's
//! config was written twice, by the demo and by the e2e harness).

use std::path::{Path, PathBuf};

/// What a copy looks like: the env name, the build output, the data directory's file names.
const PATTERNS: &[&str] = &[
    "\"FERRY_PLUGIN_DIR\"",
    "\"target/plugins\"",
    "join(\"target\").join(\"plugins\")",
    "\"ferry.db\"",
    "join(\"cache\")",
    "\"node-id\"",
    "\"node.lock\"",
    // A ferry.toml granting QuoteWerks' database: the stack's config.
    ".connections.quotewerks]",
];

/// (pattern, the one file outside this crate that may spell it).
const HOMES: &[(&str, &str)] = &[(".connections.quotewerks]", "crates/sim/src/stack/config.rs")];

/// Copies in files other helpers own, still to be switched to `ferry_layout` (the lead's list:
/// remove an entry when its file uses the crate).
const PENDING: &[(&str, &str)] = &[];

/// Folders whose sources are not tests (test files make temporary stores of their own).
const SOURCES: &[&str] = &[
    "crates",
    "crates/ferry/tests/common",
    "crates/ferry/benches/common",
    "tests/src",
    "xtask/src",
];

fn root() -> PathBuf {
    ferry_layout::workspace_root()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            // This crate is the one copy; crates' own tests are tests.
            if !matches!(name.as_str(), "target" | "layout" | "tests") {
                walk(&path, out);
            }
        } else if name.ends_with(".rs") && !name.ends_with("_tests.rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// (file relative to the root, pattern) for each copy found outside this crate.
fn copies(root: &Path) -> Vec<(String, &'static str)> {
    let mut files = Vec::new();
    for dir in SOURCES {
        walk(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        // Doc comments and examples may name the files.
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let rel = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        for p in PATTERNS {
            if code.contains(p) && !HOMES.contains(&(*p, rel.as_str())) {
                found.push((rel.clone(), *p));
            }
        }
    }
    found
}

#[test]
fn no_other_source_spells_a_component_or_data_dir_path() {
    let root = root();
    let new: Vec<_> = copies(&root)
        .into_iter()
        .filter(|(f, p)| !PENDING.contains(&(f.as_str(), *p)))
        .collect();
    assert!(
        new.is_empty(),
        "paths spelled outside crates/layout (use ferry_layout::{{component, component_dir, DataDir}}), or the stack's config outside ferry_sim::stack:\n{}",
        new.iter()
            .map(|(f, p)| format!("  {f}: {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_scan_finds_a_copy_where_one_is_written() {
    let dir = std::env::temp_dir().join(format!("layout-copy-{}", std::process::id()));
    let src = dir.join("crates/ferry/src");
    std::fs::create_dir_all(&src).expect("temp dir");
    std::fs::write(
        src.join("server.rs"),
        "fn open(d: &Path) { SqliteStore::open(&d.join(\"ferry.db\")); }\n",
    )
    .expect("write");
    std::fs::write(
        src.join("ok.rs"),
        "// the store is ferry.db: \"ferry.db\"\n",
    )
    .expect("write");
    // A second writer of the stack's config, and the one that may write it.
    let stack = dir.join("crates/sim/src/stack");
    std::fs::create_dir_all(&stack).expect("temp dir");
    let config = "fn c(t: &str) -> String { format!(\"[tenants.{t}.connections.quotewerks]\") }\n";
    std::fs::write(src.join("sandbox.rs"), config).expect("write");
    std::fs::write(stack.join("config.rs"), config).expect("write");
    let mut found = copies(&dir);
    found.sort();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        found,
        vec![
            (
                "crates/ferry/src/sandbox.rs".to_string(),
                ".connections.quotewerks]"
            ),
            ("crates/ferry/src/server.rs".to_string(), "\"ferry.db\""),
        ]
    );
}
