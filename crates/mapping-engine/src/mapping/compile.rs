//! The mapping file's TOML shape, and its rules and lookup tables compiled (and checked) once.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSpec {
    pub(super) mapping: MetaSpec,
    #[serde(default)]
    pub(super) tables: toml::Table,
    #[serde(default)]
    pub(super) header: toml::Table,
    pub(super) lines: Option<LinesSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetaSpec {
    pub(super) kind: String,
    pub(super) output: Option<String>,
    pub(super) id: Option<String>,
    pub(super) description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LinesSpec {
    pub(super) when: Option<String>,
    #[serde(default)]
    pub(super) fields: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    pub(super) value: Option<toml::Value>,
    #[serde(rename = "const")]
    pub(super) constant: Option<toml::Value>,
    #[serde(rename = "type")]
    pub(super) ty: Option<String>,
    #[serde(default)]
    pub(super) required: bool,
    pub(super) default: Option<toml::Value>,
    pub(super) max: Option<i64>,
    pub(super) overflow: Option<String>,
    pub(super) when: Option<String>,
    pub(super) rule: Option<String>,
    #[serde(default)]
    pub(super) keep_empty: bool,
    #[allow(dead_code)]
    pub(super) note: Option<String>,
}

pub(super) fn literal(v: &toml::Value, place: &str) -> Result<V<'static>, MappingError> {
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
pub(super) fn literal_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.type_str().to_string(),
    }
}

/// A string is an expression; numbers and booleans are literals.
pub(super) fn expression(
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

pub(super) fn condition(s: &str, place: &str, tables: &[Table]) -> Result<Expr, MappingError> {
    expr::parse(s, tables).map_err(|m| invalid(place, format!("{m} in \"{s}\"")))
}

pub(super) fn compile_rule(
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

pub(super) fn compile_table(name: &str, spec: &toml::Value) -> Result<Table, MappingError> {
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
