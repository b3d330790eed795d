//! `ferry mapping …`: try a mapping file on a document, check one, and have rules suggested.
//! The logic lives in `crate::mapping`; this file parses arguments and prints.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;

use super::out;

use crate::mapping::engine::{Context, Level, Mapping};
use crate::mapping::{DEFAULTS, json, suggest};

#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Run a mapping file over a document: prints the mapped document, or every error found.
    Test {
        /// The mapping file (TOML), or the name of a shipped default (quote-to-order, ...).
        mapping: String,
        /// The source document as JSON ("-" for stdin); see README for the shape.
        #[arg(long)]
        input: PathBuf,
        /// The kind to map (default: the mapping's own); refused when the mapping is for another.
        #[arg(long)]
        kind: Option<String>,
        /// A tenant setting the mapping reads as setting.KEY, KEY=VALUE (repeatable).
        #[arg(long = "setting", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        /// An id the host would have resolved, read as id.KEY (e.g. customer=C100), repeatable.
        #[arg(long = "id", value_name = "KEY=VALUE")]
        ids: Vec<String>,
        /// Print JSON ({"document", "warnings"} or {"errors"}).
        #[arg(long)]
        json: bool,
    },
    /// Check a mapping file without running it: every rule, table and expression.
    Check { mapping: String },
    /// Propose rules for each target field, scored from names, descriptions and sample values.
    Suggest {
        /// The source: quotewerks:quote, quotewerks:customer, m3:item, m3:customer.
        #[arg(long)]
        from: String,
        /// The target: m3:order, m3:customer, quotewerks:product, quotewerks:customer.
        #[arg(long)]
        to: String,
        /// A source document (JSON) whose values improve the guesses.
        #[arg(long)]
        sample: Option<PathBuf>,
        /// A mapping file whose rules are already written: suggest only for the other fields.
        #[arg(long)]
        mapping: Option<String>,
        /// Candidates per field.
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Leave out candidates scoring below this (0..1).
        #[arg(long, default_value_t = 0.2)]
        min_score: f64,
    },
}

pub async fn run(cmd: &MappingCommand) -> anyhow::Result<i32> {
    match cmd {
        MappingCommand::Test {
            mapping,
            input,
            kind,
            settings,
            ids,
            json,
        } => test(mapping, input, kind.as_deref(), settings, ids, *json),
        MappingCommand::Check { mapping } => {
            let (m, origin) = load(mapping)?;
            let usage = m.describe();
            out!("{origin}: ok, kind {} -> {}", m.kind(), m.output_kind())?;
            out!("  reads:  {}", usage.reads.join(", "))?;
            out!("  writes: {}", usage.writes.join(", "))?;
            for w in crate::mapping::reserved_warnings(&m) {
                out!("warning: {w}")?;
            }
            Ok(0)
        }
        MappingCommand::Suggest {
            from,
            to,
            sample,
            mapping,
            top,
            min_score,
        } => run_suggest(
            from,
            to,
            sample.as_deref(),
            mapping.as_deref(),
            *top,
            *min_score,
        ),
    }
}

/// A mapping file, or a shipped default by name.
fn load(spec: &str) -> anyhow::Result<(Mapping, String)> {
    let path = Path::new(spec);
    let (text, origin) = if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        (text, path.display().to_string())
    } else if let Some((_, text)) = DEFAULTS.iter().find(|(k, _)| *k == spec) {
        (text.to_string(), format!("the default {spec} mapping"))
    } else {
        anyhow::bail!(
            "{spec}: no such file, and not a default mapping ({})",
            DEFAULTS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let mapping =
        Mapping::parse(&text).with_context(|| format!("{origin} is not a valid mapping"))?;
    Ok((mapping, origin))
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn pairs(flag: &str, list: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    list.iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--{flag} expects KEY=VALUE, got '{s}'"))
        })
        .collect()
}

fn test(
    spec: &str,
    input: &Path,
    kind: Option<&str>,
    settings: &[String],
    ids: &[String],
    as_json: bool,
) -> anyhow::Result<i32> {
    let (mapping, origin) = load(spec)?;
    let json_input = read_json(input)?;
    let parsed = json::read_input(&json_input)
        .with_context(|| format!("{} is not a document", input.display()))?;
    let kind = kind.or(parsed.kind.as_deref()).unwrap_or(mapping.kind());
    anyhow::ensure!(
        kind == mapping.kind(),
        "{origin} maps '{}', not '{kind}'",
        mapping.kind()
    );
    let mut ctx = Context {
        tenant: "cli".to_string(),
        ..parsed.context
    };
    for (k, v) in pairs("setting", settings)? {
        ctx.settings.retain(|(s, _)| *s != k);
        ctx.settings.push((k, v));
    }
    for (k, v) in pairs("id", ids)? {
        ctx.ids.retain(|(s, _)| *s != k);
        ctx.ids.push((k, v));
    }
    match mapping.map(&parsed.document, &ctx) {
        Ok(mapped) => {
            if as_json {
                let out = serde_json::json!({
                    "document": json::document_json(&mapped.document),
                    "warnings": mapped.warnings.iter().map(json::issue_json).collect::<Vec<_>>(),
                    "not_sent": crate::mapping::reserved_warnings(&mapping),
                });
                out!("{}", serde_json::to_string_pretty(&out)?)?;
            } else {
                let d = &mapped.document;
                out!("{} {}", d.kind, d.id.as_deref().unwrap_or("(no id)"))?;
                print_fields("  ", &d.fields)?;
                for (i, line) in d.lines.iter().enumerate() {
                    out!("  lines[{i}]")?;
                    print_fields("    ", &line.fields)?;
                }
                for w in &mapped.warnings {
                    out!("warning: {w}")?;
                }
                for w in crate::mapping::reserved_warnings(&mapping) {
                    out!("warning: {w}")?;
                }
            }
            Ok(0)
        }
        Err(issues) => {
            if as_json {
                let out = serde_json::json!({
                    "errors": issues.iter().map(json::issue_json).collect::<Vec<_>>(),
                    "not_sent": crate::mapping::reserved_warnings(&mapping),
                });
                out!("{}", serde_json::to_string_pretty(&out)?)?;
            } else {
                for i in &issues {
                    let rule = i
                        .rule
                        .as_deref()
                        .map(|r| format!(" [rule {r}]"))
                        .unwrap_or_default();
                    out!(
                        "{}: {i}{rule}",
                        match i.severity {
                            crate::mapping::engine::Severity::Error => "error",
                            crate::mapping::engine::Severity::Warning => "warning",
                        }
                    )?;
                }
                for w in crate::mapping::reserved_warnings(&mapping) {
                    out!("warning: {w}")?;
                }
            }
            Ok(1)
        }
    }
}

fn print_fields(indent: &str, fields: &[crate::mapping::engine::Field]) -> std::io::Result<()> {
    use crate::mapping::engine::Value;
    let width = fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in fields {
        let shown = match &f.value {
            Value::Text(s) => format!("{s:?}"),
            Value::Decimal(s) => format!("{s} (decimal)"),
            Value::Integer(i) => format!("{i} (integer)"),
            Value::Boolean(b) => format!("{b}"),
            Value::Date(s) => format!("{s} (date)"),
            Value::Null => "null".to_string(),
        };
        out!("{indent}{:<width$} = {shown}", f.name)?;
    }
    Ok(())
}

fn run_suggest(
    from: &str,
    to: &str,
    sample: Option<&Path>,
    mapping: Option<&str>,
    top: usize,
    min_score: f64,
) -> anyhow::Result<i32> {
    let source = suggest::source_schema(from)?;
    let target = suggest::target_schema(to)?;
    let sample = match sample {
        Some(p) => Some(
            json::read_input(&read_json(p)?)
                .with_context(|| format!("{} is not a document", p.display()))?
                .document,
        ),
        None => None,
    };
    let known: Vec<(Level, String, Vec<String>)> = match mapping {
        Some(spec) => load(spec)?
            .0
            .rules()
            .into_iter()
            .map(|r| (r.level, r.target, r.reads))
            .collect(),
        None => Vec::new(),
    };
    let suggestions = suggest::suggest(
        &source,
        &target,
        sample.as_ref(),
        &known,
        to.starts_with("m3:"),
        top.max(1),
    );
    out!("# Suggested rules {from} -> {to}: score 0..1, best first; check each before use.")?;
    for level in [Level::Header, Level::Lines] {
        let section: Vec<_> = suggestions
            .iter()
            .filter(|s| s.target.level == level)
            .filter(|s| s.candidates.first().is_some_and(|c| c.score >= min_score))
            .collect();
        if section.is_empty() {
            continue;
        }
        out!(
            "\n[{}]",
            if level == Level::Header {
                "header"
            } else {
                "lines.fields"
            }
        )?;
        for s in section {
            out!("# {} ({})", s.target.name, s.target.description)?;
            for (i, c) in s
                .candidates
                .iter()
                .filter(|c| c.score >= min_score)
                .enumerate()
            {
                let prefix = if i == 0 { "" } else { "# or: " };
                out!(
                    "{prefix}{} = {}   # {:.2} {}  (matched: {})",
                    s.target.name,
                    c.rule,
                    c.score,
                    c.source,
                    c.why
                )?;
            }
        }
    }
    Ok(0)
}
