//! `[tenants.T.trust]`: which plugin packages a tenant accepts at install.
//!
//! ```toml
//! [tenants.acme.trust]
//! require_signature = true
//! vendor_keys = ["base64 of the vendor's ed25519 public key (ferry plugin keygen's .pub)"]
//! ```
//!
//! With `require_signature`, install refuses a bare `.wasm`, an unsigned package and one
//! signed by a key not listed. Without (the default), anything that loads is installed; a
//! package whose signature does not hold is refused either way.

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustPolicy {
    pub require_signature: bool,
    /// Vendors' ed25519 public keys, base64 (checked at parse).
    #[serde(deserialize_with = "public_keys")]
    pub vendor_keys: Vec<String>,
}

impl TrustPolicy {
    /// Whether `key` (base64) is one of the vendor keys.
    pub fn trusts(&self, key: &str) -> bool {
        let key = key.trim();
        self.vendor_keys.iter().any(|k| k == key)
    }
}

fn public_keys<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let keys = Vec::<String>::deserialize(d)?;
    keys.into_iter()
        .map(|k| {
            let k = k.trim().to_string();
            crate::authoring::sign::parse_public(&k)
                .map(|_| k.clone())
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "'{k}' is not an ed25519 public key in base64 (32 bytes; ferry plugin \
                         keygen writes one to NAME.pub)"
                    ))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_vendor_key_is_refused_at_parse_naming_it() {
        let err = toml::from_str::<TrustPolicy>("vendor_keys = [\"bm90IGEga2V5\"]")
            .expect_err("not a key");
        assert!(
            err.to_string().contains("'bm90IGEga2V5' is not an ed25519"),
            "{err}"
        );
        let public = |seed: u8| {
            use base64::Engine as _;
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
            base64::engine::general_purpose::STANDARD.encode(key.to_bytes())
        };
        let ok = toml::from_str::<TrustPolicy>(&format!(
            "require_signature = true\nvendor_keys = [\" {} \"]",
            public(1)
        ))
        .expect("valid");
        assert!(ok.trusts(&public(1)));
        assert!(!ok.trusts(&public(2)));
    }
}
