//! Declarative mappings on the host side: the engine (crate `ferry-mapping-engine`, the same code
//! the `mapping` component runs) natively, for `ferry mapping test`, `ferry mapping suggest` and
//! the benchmark's native baseline (the engine's documents are the domain's); and documents as
//! JSON.

pub mod json;
pub mod suggest;

pub use ferry_mapping_engine as engine;
pub use ferry_mapping_engine::{Mapping, MappingError};

use crate::runtime::bindings::transform as wit_mapping;
use crate::runtime::bindings::types;

/// The shipped default mappings (every `mappings/*.toml`), by kind: the list the mapping engine
/// generates at build time, the same one the `mapping` component builds in.
pub use ferry_mapping_engine::DEFAULTS;

/// The shipped default mapping for `kind`, parsed.
pub fn default_mapping(kind: &str) -> Option<Mapping> {
    ferry_mapping_engine::default_text(kind).and_then(|text| Mapping::parse(text).ok())
}

/// Runs a mapping natively over the contract's types: what the `mapping` component does,
/// without the sandbox. A test-only path (`tests/mapping_components.rs` compares it with the
/// component's answer); the host itself maps domain documents with [`Mapping::map`]. The
/// conversions are the runtime's one place for them (`runtime::roles::convert`).
#[doc(hidden)]
pub fn map_native(
    mapping: &Mapping,
    input: &types::Document,
    context: &wit_mapping::Context,
) -> Result<wit_mapping::Mapped, Vec<wit_mapping::Issue>> {
    let document = engine::Document::from(input.clone());
    let context = engine::Context::from(context.clone());
    crate::runtime::roles::mapping_result_to_wit(mapping.map(&document, &context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_mapping_parses() {
        for (kind, text) in DEFAULTS {
            let m = Mapping::parse(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(m.kind(), *kind);
        }
    }
}
