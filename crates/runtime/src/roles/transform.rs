//! The transform role over a `ferry:transform` plugin (1.0 or 1.1: the interface is the same).
//!
//! A transform is bound per kind: the plugin serves the kinds its `describe` names, and every
//! other kind a flow asks for goes to the fallback (the host's default mappings), so a plugin
//! written for `quote-to-order` alone does not hold every quote at `quote-to-customer`. A
//! plugin whose `describe` names no kind (or fails) serves every kind, as before.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use ferry_domain::{Context, Document, Issue, Mapped, RoleResult, Transform};

use super::convert::mapping_result;
use super::{GuestCalls, PluginSource, guest_call, no_plugin};
use crate::Role;
use crate::bindings::transform as wit_mapping;
use crate::bindings::types as wit;

pub(super) struct TransformAdapter {
    source: Arc<dyn PluginSource>,
    /// Serves the kinds the plugin does not declare; none: the plugin serves every kind.
    fallback: Option<Arc<dyn Transform>>,
    /// The kinds the last-seen plugin declared, by its digest (asked once per version).
    served: Mutex<Option<(String, Served)>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Served {
    All,
    Only(BTreeSet<String>),
}

impl Served {
    fn from_kinds(kinds: impl IntoIterator<Item = String>) -> Self {
        let kinds: BTreeSet<String> = kinds.into_iter().filter(|k| !k.is_empty()).collect();
        if kinds.is_empty() {
            Served::All
        } else {
            Served::Only(kinds)
        }
    }

    fn serves(&self, kind: &str) -> bool {
        match self {
            Served::All => true,
            Served::Only(kinds) => kinds.contains(kind),
        }
    }
}

impl TransformAdapter {
    pub(super) fn new(source: Arc<dyn PluginSource>, fallback: Option<Arc<dyn Transform>>) -> Self {
        Self {
            source,
            fallback,
            served: Mutex::new(None),
        }
    }

    /// Whether the active plugin maps `kind` itself (true without a fallback).
    async fn plugin_serves(&self, kind: &str) -> RoleResult<bool> {
        if self.fallback.is_none() {
            return Ok(true);
        }
        let plugin = self.source.plugin(Role::Transform).map_err(no_plugin)?;
        if let Ok(cached) = self.served.lock()
            && let Some((digest, served)) = cached.as_ref()
            && *digest == plugin.digest
        {
            return Ok(served.serves(kind));
        }
        let served = match self.describe().await {
            Ok(usages) => Served::from_kinds(usages.into_iter().map(|u| u.kind)),
            // Not fatal: a plugin that cannot say what it maps is asked for everything.
            Err(e) => {
                tracing::warn!(digest = %plugin.digest, "transform describe failed, it serves every kind: {e}");
                Served::All
            }
        };
        let answer = served.serves(kind);
        if let Ok(mut cached) = self.served.lock() {
            *cached = Some((plugin.digest.clone(), served));
        }
        Ok(answer)
    }

    async fn describe(&self) -> RoleResult<Vec<wit_mapping::FieldUsage>> {
        let (usages, _details) = guest_call!(&self.source, Transform, transform, |b, s| b
            .ferry_transform_transform()
            .call_describe(s));
        Ok(usages)
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
        if let Some(fallback) = &self.fallback
            && !self.plugin_serves(kind).await?
        {
            return fallback.map_document(kind, input, context).await;
        }
        let kind = kind.to_string();
        let input = wit::Document::from(input.clone());
        let context = wit_mapping::Context::from(context.clone());
        // A transform's world has no `diagnostics`: its problems are issues, not errors.
        let (mapped, _details) = guest_call!(&self.source, Transform, transform, |b, s| b
            .ferry_transform_transform()
            .call_map_document(s, &kind, &input, &context));
        Ok(mapping_result(mapped))
    }

    /// The calls in one task on the guest threads, each on the warm instance with its own
    /// turn and deadline as a single call has: a catalog page pays one hop to the guest
    /// threads and back, not one per item. Each call is observed and, when the run detail
    /// records, journaled as a single call is; a shadow's tape (none opens for a transform
    /// today) sends them one by one. The first call that fails ends the batch.
    async fn map_documents(
        &self,
        kind: &str,
        inputs: &[Document],
        context: &Context,
    ) -> RoleResult<Vec<Result<Mapped, Vec<Issue>>>> {
        if crate::tape::current().is_some() {
            return ferry_domain::map_each(self, kind, inputs, context).await;
        }
        if let Some(fallback) = &self.fallback
            && !self.plugin_serves(kind).await?
        {
            return fallback.map_documents(kind, inputs, context).await;
        }
        // The one lookup a single call makes, once for the batch: each call below is then
        // made (its own turn, deadline and warm instance), observed and journaled as one.
        let calls = GuestCalls::resolve(&self.source, Role::Transform)?;
        let task = calls.clone();
        let kind = kind.to_string();
        let inputs: Vec<wit::Document> = inputs.iter().cloned().map(Into::into).collect();
        let context = wit_mapping::Context::from(context.clone());
        let batch_started = Instant::now();
        // Each call's time and outcome, up to the first that failed.
        let made = calls
            .runtime
            .run_guest(async move {
                let mut made = Vec::with_capacity(inputs.len());
                for input in &inputs {
                    let started = Instant::now();
                    let (outcome, exchanges) = guest_call!(@call &task, transform, |b, s| b
                        .ferry_transform_transform()
                        .call_map_document(s, &kind, input, &context));
                    let failed = outcome.is_err();
                    made.push((started.elapsed(), outcome, exchanges));
                    if failed {
                        break;
                    }
                }
                Ok(made)
            })
            .await;
        let made = match made {
            Ok(made) => made,
            // The task itself ended (a panic): one stop for the batch.
            Err(e) => vec![(batch_started.elapsed(), Err(e), Default::default())],
        };
        let mut out = Vec::with_capacity(made.len());
        for (took, outcome, exchanges) in made {
            calls.settle(took, &outcome, exchanges);
            // A transform's world has no `diagnostics`: its problems are issues, not errors.
            let (mapped, _details) = outcome.map_err(ferry_domain::CallFailure::from)?;
            out.push(mapping_result(mapped));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Served;

    #[test]
    fn a_plugin_that_names_kinds_serves_only_those() {
        let served = Served::from_kinds(["quote-to-order".to_string()]);
        assert!(served.serves("quote-to-order"));
        assert!(!served.serves("quote-to-customer"));
    }

    #[test]
    fn a_plugin_that_names_no_kind_serves_every_kind() {
        let served = Served::from_kinds([String::new()]);
        assert_eq!(served, Served::All);
        assert!(served.serves("item-to-product"));
    }
}
