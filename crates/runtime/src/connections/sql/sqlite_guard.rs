//! What a plugin's SQL may do on a SQLite connection: statements on the granted database file
//! (`main`, and `temp` for its temporary tables), nothing else.
//!
//! SQLite itself enforces it, on every statement as it is prepared:
//! - an authorizer ([`Guard`]) refuses `ATTACH`/`DETACH`, any database but `main`/`temp`,
//!   virtual tables, `load_extension()` and other file-touching functions, every PRAGMA but a
//!   read-only allow-list, and transaction control (the host opens and ends transactions for
//!   `sql.transaction`; a plugin's own `BEGIN` would outlive its call);
//! - `VACUUM` (and `VACUUM INTO`, which writes a copy anywhere) is refused by name; below that,
//!   the authorizer refuses the `ATTACH` VACUUM runs inside, and the attached-database limit is
//!   0; `ATTACH` may neither create nor write files, defensive mode forbids writing the schema
//!   or pages directly, and extension loading stays off (rusqlite never turns it on);
//! - temporary tables live in memory, so no statement writes a file beside the database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;

/// PRAGMAs that read the schema of a named table or index (their argument is a name).
const INTROSPECTION_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "collation_list",
];

/// PRAGMAs that may be read, but not set (`PRAGMA user_version` yes, `= 5` no).
const READABLE_PRAGMAS: &[&str] = &[
    "user_version",
    "application_id",
    "schema_version",
    "data_version",
    "encoding",
    "foreign_keys",
    "page_size",
    "page_count",
    "freelist_count",
    "journal_mode",
];

/// Functions that load code or touch files (most aren't compiled in; refused by name anyway).
const DENIED_FUNCTIONS: &[&str] = &[
    "load_extension",
    "fts3_tokenizer",
    "readfile",
    "writefile",
    "edit",
];

/// The authorizer's state, shared with the connection that runs plugin statements.
#[derive(Default)]
pub struct Guard {
    /// Set while the host itself runs `BEGIN`/`COMMIT`/`ROLLBACK`.
    host: AtomicBool,
    /// Why the last statement was refused, for the plugin's error message.
    refusal: Mutex<Option<String>>,
}

impl Guard {
    /// Runs `f` with transaction control allowed: for the host's own statements only.
    pub fn as_host<T>(&self, f: impl FnOnce() -> T) -> T {
        self.host.store(true, Ordering::SeqCst);
        let out = f();
        self.host.store(false, Ordering::SeqCst);
        out
    }

    /// Why the last refused statement was refused (and forgets it).
    pub fn take_refusal(&self) -> Option<String> {
        self.refusal.lock().ok().and_then(|mut r| r.take())
    }

    fn authorize(&self, ctx: AuthContext<'_>) -> Authorization {
        match decide(&ctx, self.host.load(Ordering::SeqCst)) {
            Ok(()) => Authorization::Allow,
            Err(why) => {
                if let Ok(mut slot) = self.refusal.lock() {
                    *slot = Some(why);
                }
                Authorization::Deny
            }
        }
    }
}

/// Locks `conn` to its own database file; returns the guard its statements answer to.
pub fn harden(conn: &mut Connection) -> rusqlite::Result<Arc<Guard>> {
    conn.execute_batch("PRAGMA temp_store = MEMORY")?;
    conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_CREATE, false)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_ATTACH_WRITE, false)?;
    let guard = Arc::new(Guard::default());
    let hook = guard.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| hook.authorize(ctx)))?;
    Ok(guard)
}

/// Refusals made on the text: `VACUUM` reaches the authorizer only as the `ATTACH` it runs
/// inside, which would make a confusing message.
pub fn check_text(sql: &str) -> Result<(), String> {
    if first_word(sql).eq_ignore_ascii_case("vacuum") {
        return Err("VACUUM is not allowed (VACUUM INTO writes a copy anywhere)".into());
    }
    Ok(())
}

/// The first word of `sql`, past whitespace and comments.
fn first_word(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The policy: `Ok` allows the action, `Err` says why not.
fn decide(ctx: &AuthContext<'_>, host: bool) -> Result<(), String> {
    if let Some(db) = ctx.database_name
        && !matches!(db, "main" | "temp")
    {
        return Err(format!("database '{db}' is not the granted one"));
    }
    match ctx.action {
        AuthAction::Attach { .. } => Err("ATTACH is not allowed".into()),
        AuthAction::Detach { .. } => Err("DETACH is not allowed".into()),
        AuthAction::CreateVtable { .. } | AuthAction::DropVtable { .. } => {
            Err("virtual tables are not allowed".into())
        }
        AuthAction::Function { function_name }
            if DENIED_FUNCTIONS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(function_name)) =>
        {
            Err(format!("the function {function_name}() is not allowed"))
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let name = pragma_name.to_ascii_lowercase();
            let readable = READABLE_PRAGMAS.contains(&name.as_str()) && pragma_value.is_none();
            if INTROSPECTION_PRAGMAS.contains(&name.as_str()) || readable {
                Ok(())
            } else {
                Err(format!(
                    "PRAGMA {pragma_name}{} is not allowed (read-only schema PRAGMAs only)",
                    pragma_value.map(|v| format!(" = {v}")).unwrap_or_default()
                ))
            }
        }
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } if !host => {
            Err("transaction control is the host's: use sql.transaction".into())
        }
        AuthAction::Unknown { code, .. } => Err(format!("an unknown action ({code})")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Db {
        dir: tempfile::TempDir,
        conn: Connection,
        guard: Arc<Guard>,
    }

    fn db() -> Db {
        let dir = tempfile::tempdir().expect("tmp");
        let mut conn = Connection::open(dir.path().join("granted.db")).expect("open");
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
        )
        .expect("schema");
        let guard = harden(&mut conn).expect("harden");
        Db { dir, conn, guard }
    }

    fn refused(db: &Db, sql: &str) -> String {
        let outcome = db.conn.prepare(sql).map(|_| ());
        match outcome {
            Err(e) => db.guard.take_refusal().unwrap_or_else(|| e.to_string()),
            Ok(()) => panic!("{sql} was allowed"),
        }
    }

    fn files(db: &Db) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(db.dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn other_databases_and_files_are_out_of_reach() {
        let db = db();
        let other = db.dir.path().join("other.db");
        Connection::open(&other)
            .and_then(|c| c.execute_batch("CREATE TABLE secret (x)"))
            .expect("other db");
        let before = files(&db);
        let attach = format!("ATTACH DATABASE '{}' AS o", other.display());
        assert_eq!(refused(&db, &attach), "ATTACH is not allowed");
        let new = format!("ATTACH '{}' AS n", db.dir.path().join("new.db").display());
        assert_eq!(refused(&db, &new), "ATTACH is not allowed");
        assert_eq!(refused(&db, "DETACH DATABASE o"), "DETACH is not allowed");
        assert!(refused(&db, "SELECT * FROM o.secret").contains("no such table"));
        // VACUUM is refused by name, and below that by the authorizer and the attach limit.
        let into = format!("VACUUM INTO '{}'", db.dir.path().join("copy.db").display());
        assert!(check_text(&into).is_err());
        assert!(check_text("/* x */ -- y\n vacuum").is_err());
        assert!(db.conn.execute_batch(&into).is_err());
        assert!(db.conn.execute_batch("VACUUM").is_err());
        assert_eq!(files(&db), before);
    }

    #[test]
    fn only_read_only_pragmas_pass() {
        let db = db();
        for sql in [
            "PRAGMA table_info(t)",
            "PRAGMA main.index_list('t')",
            "SELECT name FROM pragma_table_info('t')",
            "PRAGMA user_version",
            "PRAGMA foreign_key_list(t)",
        ] {
            db.conn
                .prepare(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        for (sql, why) in [
            (
                "PRAGMA writable_schema = 1",
                "PRAGMA writable_schema = 1 is not allowed",
            ),
            (
                "PRAGMA database_list",
                "PRAGMA database_list is not allowed",
            ),
            (
                "PRAGMA user_version = 7",
                "PRAGMA user_version = 7 is not allowed",
            ),
            (
                "PRAGMA journal_mode = OFF",
                "PRAGMA journal_mode = OFF is not allowed",
            ),
            (
                "PRAGMA temp_store = FILE",
                "PRAGMA temp_store = FILE is not allowed",
            ),
        ] {
            assert!(refused(&db, sql).starts_with(why), "{sql}");
        }
        // The table-valued form asks the authorizer the same question when it runs.
        let mut stmt = db
            .conn
            .prepare("SELECT * FROM pragma_database_list")
            .expect("prepare");
        assert!(
            stmt.query([])
                .and_then(|mut r| r.next().map(|_| ()))
                .is_err()
        );
    }

    #[test]
    fn extensions_virtual_tables_and_transaction_control_are_refused() {
        let db = db();
        assert_eq!(
            refused(&db, "SELECT load_extension('/tmp/evil.so')"),
            "the function load_extension() is not allowed"
        );
        assert_eq!(
            refused(&db, "CREATE VIRTUAL TABLE v USING fts5(x)"),
            "virtual tables are not allowed"
        );
        assert!(refused(&db, "BEGIN").starts_with("transaction control"));
        assert!(refused(&db, "SAVEPOINT s").starts_with("transaction control"));
        db.guard
            .as_host(|| db.conn.execute_batch("BEGIN; ROLLBACK"))
            .expect("the host's own transaction");
        // Defensive mode holds even if a writable PRAGMA got through some other way.
        assert!(
            db.conn
                .db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE)
                .expect("config")
        );
    }

    #[test]
    fn ordinary_statements_on_the_granted_database_run() {
        let db = db();
        db.conn
            .execute("INSERT INTO t (v) VALUES (?1)", ["b"])
            .expect("insert");
        db.conn
            .execute_batch(
                "CREATE TEMP TABLE scratch (x); INSERT INTO scratch VALUES (1); \
                 CREATE TABLE main.more (x); CREATE INDEX more_x ON more (x); DROP TABLE more;",
            )
            .expect("ddl");
        let n: i64 = db
            .conn
            .query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) \
                 SELECT count(*) FROM t, c",
                [],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(n, 20);
    }
}
