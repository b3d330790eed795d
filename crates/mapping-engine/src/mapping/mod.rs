//! Mapping files: the TOML format, compiled once into rules, and the engine that runs them.
//!
//! One job a file: `compile` (the file's TOML shape and its rules and tables, checked once),
//! `apply` (one rule over a document, and the issues a run reports); this file holds the
//! compiled mapping and its public calls.

mod apply;
mod compile;

use apply::{Issues, Outcome, apply};
use compile::{FileSpec, compile_rule, compile_table, condition};

use std::borrow::Cow;

use serde::Deserialize;

use crate::document::{Context, Document, Field, FieldUsage, Issue, Line, Mapped, Severity, Value};
use crate::expr::{self, Env, Expr, Scope, Table};
use crate::value::{V, parse_decimal};

/// Why a mapping file was refused. Each names where in the file the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("the mapping is not valid TOML: {0}")]
    Toml(String),
    #[error("{place}: {message}")]
    Invalid { place: String, message: String },
}

fn invalid(place: impl Into<String>, message: impl Into<String>) -> MappingError {
    MappingError::Invalid {
        place: place.into(),
        message: message.into(),
    }
}

/// At most this many issues are reported for one document; the rest are counted.
const MAX_ISSUES: usize = 100;

/// The type a rule's result is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutType {
    Text,
    Decimal,
    Integer,
    Date,
    Boolean,
}

impl OutType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "text" | "string" => Self::Text,
            "decimal" | "number" => Self::Decimal,
            "integer" | "int" => Self::Integer,
            "date" => Self::Date,
            "boolean" | "bool" => Self::Boolean,
            _ => return None,
        })
    }
}

/// Which part of the document a rule writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Header,
    Lines,
}

#[derive(Debug, Clone)]
struct Rule {
    target: String,
    name: String,
    source: String,
    value: Expr,
    default: Option<Expr>,
    when: Option<Expr>,
    ty: Option<OutType>,
    required: bool,
    max: Option<usize>,
    truncate: bool,
    keep_empty: bool,
}

/// A rule as the file gives it, for tools (`ferry mapping suggest`, docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub level: Level,
    pub target: String,
    pub name: String,
    /// The value expression as written (constants as their TOML text).
    pub expression: String,
    /// What the value and default read, as written: the current record's field names, and
    /// `header.X`, `out.X`, `id.X`, `setting.X`, `doc.X`, `line.X` for the other scopes.
    pub reads: Vec<String>,
}

/// A compiled mapping: parse once with [`Mapping::parse`], then [`Mapping::map`] any number of
/// documents.
#[derive(Debug, Clone)]
pub struct Mapping {
    kind: String,
    output: String,
    description: Option<String>,
    id: Option<Expr>,
    /// The id expression as written.
    id_source: Option<String>,
    tables: Vec<Table>,
    header: Vec<Rule>,
    line_filter: Option<Expr>,
    lines: Option<Vec<Rule>>,
}

impl Mapping {
    /// Parses and checks a mapping file: every expression, function, table and option, so a
    /// mapping that loads can only fail on the data it is given.
    pub fn parse(text: &str) -> Result<Self, MappingError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| MappingError::Toml(e.to_string()))?;
        let kind = spec.mapping.kind.trim().to_string();
        if kind.is_empty() {
            return Err(invalid("[mapping] kind", "is empty"));
        }
        let output = match spec.mapping.output {
            Some(o) => o,
            None => kind
                .split_once("-to-")
                .map(|(_, to)| to.to_string())
                .unwrap_or_else(|| kind.clone()),
        };
        let mut tables = Vec::with_capacity(spec.tables.len());
        for (name, t) in &spec.tables {
            tables.push(compile_table(name, t)?);
        }
        let id = spec
            .mapping
            .id
            .as_deref()
            .map(|s| condition(s, "[mapping] id", &tables))
            .transpose()?;
        let mut header = Vec::with_capacity(spec.header.len());
        for (target, rule) in &spec.header {
            header.push(compile_rule(Level::Header, target, rule, &tables)?);
        }
        let (line_filter, lines) = match spec.lines {
            None => (None, None),
            Some(l) => {
                let filter = l
                    .when
                    .as_deref()
                    .map(|w| condition(w, "[lines] when", &tables))
                    .transpose()?;
                let mut rules = Vec::with_capacity(l.fields.len());
                for (target, rule) in &l.fields {
                    rules.push(compile_rule(Level::Lines, target, rule, &tables)?);
                }
                (filter, Some(rules))
            }
        };
        Ok(Self {
            kind,
            output,
            id_source: spec.mapping.id.as_deref().map(|s| s.trim().to_string()),
            description: spec.mapping.description,
            id,
            tables,
            header,
            line_filter,
            lines,
        })
    }

    /// The kind this mapping answers (`quote-to-order`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The kind of document it produces (`order`).
    pub fn output_kind(&self) -> &str {
        &self.output
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The document id's expression (`[mapping] id`) as written, if any.
    pub fn id_expression(&self) -> Option<&str> {
        self.id_source.as_deref()
    }

    /// The rules in file order, header first.
    pub fn rules(&self) -> Vec<RuleInfo> {
        let mut out = Vec::new();
        for (level, rules) in [
            (Level::Header, Some(&self.header)),
            (Level::Lines, self.lines.as_ref()),
        ] {
            for r in rules.into_iter().flatten() {
                let mut reads = Vec::new();
                r.value.reads(&mut reads);
                if let Some(d) = &r.default {
                    d.reads(&mut reads);
                }
                out.push(RuleInfo {
                    level,
                    target: r.target.clone(),
                    name: r.name.clone(),
                    expression: r.source.clone(),
                    reads: reads.into_iter().filter_map(read_name).collect(),
                });
            }
        }
        out
    }

    /// Which fields the mapping reads and writes (line fields as `lines.NAME`).
    pub fn describe(&self) -> FieldUsage {
        let mut reads: Vec<String> = Vec::new();
        let mut writes: Vec<String> = Vec::new();
        let add = |list: &mut Vec<String>, s: String| {
            if !list.contains(&s) {
                list.push(s);
            }
        };
        for info in self.rules() {
            for r in info.reads {
                if ["out.", "doc.", "line.", "id.", "setting."]
                    .iter()
                    .any(|p| r.starts_with(p))
                {
                    continue;
                }
                let name = match (info.level, r.strip_prefix("header.")) {
                    (Level::Lines, None) => format!("lines.{r}"),
                    (_, Some(h)) => h.to_string(),
                    (Level::Header, None) => r,
                };
                add(&mut reads, name);
            }
            let target = match info.level {
                Level::Header => info.target,
                Level::Lines => format!("lines.{}", info.target),
            };
            add(&mut writes, target);
        }
        FieldUsage {
            kind: self.kind.clone(),
            reads,
            writes,
        }
    }

    /// Maps one document. Every rule runs (so one call reports every problem it can find);
    /// any error means no document.
    pub fn map(&self, input: &Document, ctx: &Context) -> Result<Mapped, Vec<Issue>> {
        let mut issues = Issues::default();
        let header = self.run(&self.header, &input.fields, input, ctx, None, &mut issues);
        let mut lines = Vec::new();
        if let Some(rules) = &self.lines {
            lines.reserve(input.lines.len());
            for (i, line) in input.lines.iter().enumerate() {
                if let Some(filter) = &self.line_filter {
                    let env = Env {
                        current: &line.fields,
                        header: &input.fields,
                        out: &[],
                        doc: input,
                        ctx,
                        line: Some(i),
                        tables: &self.tables,
                    };
                    match filter.eval(&env).and_then(|v| v.truthy()) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            issues.error(Some("lines.when"), "when", Some(i), e.0);
                            continue;
                        }
                    }
                }
                let fields = self.run(rules, &line.fields, input, ctx, Some(i), &mut issues);
                lines.push(Line { fields });
            }
        }
        let id = match &self.id {
            None => input.id.clone(),
            Some(e) => {
                let env = Env {
                    current: &input.fields,
                    header: &input.fields,
                    out: &header,
                    doc: input,
                    ctx,
                    line: None,
                    tables: &self.tables,
                };
                match e.eval(&env) {
                    Ok(v) if v.is_empty() => None,
                    Ok(v) => Some(v.to_text().into_owned()),
                    Err(e) => {
                        issues.error(Some("mapping.id"), "id", None, e.0);
                        None
                    }
                }
            }
        };
        if issues.errors > 0 {
            return Err(issues.finish());
        }
        Ok(Mapped {
            document: Document {
                kind: self.output.clone(),
                id,
                fields: header,
                lines,
            },
            warnings: issues.finish(),
        })
    }

    fn run(
        &self,
        rules: &[Rule],
        current: &[Field],
        doc: &Document,
        ctx: &Context,
        line: Option<usize>,
        issues: &mut Issues,
    ) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::with_capacity(rules.len());
        for rule in rules {
            let result = {
                let env = Env {
                    current,
                    header: &doc.fields,
                    out: &out,
                    doc,
                    ctx,
                    line,
                    tables: &self.tables,
                };
                apply(rule, &env)
            };
            match result {
                Ok(Outcome::Skip) => {}
                Ok(Outcome::Value(value, warning)) => {
                    if let Some(w) = warning {
                        issues.warning(&rule.name, &rule.target, line, w);
                    }
                    out.push(Field {
                        name: rule.target.clone(),
                        value,
                    });
                }
                Err(message) => issues.error(Some(&rule.name), &rule.target, line, message),
            }
        }
        out
    }
}

fn read_name((scope, name): (Scope, String)) -> Option<String> {
    match scope {
        Scope::Current => Some(name),
        Scope::Header => Some(format!("header.{name}")),
        Scope::Id => Some(format!("id.{name}")),
        Scope::Setting => Some(format!("setting.{name}")),
        Scope::Out => Some(format!("out.{name}")),
        Scope::Doc => Some(format!("doc.{name}")),
        Scope::Line => Some(format!("line.{name}")),
    }
}
