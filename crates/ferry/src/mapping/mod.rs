//! Declarative mappings on the host side: the engine (crate `ferry-mapping-engine`, the same code
//! the `mapping` component runs) natively, for `ferry mapping test`, `ferry mapping suggest` and
//! the benchmark's native baseline (the engine's documents are the domain's); and documents as
//! JSON. Nothing here names the contract's bindings (tidy checks it).

mod fallback;
pub mod json;
pub mod suggest;

pub use fallback::DefaultMappings;
pub use ferry_mapping_engine as engine;
pub use ferry_mapping_engine::{Mapping, MappingError};

/// The shipped default mappings (every `mappings/*.toml`), by kind: the list the mapping engine
/// generates at build time, the same one the `mapping` component builds in.
pub use ferry_mapping_engine::DEFAULTS;

/// The shipped default mapping for `kind`, parsed.
pub fn default_mapping(kind: &str) -> Option<Mapping> {
    ferry_mapping_engine::default_text(kind).and_then(|text| Mapping::parse(text).ok())
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
