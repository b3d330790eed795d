//! Mapping files: the TOML format, compiled once into rules, and the engine that runs them.

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    mapping: MetaSpec,
    #[serde(default)]
    tables: toml::Table,
    #[serde(default)]
    header: toml::Table,
    lines: Option<LinesSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaSpec {
    kind: String,
    output: Option<String>,
    id: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinesSpec {
    when: Option<String>,
    #[serde(default)]
    fields: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    value: Option<toml::Value>,
    #[serde(rename = "const")]
    constant: Option<toml::Value>,
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(default)]
    required: bool,
    default: Option<toml::Value>,
    max: Option<i64>,
    overflow: Option<String>,
    when: Option<String>,
    rule: Option<String>,
    #[serde(default)]
    keep_empty: bool,
    #[allow(dead_code)]
    note: Option<String>,
}

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
    tables: Vec<Table>,
    header: Vec<Rule>,
    line_filter: Option<Expr>,
    lines: Option<Vec<Rule>>,
}

fn literal(v: &toml::Value, place: &str) -> Result<V<'static>, MappingError> {
    Ok(match v {
        toml::Value::String(s) => V::Text(Cow::Owned(s.clone())),
        toml::Value::Integer(i) => V::Int(*i),
        // TOML floats are read through their shortest decimal text, never used as floats.
        toml::Value::Float(f) => V::Dec(
            parse_decimal(&f.to_string())
                .map_err(|_| invalid(place, format!("{f} is not a usable number")))?,
        ),
        toml::Value::Boolean(b) => V::Bool(*b),
        other => {
            return Err(invalid(
                place,
                format!(
                    "expected text, a number or true/false, found {}",
                    other.type_str()
                ),
            ));
        }
    })
}

/// A literal as an expression would write it (`'A01'`, `12.5`, `true`).
fn literal_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

/// A string is an expression; numbers and booleans are literals.
fn expression(
    v: &toml::Value,
    place: &str,
    tables: &[Table],
) -> Result<(Expr, String), MappingError> {
    match v {
        toml::Value::String(s) => expr::parse(s, tables)
            .map(|e| (e, s.clone()))
            .map_err(|m| invalid(place, format!("{m} in \"{s}\""))),
        other => Ok((Expr::Lit(literal(other, place)?), literal_text(other))),
    }
}

fn condition(s: &str, place: &str, tables: &[Table]) -> Result<Expr, MappingError> {
    expr::parse(s, tables).map_err(|m| invalid(place, format!("{m} in \"{s}\"")))
}

fn compile_rule(
    level: Level,
    target: &str,
    spec: &toml::Value,
    tables: &[Table],
) -> Result<Rule, MappingError> {
    let prefix = match level {
        Level::Header => "header",
        Level::Lines => "lines.fields",
    };
    let place = format!("[{prefix}] {target}");
    if target.trim().is_empty() {
        return Err(invalid(place, "the target field name is empty"));
    }
    let default_name = match level {
        Level::Header => format!("header.{target}"),
        Level::Lines => format!("lines.{target}"),
    };
    let spec = match spec {
        toml::Value::Table(t) => toml::Value::Table(t.clone())
            .try_into::<RuleSpec>()
            .map_err(|e| invalid(&place, e.message().to_string()))?,
        // `CUNO = "expression"` is the short form.
        other => RuleSpec {
            value: Some(other.clone()),
            constant: None,
            ty: None,
            required: false,
            default: None,
            max: None,
            overflow: None,
            when: None,
            rule: None,
            keep_empty: false,
            note: None,
        },
    };
    let (value, source) = match (&spec.value, &spec.constant) {
        (Some(v), None) => expression(v, &place, tables)?,
        (None, Some(c)) => (Expr::Lit(literal(c, &place)?), literal_text(c)),
        (Some(_), Some(_)) => return Err(invalid(place, "give either value or const, not both")),
        (None, None) => match &spec.default {
            // A rule with only a default: the default is the value.
            Some(_) => (Expr::Lit(V::Null), String::new()),
            None => return Err(invalid(place, "needs a value (or const, or default)")),
        },
    };
    let default = spec
        .default
        .as_ref()
        .map(|d| expression(d, &format!("{place}.default"), tables).map(|(e, _)| e))
        .transpose()?;
    let when = spec
        .when
        .as_deref()
        .map(|w| condition(w, &format!("{place}.when"), tables))
        .transpose()?;
    let ty = spec
        .ty
        .as_deref()
        .map(|t| {
            OutType::parse(t).ok_or_else(|| {
                invalid(
                    &place,
                    format!("unknown type '{t}' (text, decimal, integer, date, boolean)"),
                )
            })
        })
        .transpose()?;
    let max =
        spec.max
            .map(|m| {
                usize::try_from(m).ok().filter(|m| *m > 0).ok_or_else(|| {
                    invalid(&place, format!("max must be a positive length, got {m}"))
                })
            })
            .transpose()?;
    let truncate = match spec.overflow.as_deref() {
        None | Some("reject") => false,
        Some("truncate") => true,
        Some(other) => {
            return Err(invalid(
                place,
                format!("overflow is 'reject' or 'truncate', not '{other}'"),
            ));
        }
    };
    if spec.overflow.is_some() && max.is_none() {
        return Err(invalid(place, "overflow needs a max length"));
    }
    Ok(Rule {
        target: target.to_string(),
        name: spec.rule.unwrap_or(default_name),
        source,
        value,
        default,
        when,
        ty,
        required: spec.required,
        max,
        truncate,
        keep_empty: spec.keep_empty,
    })
}

fn compile_table(name: &str, spec: &toml::Value) -> Result<Table, MappingError> {
    let place = format!("[tables.{name}]");
    let toml::Value::Table(entries) = spec else {
        return Err(invalid(place, "a table is a list of KEY = value lines"));
    };
    let mut table = Table {
        name: name.to_string(),
        entries: Vec::with_capacity(entries.len()),
        fallback: None,
    };
    for (k, v) in entries {
        let value = literal(v, &format!("{place} {k}"))?;
        if k == "*" {
            table.fallback = Some(value);
        } else {
            table.entries.push((k.trim().to_string(), value));
        }
    }
    Ok(table)
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

enum Outcome {
    Skip,
    Value(Value, Option<String>),
}

fn apply(rule: &Rule, env: &Env<'_>) -> Result<Outcome, String> {
    if let Some(when) = &rule.when
        && !when.eval(env).and_then(|v| v.truthy()).map_err(|e| e.0)?
    {
        return Ok(Outcome::Skip);
    }
    let mut v = rule.value.eval(env).map_err(|e| e.0)?;
    if v.is_empty()
        && let Some(d) = &rule.default
    {
        v = d.eval(env).map_err(|e| e.0)?;
    }
    if v.is_empty() {
        if rule.required {
            return Err(if rule.source.is_empty() {
                "is required but has no value".to_string()
            } else {
                format!("is required but {} is empty", rule.source)
            });
        }
        return Ok(if rule.keep_empty {
            Outcome::Value(Value::Null, None)
        } else {
            Outcome::Skip
        });
    }
    let v = match rule.ty {
        None => v,
        Some(OutType::Text) => V::Text(Cow::Owned(v.to_text().into_owned())),
        Some(OutType::Decimal) => v
            .to_decimal()
            .map_err(|e| e.0)?
            .map(V::Dec)
            .unwrap_or(V::Null),
        Some(OutType::Integer) => match v.to_decimal().map_err(|e| e.0)? {
            Some(d) if d.fract().is_zero() => {
                V::Int(i64::try_from(d).map_err(|_| format!("'{d}' is out of range"))?)
            }
            Some(d) => return Err(format!("'{d}' is not a whole number")),
            None => V::Null,
        },
        Some(OutType::Date) => v
            .to_date()
            .map_err(|e| e.0)?
            .map(V::Date)
            .unwrap_or(V::Null),
        Some(OutType::Boolean) => V::Bool(v.truthy().map_err(|e| e.0)?),
    };
    let mut warning = None;
    let value = match rule.max {
        Some(max) => {
            let text = v.to_text();
            let len = text.chars().count();
            if len <= max {
                v.into_value()
            } else if rule.truncate && matches!(v, V::Text(_)) {
                let cut: String = text.chars().take(max).collect();
                warning = Some(format!(
                    "'{text}' is {len} characters; cut to {max}: '{cut}'"
                ));
                Value::Text(cut)
            } else {
                return Err(format!(
                    "'{text}' is {len} characters, longer than the {max} allowed"
                ));
            }
        }
        None => v.into_value(),
    };
    Ok(Outcome::Value(value, warning))
}

#[derive(Default)]
struct Issues {
    list: Vec<Issue>,
    errors: usize,
    dropped: usize,
}

impl Issues {
    fn push(&mut self, issue: Issue) {
        if self.list.len() < MAX_ISSUES {
            self.list.push(issue);
        } else {
            self.dropped += 1;
        }
    }

    fn error(&mut self, rule: Option<&str>, field: &str, line: Option<usize>, message: String) {
        self.errors += 1;
        self.push(Issue {
            severity: Severity::Error,
            rule: rule.map(str::to_string),
            field: field.to_string(),
            line: line.map(|l| l as u32),
            message,
        });
    }

    fn warning(&mut self, rule: &str, field: &str, line: Option<usize>, message: String) {
        self.push(Issue {
            severity: Severity::Warning,
            rule: Some(rule.to_string()),
            field: field.to_string(),
            line: line.map(|l| l as u32),
            message,
        });
    }

    fn finish(mut self) -> Vec<Issue> {
        if self.dropped > 0 {
            let severity = if self.errors > 0 {
                Severity::Error
            } else {
                Severity::Warning
            };
            self.list.push(Issue {
                severity,
                rule: None,
                field: "document".to_string(),
                line: None,
                message: format!("{} more issues not listed", self.dropped),
            });
        }
        // Errors first: they are why there is no document.
        self.list.sort_by_key(|i| i.severity != Severity::Error);
        self.list
    }
}
