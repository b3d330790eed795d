//! Opening the store a node is configured with: one code path for every durable backend, so
//! the server and the CLI hold `Arc<dyn Store>` and never name a backend.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::{Migrated, PgStore, SqliteStore, Store, StoreError};

/// Where the store is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (the embedded default: `ferry.db` in the data directory).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://user:password@host:5432/db`, or
    /// `postgresql:///db?host=/run/postgresql` for a unix socket).
    Postgres(String),
}

impl Location {
    /// Whether `text` names a PostgreSQL database (a `postgres://` or `postgresql://` URL).
    pub fn is_postgres_url(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }
}

/// Shown without the password a URL may carry.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Location::Postgres(url) => write!(f, "PostgreSQL {}", redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The URL with any `user:password@` password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((creds, host)) => {
            let user = creds.split_once(':').map_or(creds, |(user, _)| user);
            let hidden = if creds.contains(':') { ":***" } else { "" };
            format!("{user}{hidden}@{host}")
        }
        None => authority.to_string(),
    };
    // A password may also come as a query parameter.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some(("password", _)) => "password=***".to_string(),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// An open store and what opening did to its schema.
pub struct Opened {
    pub store: Arc<dyn Store>,
    pub schema: Migrated,
}

/// Opens the store at `location`, applying the migrations it lacks (refused when it is newer
/// than this binary).
pub async fn open(location: &Location) -> Result<Opened, StoreError> {
    match location {
        Location::Sqlite(path) => {
            let store = SqliteStore::open(path).await?;
            let schema = store.schema();
            Ok(Opened {
                store: Arc::new(store),
                schema,
            })
        }
        Location::Postgres(url) => {
            let store = PgStore::open(url).await?;
            let schema = store.schema();
            Ok(Opened {
                store: Arc::new(store),
                schema,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_never_shows_the_password() {
        let at = Location::Postgres("postgres://ferry:s3cret@db.internal:5432/ferry".into());
        assert_eq!(
            at.to_string(),
            "PostgreSQL postgres://ferry:***@db.internal:5432/ferry"
        );
        let socket = Location::Postgres("postgresql:///ferry?host=/run/postgresql".into());
        assert_eq!(
            socket.to_string(),
            "PostgreSQL postgresql:///ferry?host=/run/postgresql"
        );
        assert!(!format!("{at:?}").contains("s3cret"));
        let query = Location::Postgres("postgres://db/ferry?user=f&password=s3cret".into());
        assert_eq!(
            query.to_string(),
            "PostgreSQL postgres://db/ferry?user=f&password=***"
        );
    }
}
