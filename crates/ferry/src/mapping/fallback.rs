//! The shipped default mappings as a transform: what serves a kind the tenant's transform
//! plugin does not declare (a transform is bound per kind, not per tenant).

use std::collections::HashMap;
use std::sync::OnceLock;

/// The shipped default mappings (`mappings/*.toml`) run natively: what serves a kind the
/// tenant's transform plugin does not declare.
pub struct DefaultMappings;

/// Every shipped default, parsed once (a default that does not parse is a build defect, caught
/// by `every_shipped_mapping_parses`; it is left out here rather than panicking a server).
fn default_mappings() -> &'static HashMap<&'static str, super::Mapping> {
    static PARSED: OnceLock<HashMap<&'static str, super::Mapping>> = OnceLock::new();
    PARSED.get_or_init(|| {
        super::DEFAULTS
            .iter()
            .filter_map(|(kind, text)| Some((*kind, super::Mapping::parse(text).ok()?)))
            .collect()
    })
}

impl DefaultMappings {
    fn map(
        kind: &str,
        input: &ferry_domain::Document,
        context: &ferry_domain::Context,
    ) -> Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>> {
        let Some(mapping) = default_mappings().get(kind) else {
            return Err(vec![ferry_domain::Issue {
                severity: ferry_domain::Severity::Error,
                rule: None,
                field: "kind".to_string(),
                line: None,
                message: format!(
                    "the tenant's transform does not map '{kind}' and there is no default mapping for it"
                ),
            }]);
        };
        mapping.map(input, context)
    }
}

type MapFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = ferry_domain::RoleResult<
                    Result<ferry_domain::Mapped, Vec<ferry_domain::Issue>>,
                >,
            > + Send
            + 'a,
    >,
>;

// The `async_trait` signature written out (this crate does not depend on `async-trait`); the
// mapping is synchronous, so the future is ready at once.
impl ferry_domain::Transform for DefaultMappings {
    fn map_document<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        kind: &'life1 str,
        input: &'life2 ferry_domain::Document,
        context: &'life3 ferry_domain::Context,
    ) -> MapFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(std::future::ready(Ok(Self::map(kind, input, context))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_domain::{Context, Document, Field, Transform, Value};

    #[tokio::test]
    async fn a_kind_without_a_plugin_maps_with_the_shipped_default() {
        let quote = Document {
            kind: "quote".into(),
            fields: vec![
                Field::new("DocNo", Value::Text("AAAQ1001".into())),
                Field::new("SoldToCMAccountNo", Value::Text("C-7".into())),
                Field::new("SoldToEmail", Value::Text("a@example.com".into())),
                Field::new("SoldToCompany", Value::Text("Acme".into())),
                Field::new("SoldToAddress1", Value::Text("1 Main St".into())),
            ],
            ..Document::default()
        };
        let mapped = DefaultMappings
            .map_document("quote-to-customer", &quote, &Context::default())
            .await
            .expect("no call failure")
            .expect("the default quote-to-customer maps");
        assert_eq!(mapped.document.id.as_deref(), Some("C-7"));
    }

    #[tokio::test]
    async fn an_unknown_kind_is_an_issue_naming_it() {
        let issues = DefaultMappings
            .map_document(
                "quote-to-invoice",
                &Document::default(),
                &Context::default(),
            )
            .await
            .expect("no call failure")
            .expect_err("no default for it");
        assert!(issues[0].message.contains("'quote-to-invoice'"));
    }
}
