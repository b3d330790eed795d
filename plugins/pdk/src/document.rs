//! Reading and building documents without hand-writing `Field { name, value }` everywhere.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::types::{Document, Error, Field, FieldError, Line, Value};

/// Lookups over a list of fields (a document header or a line).
pub trait FieldsExt {
    fn fields(&self) -> &[Field];

    /// The value of a field, `None` when absent.
    fn get(&self, name: &str) -> Option<&Value> {
        self.fields()
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    /// The field as text: text and dates as they are, decimals and integers formatted,
    /// `None` when absent or null.
    fn text(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::Text(s) | Value::Date(s) | Value::Decimal(s) => Some(s.clone()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Boolean(b) => Some(b.to_string()),
            Value::Null => None,
        }
    }

    /// The field as a decimal. Text and integers are converted; anything unparsable is an
    /// `invalid` error naming the field. `Ok(None)` when absent, null or blank.
    fn decimal(&self, name: &str) -> Result<Option<Decimal>, Error> {
        let raw = match self.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Integer(i)) => return Ok(Some(Decimal::from(*i))),
            Some(Value::Decimal(s)) | Some(Value::Text(s)) => s.trim(),
            Some(other) => {
                return Err(Error::Invalid(vec![crate::field_error(
                    name,
                    None,
                    &format!("expected a decimal, found {other:?}"),
                )]));
            }
        };
        if raw.is_empty() {
            return Ok(None);
        }
        Decimal::from_str(raw).map(Some).map_err(|_| {
            Error::Invalid(vec![crate::field_error(
                name,
                None,
                &format!("'{raw}' is not a decimal"),
            )])
        })
    }

    /// The field as text, or an `invalid` error naming it when missing.
    fn require_text(&self, name: &str) -> Result<String, Error> {
        self.text(name)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| Error::Invalid(vec![crate::field_error(name, None, "is required")]))
    }
}

impl FieldsExt for Document {
    fn fields(&self) -> &[Field] {
        &self.fields
    }
}

impl FieldsExt for Line {
    fn fields(&self) -> &[Field] {
        &self.fields
    }
}

impl FieldsExt for [Field] {
    fn fields(&self) -> &[Field] {
        self
    }
}

/// Document-only helpers.
pub trait DocumentExt {
    /// Sets (replaces or appends) a header field.
    fn set(&mut self, name: &str, value: Value);
}

impl DocumentExt for Document {
    fn set(&mut self, name: &str, value: Value) {
        set_field(&mut self.fields, name, value);
    }
}

fn set_field(fields: &mut Vec<Field>, name: &str, value: Value) {
    match fields.iter_mut().find(|f| f.name == name) {
        Some(f) => f.value = value,
        None => fields.push(Field {
            name: name.to_string(),
            value,
        }),
    }
}

macro_rules! builder_setters {
    () => {
        /// Adds a text field.
        pub fn text(mut self, name: &str, value: impl Into<String>) -> Self {
            set_field(&mut self.fields, name, Value::Text(value.into()));
            self
        }

        /// Adds a decimal field, normalised (no trailing zeros beyond the value's scale).
        pub fn decimal(mut self, name: &str, value: Decimal) -> Self {
            set_field(
                &mut self.fields,
                name,
                Value::Decimal(value.normalize().to_string()),
            );
            self
        }

        /// Adds an integer field.
        pub fn integer(mut self, name: &str, value: i64) -> Self {
            set_field(&mut self.fields, name, Value::Integer(value));
            self
        }

        /// Adds a boolean field.
        pub fn boolean(mut self, name: &str, value: bool) -> Self {
            set_field(&mut self.fields, name, Value::Boolean(value));
            self
        }

        /// Adds an ISO `yyyy-mm-dd` date field.
        pub fn date(mut self, name: &str, value: impl Into<String>) -> Self {
            set_field(&mut self.fields, name, Value::Date(value.into()));
            self
        }

        /// Adds any value.
        pub fn value(mut self, name: &str, value: Value) -> Self {
            set_field(&mut self.fields, name, value);
            self
        }
    };
}

/// Builds a document: `DocumentBuilder::new("order").text("CUNO", "C1").line(...).build()`.
pub struct DocumentBuilder {
    kind: String,
    id: Option<String>,
    fields: Vec<Field>,
    lines: Vec<Line>,
}

impl DocumentBuilder {
    pub fn new(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            id: None,
            fields: Vec::new(),
            lines: Vec::new(),
        }
    }

    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    builder_setters!();

    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    pub fn build(self) -> Document {
        Document {
            kind: self.kind,
            id: self.id,
            fields: self.fields,
            lines: self.lines,
        }
    }
}

/// Builds one document line.
#[derive(Default)]
pub struct LineBuilder {
    fields: Vec<Field>,
}

impl LineBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    builder_setters!();

    pub fn build(self) -> Line {
        Line {
            fields: self.fields,
        }
    }
}

/// An `invalid` error for one field of one line.
pub fn line_error(field: &str, line: u32, message: &str) -> FieldError {
    crate::field_error(field, Some(line), message)
}
