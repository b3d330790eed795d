//! Plugin settings as the tenant writes them: strings, numbers or booleans
//! (`discount_pct = 5`, `dry_run = true`). The plugin's `config` import hands every value over
//! as text, so numbers and booleans are written out here; whether each is of the type the
//! plugin declares is checked at activation, against its package manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// One setting's value, written out as text; anything but a string, number or boolean is
/// refused naming what was expected.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `deserialize_with` for `[tenants.T.plugins.ROLE] settings`.
pub fn scalars<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(raw.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Plugin {
        #[serde(deserialize_with = "super::scalars")]
        settings: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn numbers_and_booleans_are_settings_too() {
        let p: Plugin =
            toml::from_str("settings = { api = \"v2\", retries = 3, pct = 2.5, dry_run = true }")
                .expect("scalars");
        let got: Vec<_> = p.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(got, ["api=v2", "dry_run=true", "pct=2.5", "retries=3"]);
        let err = toml::from_str::<Plugin>("settings = { list = [1] }").expect_err("a list");
        assert!(
            err.to_string()
                .contains("expected a string, a number or a boolean"),
            "{err}"
        );
    }
}
