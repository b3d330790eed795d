//! The engine's own document model. It mirrors `ferry:plugin/types` (a document is header fields
//! plus lines of fields, each value typed) without depending on any WIT bindings, so the same
//! engine runs in the guest component and natively in the host; each side converts field by
//! field.

/// One typed value, as in the WIT contract: decimals are strings ("12.50"), dates ISO
/// `yyyy-mm-dd` strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Decimal(String),
    Integer(i64),
    Boolean(bool),
    Date(String),
    Null,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: Value,
}

impl Field {
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    pub kind: String,
    pub id: Option<String>,
    pub fields: Vec<Field>,
    pub lines: Vec<Line>,
}

impl Document {
    /// The header field's value, `None` when absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        get(&self.fields, name)
    }
}

impl Line {
    pub fn get(&self, name: &str) -> Option<&Value> {
        get(&self.fields, name)
    }
}

pub(crate) fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Value> {
    fields.iter().find(|f| f.name == name).map(|f| &f.value)
}

/// What the host knows besides the document: the tenant, its settings (default warehouse,
/// order type...) and ids it resolved before mapping ("customer" → the ERP customer number).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    pub tenant: String,
    pub settings: Vec<(String, String)>,
    pub ids: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A problem found while mapping, naming the rule and the target field (`lines[3].ORQT`).
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    pub document: Document,
    pub warnings: Vec<Issue>,
}

/// Which fields one mapping reads and writes (the `describe` export).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldUsage {
    pub kind: String,
    pub reads: Vec<String>,
    pub writes: Vec<String>,
}
