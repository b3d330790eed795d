//! `ferry plugin test`: a transform component run against recorded fixtures, files next to the
//! plugin: `NAME.input.json` (a document in the plain JSON `ferry mapping test` reads, or a
//! `map-document` parameter file with its kind, ids and settings) and `NAME.expected.json`
//! (the document the plugin must make of it, or `{"errors": [{"field", "line", "message"}]}`
//! for an input it must refuse). Each difference is one line naming the field.
//!
//! The component is called through the runtime's transform adapter (the one the flows use),
//! with the normal limits and nothing granted but its settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use super::AuthoringError;
use crate::mapping::engine::{Context, Document, Field, Issue, Severity, Value};
use crate::mapping::json;
use crate::runtime::{Grants, Plugin, PluginSource, Role, Runtime, RuntimeSettings};

/// One recorded case.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub input: PathBuf,
    pub expected: PathBuf,
}

/// How one case went: no differences is a pass.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    pub differences: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }
}

/// What to run: the component, the fixtures folder, the kind for plain documents, and
/// settings on top of each case's own.
pub struct TestRun {
    pub component: PathBuf,
    pub fixtures: PathBuf,
    pub kind: String,
    pub settings: Vec<(String, String)>,
}

/// The cases in `dir`, by name; an input without its expected file (or the reverse) is refused.
pub fn cases(dir: &Path) -> Result<Vec<Case>, AuthoringError> {
    let entries = std::fs::read_dir(dir).map_err(super::io(dir))?;
    let mut inputs = BTreeMap::new();
    let mut expected = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(super::io(dir))?.path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        if let Some(name) = file.strip_suffix(".input.json") {
            inputs.insert(name.to_string(), path.clone());
        } else if let Some(name) = file.strip_suffix(".expected.json") {
            expected.insert(name.to_string(), path.clone());
        }
    }
    if let Some(name) = expected.keys().find(|n| !inputs.contains_key(*n)) {
        return Err(AuthoringError::Input(format!(
            "{}: {name}.expected.json has no {name}.input.json",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    for (name, input) in inputs {
        let expected = expected.remove(&name).ok_or_else(|| {
            AuthoringError::Input(format!(
                "{}: {name}.input.json has no {name}.expected.json (write the document the plugin must make of it)",
                dir.display()
            ))
        })?;
        out.push(Case {
            name,
            input,
            expected,
        });
    }
    if out.is_empty() {
        return Err(AuthoringError::Input(format!(
            "{}: no fixtures (NAME.input.json with NAME.expected.json)",
            dir.display()
        )));
    }
    Ok(out)
}

/// The component a plugin project builds: a `.wasm` file as given; for a folder, the one
/// `.wasm` in it (a Python project's), else the Rust project's release build
/// (`$CARGO_TARGET_DIR` or `target/`, `wasm32-wasip2/release/<crate>.wasm`).
pub fn component_of(path: &Path) -> Result<PathBuf, AuthoringError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let wasm: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(super::io(path))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    if let [one] = wasm.as_slice() {
        return Ok(one.clone());
    }
    let manifest = path.join("Cargo.toml");
    let name = std::fs::read_to_string(&manifest)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("package")?.get("name")?.as_str().map(str::to_string));
    let Some(name) = name else {
        return Err(AuthoringError::Input(format!(
            "{}: no component here (one .wasm file, or a Rust project's Cargo.toml): build it first, or name the .wasm",
            path.display()
        )));
    };
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| path.join("target"));
    let built = target
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    if built.is_file() {
        Ok(built)
    } else {
        Err(AuthoringError::Input(format!(
            "{} is not built yet: run `cargo build --release --target wasm32-wasip2` in {}",
            built.display(),
            path.display()
        )))
    }
}

/// The plugin, answering every call of its role (the adapter asks per call).
struct OnePlugin {
    runtime: Arc<Runtime>,
    plugin: Arc<Plugin>,
    grants: Arc<Grants>,
}

impl PluginSource for OnePlugin {
    fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }
    fn plugin(&self, _role: Role) -> Result<Arc<Plugin>, String> {
        Ok(self.plugin.clone())
    }
    fn grants(&self, _role: Role) -> Arc<Grants> {
        self.grants.clone()
    }
}

/// Runs every case; an error here is about the component or the files, not a failed case.
pub async fn run(
    settings: RuntimeSettings,
    request: &TestRun,
) -> Result<Vec<CaseResult>, AuthoringError> {
    let cases = cases(&request.fixtures)?;
    let bytes = std::fs::read(&request.component).map_err(super::io(&request.component))?;
    let runtime = Runtime::new(settings).map_err(|e| AuthoringError::Input(e.to_string()))?;
    let loader = runtime.clone();
    let plugin = tokio::task::spawn_blocking(move || loader.load(&bytes, Some(Role::Transform)))
        .await
        .map_err(|e| AuthoringError::Input(e.to_string()))?
        .map_err(|e| {
            AuthoringError::Input(format!(
                "{} is not a transform this host serves: {e}",
                request.component.display()
            ))
        })?;
    let plugin = Arc::new(plugin);
    let mut results = Vec::new();
    for case in cases {
        let differences = match run_case(&runtime, &plugin, request, &case).await {
            Ok(d) => d,
            Err(e) => vec![e],
        };
        results.push(CaseResult {
            name: case.name,
            differences,
        });
    }
    Ok(results)
}

fn read_json(path: &Path) -> Result<Json, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

async fn run_case(
    runtime: &Arc<Runtime>,
    plugin: &Arc<Plugin>,
    request: &TestRun,
    case: &Case,
) -> Result<Vec<String>, String> {
    let input = json::read_input(&read_json(&case.input)?)
        .map_err(|e| format!("{}: {e}", case.input.display()))?;
    let expected = read_json(&case.expected)?;
    let kind = input.kind.clone().unwrap_or_else(|| request.kind.clone());
    let mut context = Context {
        tenant: "cli".into(),
        ..input.context
    };
    for (k, v) in &request.settings {
        context.settings.retain(|(s, _)| s != k);
        context.settings.push((k.clone(), v.clone()));
    }
    let grants = Grants::for_tenant(&context.tenant)
        .with_plugin(&plugin.label(), context.settings.iter().cloned().collect());
    let source = OnePlugin {
        runtime: runtime.clone(),
        plugin: plugin.clone(),
        grants: Arc::new(grants),
    };
    let roles = crate::runtime::roles::roles(Arc::new(source));
    let answer = roles
        .transform
        .map_document(&kind, &input.document, &context)
        .await
        .map_err(|e| format!("the call failed: {e}"))?;
    match expected.get("errors") {
        Some(errors) => Ok(compare_errors(errors, answer.map(|m| m.document))),
        None => {
            let want = json::read_document(&expected)
                .map_err(|e| format!("{}: {e}", case.expected.display()))?;
            Ok(match answer {
                Ok(mapped) => compare_documents(&want, &mapped.document),
                Err(issues) => issues
                    .iter()
                    .map(|i| format!("expected a document, got the error {}", describe(i)))
                    .collect(),
            })
        }
    }
}

fn describe(issue: &Issue) -> String {
    match issue.line {
        Some(line) => format!("lines[{line}].{}: {}", issue.field, issue.message),
        None => format!("{}: {}", issue.field, issue.message),
    }
}

/// Each expected error (`field`, and `line` and a `message` fragment when given) must be
/// among the plugin's errors, and the plugin may report no others.
fn compare_errors(expected: &Json, answer: Result<Document, Vec<Issue>>) -> Vec<String> {
    let Some(expected) = expected.as_array() else {
        return vec!["expected file: \"errors\" must be a list".into()];
    };
    let issues = match answer {
        Ok(doc) => {
            return vec![format!(
                "expected {} error(s), got a document ({} {}, {} line(s))",
                expected.len(),
                doc.kind,
                doc.id.as_deref().unwrap_or("-"),
                doc.lines.len()
            )];
        }
        Err(issues) => issues,
    };
    let mut unmatched: Vec<&Issue> = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    let mut differences = Vec::new();
    for want in expected {
        let field = want.get("field").and_then(Json::as_str).unwrap_or("");
        let line = want.get("line").and_then(Json::as_u64);
        let message = want.get("message").and_then(Json::as_str);
        let found = unmatched.iter().position(|i| {
            i.field == field
                && i.line.map(u64::from) == line
                && message.is_none_or(|m| i.message.contains(m))
        });
        match found {
            Some(at) => {
                unmatched.remove(at);
            }
            None => differences.push(format!(
                "expected the error {}{}{}, not reported",
                line.map(|l| format!("lines[{l}].")).unwrap_or_default(),
                field,
                message.map(|m| format!(": ...{m}...")).unwrap_or_default()
            )),
        }
    }
    differences.extend(
        unmatched
            .into_iter()
            .map(|i| format!("not expected, the error {}", describe(i))),
    );
    differences
}

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "missing".into(),
        Some(Value::Text(s)) => format!("{s:?}"),
        Some(Value::Decimal(s)) => format!("{s} (decimal)"),
        Some(Value::Integer(i)) => format!("{i} (integer)"),
        Some(Value::Boolean(b)) => b.to_string(),
        Some(Value::Date(s)) => format!("{s} (date)"),
        Some(Value::Null) => "null".into(),
    }
}

/// Decimals compare by value (`99.9` is `99.90`); everything else as it is.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Decimal(x), Value::Decimal(y)) => {
            match (
                x.trim().parse::<rust_decimal::Decimal>(),
                y.trim().parse::<rust_decimal::Decimal>(),
            ) {
                (Ok(x), Ok(y)) => x == y,
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

fn compare_fields(place: &str, want: &[Field], got: &[Field], out: &mut Vec<String>) {
    let get = |fields: &[Field], name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
    };
    for w in want {
        let g = get(got, &w.name);
        if !g.as_ref().is_some_and(|g| same(&w.value, g)) {
            out.push(format!(
                "{place}{}: expected {}, got {}",
                w.name,
                shown(Some(&w.value)),
                shown(g.as_ref())
            ));
        }
    }
    for g in got.iter().filter(|g| get(want, &g.name).is_none()) {
        out.push(format!(
            "{place}{}: not expected, got {}",
            g.name,
            shown(Some(&g.value))
        ));
    }
}

/// Field-by-field differences between the expected document and the plugin's.
pub fn compare_documents(want: &Document, got: &Document) -> Vec<String> {
    let mut out = Vec::new();
    if want.kind != got.kind {
        out.push(format!(
            "kind: expected {:?}, got {:?}",
            want.kind, got.kind
        ));
    }
    if want.id != got.id {
        out.push(format!("id: expected {:?}, got {:?}", want.id, got.id));
    }
    compare_fields("fields.", &want.fields, &got.fields, &mut out);
    for (i, (w, g)) in want.lines.iter().zip(&got.lines).enumerate() {
        compare_fields(&format!("lines[{i}]."), &w.fields, &g.fields, &mut out);
    }
    if want.lines.len() != got.lines.len() {
        out.push(format!(
            "lines: expected {}, got {}",
            want.lines.len(),
            got.lines.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Json) -> Document {
        json::read_document(&v).unwrap()
    }

    #[test]
    fn differences_name_each_field_and_decimals_compare_by_value() {
        let want = doc(json!({"kind": "order", "id": "Q1",
            "fields": {"CUNO": "C1", "WHLO": "100"},
            "lines": [{"SAPR": {"decimal": "99.90"}}, {"ITNO": "B"}]}));
        let got = doc(json!({"kind": "order", "id": "Q1",
            "fields": {"CUNO": "C2", "ORTP": "A01"},
            "lines": [{"SAPR": {"decimal": "99.9"}}]}));
        assert_eq!(
            compare_documents(&want, &got),
            [
                "fields.CUNO: expected \"C1\", got \"C2\"",
                "fields.WHLO: expected \"100\", got missing",
                "fields.ORTP: not expected, got \"A01\"",
                "lines: expected 2, got 1",
            ]
        );
        assert!(compare_documents(&want, &want).is_empty());
    }

    #[test]
    fn expected_errors_match_by_field_and_line() {
        let issue = |field: &str, line| Issue {
            severity: Severity::Error,
            rule: None,
            field: field.into(),
            line,
            message: "the quantity must be more than 0".into(),
        };
        let want = json!([{"field": "ORQT", "line": 0, "message": "more than 0"}]);
        assert!(compare_errors(&want, Err(vec![issue("ORQT", Some(0))])).is_empty());
        let d = compare_errors(&want, Err(vec![issue("ORQT", Some(1))]));
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("expected the error lines[0].ORQT"),
            "{d:?}"
        );
    }

    #[test]
    fn an_input_without_its_expected_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.input.json"), "{}").unwrap();
        let e = cases(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a.input.json has no a.expected.json"), "{e}");
    }
}
