//! `store = …` in `ferry.toml`: where a node keeps its durable state. Absent: SQLite in the
//! data directory (one node, the embedded default). A PostgreSQL URL, written inline
//! (`store = "postgres://ferry@db/ferry"`) or by reference (`store = { env =
//! "FERRY_DATABASE_URL" }`, `{ file = "…" }`: a URL with a password is a secret), puts the
//! node on PostgreSQL. Parsing records the choice; [`FerryConfig::store_location`] reads a
//! reference (the resolve stage).

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, FerryConfig, SecretRef};
use ferry_store::Location;

const EXPECTED: &str = "a PostgreSQL URL (\"postgres://user@host/db\") or a reference to one ({ env = \"VAR\" } or { file = \"PATH\" })";

/// The configured store, before any reference is read.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSetting {
    /// A `postgres://` or `postgresql://` URL written in the config.
    Url(String),
    /// A reference to where the URL is.
    Ref(SecretRef),
}

/// Never shows an inline URL's password.
impl fmt::Debug for StoreSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSetting::Url(url) => write!(f, "{}", Location::Postgres(url.clone())),
            StoreSetting::Ref(r) => write!(f, "{r}"),
        }
    }
}

impl<'de> Deserialize<'de> for StoreSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};

        struct SettingVisitor;
        impl<'de> Visitor<'de> for SettingVisitor {
            type Value = StoreSetting;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StoreSetting, E> {
                if Location::is_postgres_url(s) {
                    Ok(StoreSetting::Url(s.to_string()))
                } else {
                    // Not echoed: it may be a mistyped URL with a password in it.
                    Err(E::custom(format!(
                        "expected {EXPECTED}; SQLite, the default, needs no `store` line"
                    )))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StoreSetting, A::Error> {
                SecretRef::deserialize(MapAccessDeserializer::new(map)).map(StoreSetting::Ref)
            }
        }
        d.deserialize_any(SettingVisitor)
    }
}

impl FerryConfig {
    /// Where this node's store is: the configured PostgreSQL database (a reference is read
    /// now), else SQLite in `data_dir`.
    pub fn store_location(&self, data_dir: &Path) -> Result<Location, ConfigError> {
        let url = match &self.store {
            None => {
                return Ok(Location::Sqlite(ferry_layout::DataDir::new(data_dir).db()));
            }
            Some(StoreSetting::Url(url)) => url.clone(),
            Some(StoreSetting::Ref(r)) => r
                .resolve(&self.base_dir)
                .map_err(|message| ConfigError::Store(format!("store = {r}: {message}")))?,
        };
        let url = url.trim().to_string();
        if !Location::is_postgres_url(&url) {
            return Err(ConfigError::Store(format!(
                "the store URL must start with postgres:// or postgresql:// (it starts with '{}')",
                url.split("://")
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(16)
                    .collect::<String>()
            )));
        }
        Ok(Location::Postgres(url))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn parse(text: &str) -> Result<FerryConfig, ConfigError> {
        FerryConfig::parse(text, Path::new("/etc/ferry"))
    }

    #[test]
    fn no_store_line_is_sqlite_in_the_data_directory() {
        let config = parse("").expect("parses");
        let at = config
            .store_location(Path::new("/var/lib/ferry"))
            .expect("location");
        assert_eq!(
            at,
            Location::Sqlite(ferry_layout::DataDir::new(Path::new("/var/lib/ferry")).db())
        );
    }

    #[test]
    fn a_postgres_url_inline_or_by_reference_puts_the_store_on_postgres() {
        let inline = parse("store = \"postgres://ferry:pw@db.internal/ferry\"").expect("parses");
        assert_eq!(
            inline.store_location(Path::new("d")).expect("location"),
            Location::Postgres("postgres://ferry:pw@db.internal/ferry".into())
        );
        assert!(
            !format!("{inline:?}").contains(":pw@"),
            "Debug hides the password"
        );

        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("db-url"),
            "postgresql:///ferry?host=/run/pg\n",
        )
        .expect("write");
        let by_file =
            FerryConfig::parse("store = { file = \"db-url\" }", dir.path()).expect("parses");
        assert_eq!(
            by_file.store_location(Path::new("d")).expect("location"),
            Location::Postgres("postgresql:///ferry?host=/run/pg".into())
        );
    }

    #[test]
    fn a_store_that_is_not_a_postgres_url_is_refused_without_echoing_it() {
        let err = parse("store = \"mysql://root:hunter2@db/ferry\"")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("store") && err.contains("postgres://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");

        let unset = parse("store = { env = \"FERRY_TEST_UNSET_DATABASE_URL\" }").expect("parses");
        let err = unset
            .store_location(&PathBuf::from("d"))
            .expect_err("unset")
            .to_string();
        assert!(err.contains("FERRY_TEST_UNSET_DATABASE_URL"), "{err}");
    }
}
