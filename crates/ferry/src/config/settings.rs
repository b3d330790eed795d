//! Plugin settings as the tenant writes them: strings, numbers or booleans
//! (`discount_pct = 5`, `dry_run = true`). The plugin's `config` import hands every value over
//! as text, so numbers and booleans are written out here; whether each is of the type the
//! plugin declares is checked at activation, against its package manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

/// `deserialize_with` for `[tenants.T.plugins.ROLE] settings`.
pub fn scalars<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Scalar::Text(s) => s,
                Scalar::Integer(i) => i.to_string(),
                Scalar::Float(f) => f.to_string(),
                Scalar::Bool(b) => b.to_string(),
            };
            (k, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
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
        assert!(toml::from_str::<Plugin>("settings = { list = [1] }").is_err());
    }
}
