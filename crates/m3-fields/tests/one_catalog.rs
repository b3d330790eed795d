//! There is one M3 field catalog. This test walks the repository and fails when a file outside
//! `crates/m3-fields` holds a copy of it in any of the shapes copies have had: the MI dump
//! (`## OIS100MI/AddBatchHead: ...`), typed field lists (`CUNM(A36)`), or a length table
//! (`("CUNM", 36)`). Three such copies once disagreed (the connector's lengths, the simulator's
//! dump, `ferry mapping suggest`'s excerpt).

use std::path::{Path, PathBuf};

/// How many catalog-shaped entries a file may hold before it counts as a copy: a test or a
/// doc quoting one or two fields is fine, a table is not.
const MAX_ENTRIES: usize = 4;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn is_field_name(s: &str) -> bool {
    s.len() == 4
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
}

/// `## CRS610MI/Add:` headers.
fn dump_headers(text: &str) -> usize {
    text.lines()
        .filter(|l| {
            l.strip_prefix("## ")
                .and_then(|h| h.split_once('/'))
                .is_some_and(|(p, _)| p.len() == 8 && p.ends_with("MI"))
        })
        .count()
}

/// `CUNM(A36)`, `ORQT(N17)`, `RLDT(D10)`.
fn typed_fields(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0;
    for i in 0..b.len().saturating_sub(6) {
        if b[i + 4] == b'('
            && matches!(b[i + 5], b'A' | b'N' | b'D')
            && b[i + 6].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && text.get(i..i + 4).is_some_and(is_field_name)
        {
            n += 1;
        }
    }
    n
}

/// `("CUNM", 36)`.
fn length_entries(text: &str) -> usize {
    text.match_indices("(\"")
        .filter(|(i, _)| {
            let rest = &text[i + 2..];
            rest.get(..4).is_some_and(is_field_name)
                && rest[4..].starts_with("\", ")
                && rest[7..].bytes().next().is_some_and(|c| c.is_ascii_digit())
        })
        .count()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | ".git" | "node_modules" | "m3-fields"
            ) {
                walk(&path, out);
            }
        } else if [".rs", ".txt", ".toml", ".json", ".py", ".wit"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            out.push(path);
        }
    }
}

/// The copies found under `root`: (path, what it looks like).
fn copies(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    walk(root, &mut files);
    let mut found = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let counts = [
            ("MI dump headers", dump_headers(&text)),
            ("typed fields like CUNM(A36)", typed_fields(&text)),
            ("length entries like (\"CUNM\", 36)", length_entries(&text)),
        ];
        for (what, n) in counts {
            if n > MAX_ENTRIES {
                found.push((f.clone(), format!("{n} {what}")));
            }
        }
    }
    found
}

#[test]
fn no_file_outside_the_catalog_crate_holds_a_copy_of_it() {
    let found = copies(&repo_root());
    assert!(
        found.is_empty(),
        "M3 field catalog copies (use ferry_m3_fields::catalog() instead):\n{}",
        found
            .iter()
            .map(|(p, w)| format!("  {}: {w}", p.display()))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_detector_recognises_each_shape_a_copy_has_had() {
    let dir = std::env::temp_dir().join(format!("m3-fields-copy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/m3-transaction-fields.txt");
    std::fs::copy(&data, dir.join("excerpt.txt")).expect("copy dump");
    std::fs::write(
        dir.join("fields.rs"),
        "const LENGTHS: &[(&str, usize)] = &[(\"CUNO\", 10), (\"CUNM\", 36), (\"CUA1\", 36),\n\
         (\"CUA2\", 36), (\"CUA3\", 36), (\"PONO\", 10)];\n",
    )
    .expect("write table");
    std::fs::write(
        dir.join("ok.rs"),
        "// ITNO(A15) and CUNM(A36) quoted once\n",
    )
    .expect("ok");
    let found = copies(&dir);
    std::fs::remove_dir_all(&dir).ok();
    let names: Vec<String> = found
        .iter()
        .filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert!(names.contains(&"excerpt.txt".to_string()), "{found:?}");
    assert!(names.contains(&"fields.rs".to_string()), "{found:?}");
    assert!(!names.contains(&"ok.rs".to_string()), "{found:?}");
}
