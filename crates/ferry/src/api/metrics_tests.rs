//! The metric names hold together: what the code records, what `/metrics` describes and what
//! the shipped Grafana dashboard queries are one list (`CATALOGUE`).

use std::collections::BTreeSet;
use std::path::Path;

use super::{CATALOGUE, Kind, builder, describe, intake_source};

const DASHBOARD: &str = include_str!("../../../../deploy/grafana/ferry.json");

/// Every `ferry_…` name in `text`.
fn ferry_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("ferry_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

fn catalogued(name: &str) -> Option<Kind> {
    CATALOGUE
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, kind, ..)| *kind)
}

#[test]
fn the_dashboard_queries_only_described_metrics_and_shows_each_of_them() {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).expect("dashboard JSON");
    let mut queried = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            queried.extend(ferry_names(target["expr"].as_str().expect("expr")));
        }
    }
    let mut unknown = Vec::new();
    let mut shown = BTreeSet::new();
    for name in &queried {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|b| catalogued(b) == Some(Kind::Histogram))
            .unwrap_or(name);
        match catalogued(base) {
            Some(_) => {
                shown.insert(base.to_string());
            }
            None => unknown.push(name.clone()),
        }
    }
    assert!(
        unknown.is_empty(),
        "the dashboard queries metrics Ferry doesn't export: {unknown:?}"
    );
    let missing: Vec<&str> = CATALOGUE
        .iter()
        .map(|(n, ..)| *n)
        .filter(|n| !shown.contains(*n))
        .collect();
    assert!(missing.is_empty(), "metrics no panel shows: {missing:?}");
}

/// Source files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_metric_the_code_records_is_described_with_its_kind() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["ferry", "runtime", "flows", "store"] {
        rust_files(&crates.join(krate).join("src"), &mut files);
    }
    let mut recorded = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for (macro_, kind) in [
            ("counter!(\"", Kind::Counter),
            ("gauge!(\"", Kind::Gauge),
            ("histogram!(\"", Kind::Histogram),
        ] {
            for (at, _) in text.match_indices(macro_) {
                let name = &text[at + macro_.len()..];
                let name = &name[..name.find('"').unwrap_or(0)];
                recorded.push((name.to_string(), kind, file.display().to_string()));
            }
        }
    }
    assert!(recorded.len() >= CATALOGUE.len(), "{recorded:?}");
    for (name, kind, file) in &recorded {
        assert_eq!(
            catalogued(name),
            Some(*kind),
            "{file} records {name} as a {kind:?}: describe it in CATALOGUE"
        );
    }
    for (name, ..) in CATALOGUE {
        assert!(
            recorded.iter().any(|(n, ..)| n == name),
            "{name} is described but nothing records it"
        );
    }
}

#[test]
fn the_exported_text_carries_help_for_every_metric() {
    let recorder = builder().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        describe();
        for (name, kind, ..) in CATALOGUE {
            match kind {
                Kind::Counter => metrics::counter!(*name).increment(1),
                Kind::Gauge => metrics::gauge!(*name).set(1.0),
                Kind::Histogram => metrics::histogram!(*name).record(0.01),
            }
        }
    });
    let text = handle.render();
    for (name, kind, _, help) in CATALOGUE {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no help for {name}:\n{text}"
        );
        let type_ = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        assert!(
            text.contains(&format!("# TYPE {name} {type_}")),
            "{name}:\n{text}"
        );
        assert!(!help.is_empty());
    }
}

#[test]
fn intake_paths_name_their_source_and_tenant() {
    assert_eq!(
        intake_source("/hooks/acme/quoting"),
        Some(("quoting", "acme".to_string()))
    );
    assert_eq!(
        intake_source("/ion/acme/events"),
        Some(("erp", "acme".to_string()))
    );
    assert_eq!(
        intake_source("/events/acme/erp"),
        Some(("erp", "acme".to_string()))
    );
    assert_eq!(intake_source("/api/v1/tenants/acme/runs"), None);
    assert_eq!(
        intake_source("/hooks/%3Cscript%3E/quoting").map(|s| s.1),
        Some("?".to_string()),
        "a stranger can't mint label values"
    );
}
