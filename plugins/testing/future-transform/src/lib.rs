//! A transform for `ferry:transform@2.0.0`, a major version this host does not speak, that also
//! imports an interface the host does not offer. Activation must refuse it and say why.

wit_bindgen::generate!({
    inline: r#"
        package ferry:transform@2.0.0;

        interface kv {
            get: func(key: string) -> option<string>;
        }

        interface transform {
            map-document: func(kind: string, input: list<u8>) -> result<list<u8>, string>;
        }

        world plugin {
            import kv;
            export transform;
        }
    "#,
    world: "plugin",
});

struct Future;

impl exports::ferry::transform::transform::Guest for Future {
    fn map_document(kind: String, input: Vec<u8>) -> Result<Vec<u8>, String> {
        let prefix = ferry::transform::kv::get(&kind).unwrap_or_default();
        let mut out = prefix.into_bytes();
        out.extend(input);
        Ok(out)
    }
}

export!(Future);
