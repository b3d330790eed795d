//! Secrets by reference: the config names where a secret is (`{ env = "VAR" }` or
//! `{ file = "PATH" }`), never its value. Parsing only records the reference; the value is
//! read by the resolve stage.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where a secret is read from when the config is resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

const SECRET_INLINE: &str =
    "secrets are given by reference: { env = \"VAR\" } or { file = \"PATH\" }, never inline";

// Hand-written so that a secret typed inline is refused without echoing its value.
impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Repr {
            env: Option<String>,
            file: Option<PathBuf>,
        }

        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = SecretRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(SECRET_INLINE)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretRef, A::Error> {
                let r = Repr::deserialize(MapAccessDeserializer::new(map))?;
                match (&r.env, &r.file) {
                    (Some(_), None) | (None, Some(_)) => Ok(SecretRef {
                        env: r.env,
                        file: r.file,
                    }),
                    _ => Err(de::Error::custom(
                        "give exactly one of `env = \"VAR\"` or `file = \"PATH\"`",
                    )),
                }
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretRef, E> {
                Err(E::custom(SECRET_INLINE))
            }
        }
        d.deserialize_any(RefVisitor)
    }
}

impl SecretRef {
    /// Reads the secret (the resolve stage; parsing never calls this). A file's trailing
    /// newline is not part of the secret.
    pub fn resolve(&self, base: &Path) -> Result<String, String> {
        match (&self.env, &self.file) {
            (Some(var), None) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
            }
            (None, Some(file)) => {
                let path = base.join(file);
                std::fs::read_to_string(&path)
                    .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                    .map_err(|e| format!("reading {}: {e}", path.display()))
            }
            _ => Err("give exactly one of `env = \"VAR\"` or `file = \"PATH\"`".into()),
        }
    }
}

/// Shows the reference as it would be written in the config (a reference is not secret).
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.env, &self.file) {
            (Some(var), _) => write!(f, "{{ env = \"{var}\" }}"),
            (None, Some(file)) => write!(f, "{{ file = \"{}\" }}", file.display()),
            (None, None) => f.write_str("{ }"),
        }
    }
}
