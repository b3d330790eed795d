//! The transform role over a `ferry:transform` plugin (1.0 or 1.1: the interface is the same).

use std::sync::Arc;

use async_trait::async_trait;
use ferry_domain::{Context, Document, Issue, Mapped, RoleResult, Transform};

use super::convert::mapping_result;
use super::{PluginSource, guest_call};
use crate::bindings::transform as wit_mapping;
use crate::bindings::types as wit;

pub(super) struct TransformAdapter {
    source: Arc<dyn PluginSource>,
}

impl TransformAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>) -> Self {
        Self { source }
    }
}

#[async_trait]
impl Transform for TransformAdapter {
    async fn map_document(
        &self,
        kind: &str,
        input: &Document,
        context: &Context,
    ) -> RoleResult<Result<Mapped, Vec<Issue>>> {
        let kind = kind.to_string();
        let input = wit::Document::from(input.clone());
        let context = wit_mapping::Context::from(context.clone());
        // A transform's world has no `diagnostics`: its problems are issues, not errors.
        let (mapped, _details) = guest_call!(&self.source, Transform, transform, |b, s| b
            .ferry_transform_transform()
            .call_map_document(s, &kind, &input, &context));
        Ok(mapping_result(mapped))
    }
}
