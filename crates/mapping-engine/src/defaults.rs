//! The shipped default mappings: every `mappings/*.toml`, listed by `build.rs` at build time,
//! so the host and the `mapping` component share one list.

include!(concat!(env!("OUT_DIR"), "/defaults.rs"));

/// The text of the shipped default mapping for `kind`.
pub fn default_text(kind: &str) -> Option<&'static str> {
    DEFAULTS.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}
