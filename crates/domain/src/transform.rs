//! What a transform is given besides the document, and what it answers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::document::Document;

/// What the host knows besides the document: the tenant, its settings (default warehouse,
/// order type...) and ids it resolved before mapping ("customer" → the ERP customer number).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    pub tenant: String,
    pub settings: Vec<(String, String)>,
    pub ids: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
}

/// A problem found while mapping, naming the rule and the target field (`lines[3].ORQT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub severity: Severity,
    /// The rule's name (`header.CUNO`, `lines.ORQT`, or the name the file gave it).
    pub rule: Option<String>,
    /// The target field.
    pub field: String,
    /// 0-based index of the *source* line, none for the header.
    pub line: Option<u32>,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "lines[{line}].")?;
        }
        write!(f, "{}: {}", self.field, self.message)?;
        if self.severity == Severity::Warning {
            f.write_str(" (warning)")?;
        }
        Ok(())
    }
}

/// A mapped document and its warnings (e.g. values truncated by a length rule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapped {
    pub document: Document,
    pub warnings: Vec<Issue>,
}

/// Which fields one mapping reads and writes (the `describe` export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldUsage {
    pub kind: String,
    pub reads: Vec<String>,
    pub writes: Vec<String>,
}
