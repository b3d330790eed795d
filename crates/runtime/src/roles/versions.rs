//! What the adapters need to serve a plugin built against an older minor of its role: call
//! through the bindings that match it, and answer a function it lacks without running it.

/// [`super::answer`], then `conv` on the plugin's own answer: for records whose Rust type
/// differs per bindings module (each version's conversion is its own `From`).
pub(crate) fn answer_with<W, T>(
    raw: (
        Result<W, crate::bindings::types::Error>,
        Vec<(String, String)>,
    ),
    conv: impl FnOnce(W) -> T,
) -> ferry_domain::RoleResult<T> {
    super::answer::<W, W>(raw).map(conv)
}

/// Whether the plugin serving `role` now was built before the role's newest exports (it is
/// served by older bindings). No plugin: not, and the call says there is none.
pub(crate) fn predates(
    source: &std::sync::Arc<dyn super::PluginSource>,
    role: crate::Role,
) -> bool {
    older(source, role).is_some()
}

/// The plugin serving `role` now, when it was built before the role's newest exports.
pub(crate) fn older(
    source: &std::sync::Arc<dyn super::PluginSource>,
    role: crate::Role,
) -> Option<std::sync::Arc<crate::Plugin>> {
    source.plugin(role).ok().filter(|p| p.predates_exports())
}

/// The answer for a function `plugin` was built too early to have: the host never calls it.
pub(crate) fn unsupported(
    plugin: &crate::Plugin,
    function: &str,
    since: &str,
) -> ferry_domain::RoleFailure {
    let package = plugin.role.package().name;
    let built = plugin
        .report
        .version
        .as_deref()
        .unwrap_or("an older version");
    ferry_domain::RoleError::new(
        ferry_domain::ErrorClass::Unsupported,
        format!(
            "plugin {} was built against {package}@{built}, which has no {function} (since {since})",
            plugin.label()
        ),
    )
    .into()
}

/// Which bindings serve the ERP plugin now: the newest (1.4), 1.3's, 1.2's, or 1.1's (for
/// 1.0 and 1.1). No plugin: the newest, and the call says there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErpBindings {
    Current,
    V1_3,
    V1_2,
    V1_1,
}

pub(crate) fn erp_bindings(source: &std::sync::Arc<dyn super::PluginSource>) -> ErpBindings {
    match source
        .plugin(crate::Role::Erp)
        .ok()
        .as_deref()
        .map(|p| &p.pre)
    {
        Some(crate::plugin::RolePre::ErpV1_1(_)) => ErpBindings::V1_1,
        Some(crate::plugin::RolePre::ErpV1_2(_)) => ErpBindings::V1_2,
        Some(crate::plugin::RolePre::ErpV1_3(_)) => ErpBindings::V1_3,
        _ => ErpBindings::Current,
    }
}
