//! The one migration concept every durable backend follows: a numbered, append-only list of
//! migrations per backend; the database records how many it has applied; opening applies the
//! missing ones in one transaction, serialized against other processes opening it at once;
//! and a database that records more than the binary knows is refused (a newer binary migrated
//! it: this one would misread or damage it).

use serde::Serialize;

use crate::StoreError;

/// What opening did to a database's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Migrated {
    /// The backend (`sqlite`, `postgres`).
    pub backend: &'static str,
    /// The version found (0: a new database).
    pub from: i64,
    /// The version now: the newest this binary knows.
    pub to: i64,
}

/// How many of the `known` migrations a database at version `found` has: those are skipped.
pub(crate) fn applied(
    backend: &'static str,
    found: i64,
    known: usize,
) -> Result<usize, StoreError> {
    let known_version = i64::try_from(known).unwrap_or(i64::MAX);
    if found > known_version {
        return Err(StoreError::SchemaTooNew {
            backend,
            found,
            known: known_version,
        });
    }
    Ok(usize::try_from(found.max(0)).unwrap_or(0))
}
