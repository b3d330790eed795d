//! Substitutes an operator accepted for values the ERP refused on an order's lines (a part
//! number M3 does not know → the M3 item it meant): kept as cross-references of kind
//! [`SUBSTITUTE_KIND`], local id `FIELD=VALUE`, remote id the value to use. They are looked up
//! only when the ERP refuses a line, so a validated order costs nothing extra, and every
//! later quote with the same typo is corrected the same way.

use serde_json::json;

use ferry_domain::{Document, FieldError, Value};

use super::{KIND, Run, StepError};

/// The cross-reference kind of an accepted substitution.
pub const SUBSTITUTE_KIND: &str = "substitute";

/// The local id a substitution is kept under: the refused field and value.
pub fn substitute_key(field: &str, value: &str) -> String {
    format!("{field}={value}")
}

impl Run<'_> {
    /// Replaces each refused line value that has an accepted substitute; true when any was
    /// replaced (the order must be validated again). Audited per value.
    pub(super) async fn apply_substitutes(
        &mut self,
        order: &mut Document,
        problems: &[FieldError],
    ) -> Result<bool, StepError> {
        let mut replaced = false;
        for p in problems {
            let Some(line) = p.line.and_then(|l| order.lines.get_mut(l as usize)) else {
                continue;
            };
            let Some(field) = line.fields.iter_mut().find(|f| f.name == p.field) else {
                continue;
            };
            let Some(value) = field.value.as_text().map(str::to_string) else {
                continue;
            };
            let key = substitute_key(&p.field, &value);
            let Some(with) = self.xref(SUBSTITUTE_KIND, &key).await? else {
                continue;
            };
            if with == value {
                continue;
            }
            field.value = Value::Text(with.clone());
            replaced = true;
            self.store
                .audit(
                    &self.env.name,
                    KIND,
                    &self.claim.job.key,
                    "substituted",
                    &format!(
                        "line {}: {} {value} replaced by {with} (an accepted suggestion)",
                        p.line.unwrap_or_default() + 1,
                        p.field
                    ),
                    &json!({"field": p.field, "from": value, "to": with}),
                )
                .await?;
        }
        Ok(replaced)
    }
}
