//! A component's own name and version, as the component tooling records them: the name in
//! the `component-name` section, the version in the `version` custom section (the
//! OCI-annotation sections `wasm-tools metadata add --name … --version …` writes). Only the
//! outermost component's own sections count, not those of the modules inside it.

use wasmparser::{KnownCustom, Parser, Payload};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub name: Option<String>,
    pub version: Option<String>,
}

/// Reads what `bytes` carries; an unreadable component simply has none.
pub fn read(bytes: &[u8]) -> Metadata {
    let mut meta = Metadata::default();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => break,
            },
            Payload::CustomSection(c) if depth == 0 => match c.as_known() {
                KnownCustom::ComponentName(names) => {
                    for name in names.into_iter().flatten() {
                        if let wasmparser::ComponentName::Component { name, .. } = name {
                            meta.name = Some(name.to_string());
                        }
                    }
                }
                KnownCustom::Unknown if c.name() == "version" => {
                    meta.version = std::str::from_utf8(c.data()).ok().map(str::to_string);
                }
                _ => {}
            },
            _ => {}
        }
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut body = vec![u8::try_from(name.len()).expect("short")];
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(data);
        let mut s = vec![0u8, u8::try_from(body.len()).expect("short")];
        s.extend(body);
        s
    }

    #[test]
    fn name_and_version_come_from_the_outer_components_sections() {
        // An empty component (preamble only), then the two sections.
        let mut c = b"\0asm\x0d\0\x01\0".to_vec();
        assert_eq!(read(&c), Metadata::default());
        let mut names = vec![0u8, 7, 6];
        names.extend_from_slice(b"pricer");
        c.extend(custom("component-name", &names));
        c.extend(custom("version", b"2.4.1"));
        assert_eq!(
            read(&c),
            Metadata {
                name: Some("pricer".into()),
                version: Some("2.4.1".into())
            }
        );
    }
}
