//! The one migration concept every durable backend follows: a numbered, append-only list of
//! migrations per backend; the database records how many it has applied; opening applies the
//! missing ones in one transaction, serialized against other processes opening it at once.
//!
//! A database that records more than the binary knows was migrated by a newer binary. Each
//! binary also records the oldest schema version whose binaries can still use the schema it
//! leaves (`readable_from`: migrations that only add keep it; one that older binaries would
//! misread raises it to its own number). An older binary whose version is at least that opens
//! the newer database as it is, touching no schema (a rolling upgrade's old nodes may restart);
//! an older one than that, or any binary facing a database that records no such version, is
//! refused (it would misread or damage it).

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
/// `None` when the database is newer than this binary but says binaries of version `known`
/// can use it (`readable_from`): it is opened as it is, its schema untouched.
pub(crate) fn applied(
    backend: &'static str,
    found: i64,
    known: usize,
    readable_from: Option<i64>,
) -> Result<Option<usize>, StoreError> {
    let known_version = i64::try_from(known).unwrap_or(i64::MAX);
    if found > known_version {
        if readable_from.is_some_and(|oldest| oldest <= known_version) {
            return Ok(None);
        }
        return Err(StoreError::SchemaTooNew {
            backend,
            found,
            known: known_version,
        });
    }
    Ok(Some(usize::try_from(found.max(0)).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::applied;

    #[test]
    fn a_newer_schema_opens_only_for_binaries_it_says_can_read_it() {
        assert_eq!(applied("t", 3, 5, None).ok(), Some(Some(3)));
        assert_eq!(applied("t", 7, 5, Some(5)).ok(), Some(None));
        assert_eq!(applied("t", 7, 5, Some(4)).ok(), Some(None));
        assert!(
            applied("t", 7, 5, Some(6)).is_err(),
            "raised past this binary"
        );
        assert!(applied("t", 7, 5, None).is_err(), "says nothing: refused");
    }
}
