//! One compiled rule over a document, and the issues a run collects.

use super::*;

pub(super) enum Outcome {
    Skip,
    Value(Value, Option<String>),
}

pub(super) fn apply(rule: &Rule, env: &Env<'_>) -> Result<Outcome, String> {
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
pub(super) struct Issues {
    pub(super) list: Vec<Issue>,
    pub(super) errors: usize,
    pub(super) dropped: usize,
}

impl Issues {
    pub(super) fn push(&mut self, issue: Issue) {
        if self.list.len() < MAX_ISSUES {
            self.list.push(issue);
        } else {
            self.dropped += 1;
        }
    }

    pub(super) fn error(
        &mut self,
        rule: Option<&str>,
        field: &str,
        line: Option<usize>,
        message: String,
    ) {
        self.errors += 1;
        self.push(Issue {
            severity: Severity::Error,
            rule: rule.map(str::to_string),
            field: field.to_string(),
            line: line.map(|l| l as u32),
            message,
        });
    }

    pub(super) fn warning(
        &mut self,
        rule: &str,
        field: &str,
        line: Option<usize>,
        message: String,
    ) {
        self.push(Issue {
            severity: Severity::Warning,
            rule: Some(rule.to_string()),
            field: field.to_string(),
            line: line.map(|l| l as u32),
            message,
        });
    }

    pub(super) fn finish(mut self) -> Vec<Issue> {
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
