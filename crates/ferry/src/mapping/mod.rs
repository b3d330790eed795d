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

/// Fields a connector sets itself whatever a mapping writes there: (output kind, header field,
/// why). M3's CUOR carries the order's idempotency reference, which the flow takes from the
/// mapping's `id`; the M3 connector drops a CUOR the header maps and sends the reference.
const RESERVED: &[(&str, &str, &str)] = &[(
    "order",
    "CUOR",
    "the M3 connector sends the order's idempotency reference there (this mapping's `id`)",
)];

/// Warnings for the rules that write a field a connector reserves ([`RESERVED`]) with anything
/// but what the connector sends (for CUOR: the `id` expression itself), since their value is
/// dropped, not sent (`ferry mapping check` and `mapping test` print them).
pub fn reserved_warnings(m: &Mapping) -> Vec<String> {
    let id = m
        .id_expression()
        .map(|e| e.split_whitespace().collect::<String>());
    m.rules()
        .into_iter()
        .filter(|r| r.level == engine::Level::Header)
        .filter_map(|r| {
            let (_, field, why) = RESERVED
                .iter()
                .find(|(out, field, _)| *out == m.output_kind() && *field == r.target)?;
            let same = id.as_deref() == Some(&r.expression.split_whitespace().collect::<String>());
            (!same).then(|| {
                format!(
                    "[header] {field} = {:?} is not sent: {why}, {}",
                    r.expression,
                    match m.id_expression() {
                        Some(id) => format!("`{id}`"),
                        None => "which this mapping does not set".to_string(),
                    }
                )
            })
        })
        .collect()
}

/// The shipped default mapping for `kind`, parsed.
pub fn default_mapping(kind: &str) -> Option<Mapping> {
    ferry_mapping_engine::default_text(kind).and_then(|text| Mapping::parse(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_that_writes_cuor_other_than_its_id_is_warned_the_shipped_one_is_not() {
        let order = |id: &str, cuor: &str| {
            Mapping::parse(&format!(
                "[mapping]\nkind = \"quote-to-order\"\noutput = \"order\"\nid = \"{id}\"\n[header]\nCUOR = \"{cuor}\"\n"
            ))
            .expect("parses")
        };
        let warned = reserved_warnings(&order("DocNo", "SoldToPONumber"));
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].contains("CUOR") && warned[0].contains("`DocNo`"),
            "{warned:?}"
        );
        assert!(
            reserved_warnings(&order("RevisionOf ?? DocNo", "RevisionOf  ??  DocNo")).is_empty()
        );
        let shipped = default_mapping("quote-to-order").expect("shipped");
        assert!(reserved_warnings(&shipped).is_empty());
        // Another output kind has nothing reserved.
        let customer = Mapping::parse(
            "[mapping]\nkind = \"quote-to-customer\"\noutput = \"customer\"\n[header]\nCUOR = \"DocNo\"\n",
        )
        .expect("parses");
        assert!(reserved_warnings(&customer).is_empty());
    }

    #[test]
    fn every_shipped_mapping_parses() {
        for (kind, text) in DEFAULTS {
            let m = Mapping::parse(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(m.kind(), *kind);
        }
    }
}
