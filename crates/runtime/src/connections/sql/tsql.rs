//! What a plugin's T-SQL may do, decided before anything is sent to SQL Server: a small lexer
//! (string literals, `[bracketed]` and "quoted" identifiers, nested `/* */` and `--` comments
//! are skipped as SQL Server skips them) and the checks on its tokens.
//!
//! A statement is refused when it
//! - names another database or server: a three- or four-part name (`db.dbo.t`, `db..t`,
//!   `srv.db.dbo.t`); two-part names (`dbo.t`, `alias.col`) are fine;
//! - runs code or reaches outside the database: `EXEC`/`EXECUTE`, `sp_`/`xp_`/`fn_`/`dm_`
//!   objects, `OPENROWSET`/`OPENDATASOURCE`/`OPENQUERY`/`OPENXML`, `BULK`, `USE`, `DBCC`,
//!   `SHUTDOWN`, `RECONFIGURE`, `KILL`, backups, permissions, triggers, global `##` temp tables;
//! - controls transactions or the batch (`BEGIN`, `COMMIT`, `ROLLBACK`, `DECLARE`, `WAITFOR`…):
//!   transactions are the host's (`sql.transaction`);
//! - is more than one statement: a `;` before the end, or a second statement verb where one
//!   statement can't continue (T-SQL needs no `;` between statements).
//!
//! The rules are conservative: a few legal single statements (a three-part column reference
//! `dbo.t.col`, a method on an xml column `t.col.value(…)`) are refused too; write them with an
//! alias. `?` placeholders become `@P1…@Pn` here as well, with the same lexer.

use crate::bindings::types::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An unquoted identifier or keyword (also `@var`, `#temp`).
    Word,
    /// A `[bracketed]` or "quoted" identifier.
    Quoted,
    Str,
    Number,
    Placeholder,
    Dot,
    Semicolon,
    Open,
    Close,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn fatal(message: impl Into<String>) -> Error {
    Error::Fatal(message.into())
}

/// Splits `sql` into tokens, skipping whitespace and comments.
fn lex(sql: &str) -> Result<Vec<Token>, Error> {
    let bytes: Vec<(usize, char)> = sql.char_indices().collect();
    let at = |i: usize| bytes.get(i).map(|&(_, c)| c);
    let offset = |i: usize| bytes.get(i).map_or(sql.len(), |&(o, _)| o);
    let mut tokens: Vec<Token> = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = i;
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            // Ends at any line break: seeing too little as comment only refuses more.
            '-' if at(i + 1) == Some('-') => {
                while at(i).is_some_and(|c| {
                    !matches!(
                        c,
                        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
                    )
                }) {
                    i += 1;
                }
                continue;
            }
            // SQL Server nests block comments: `/* /* */ still comment */`.
            '/' if at(i + 1) == Some('*') => {
                let mut depth = 0usize;
                loop {
                    match (at(i), at(i + 1)) {
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 2;
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => {
                            return Err(fatal("unterminated /* comment in SQL statement"));
                        }
                    }
                }
                continue;
            }
            '\'' | '"' | '[' => {
                let close = if c == '[' { ']' } else { c };
                i += 1;
                loop {
                    match at(i) {
                        // A doubled quote ('' "" ]]) is an escaped one, not the end.
                        Some(d) if d == close && at(i + 1) == Some(close) => i += 2,
                        Some(d) if d == close => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                        None => {
                            return Err(fatal(format!("unterminated {c} in SQL statement")));
                        }
                    }
                }
                if c == '\'' { Kind::Str } else { Kind::Quoted }
            }
            c if c.is_ascii_digit()
                || (c == '.'
                    && at(i + 1).is_some_and(|d| d.is_ascii_digit())
                    && !tokens.last().is_some_and(|t| {
                        matches!(t.kind, Kind::Word | Kind::Quoted | Kind::Dot)
                    })) =>
            {
                i += 1;
                while let Some(d) = at(i) {
                    let exponent_sign =
                        matches!(d, '+' | '-') && matches!(at(i - 1), Some('e' | 'E'));
                    if d.is_alphanumeric() || d == '.' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                Kind::Number
            }
            c if c.is_alphabetic() || matches!(c, '_' | '@' | '#') => {
                i += 1;
                while at(i)
                    .is_some_and(|d| d.is_alphanumeric() || matches!(d, '_' | '@' | '#' | '$'))
                {
                    i += 1;
                }
                // N'…' is a Unicode string literal: the prefix belongs to it.
                if i == start + 1 && matches!(c, 'N' | 'n') && at(i) == Some('\'') {
                    continue_string(&mut i, &at)?;
                    Kind::Str
                } else {
                    Kind::Word
                }
            }
            '?' => {
                i += 1;
                Kind::Placeholder
            }
            '.' => {
                i += 1;
                Kind::Dot
            }
            ';' => {
                i += 1;
                Kind::Semicolon
            }
            '(' => {
                i += 1;
                Kind::Open
            }
            ')' => {
                i += 1;
                Kind::Close
            }
            _ => {
                i += 1;
                Kind::Other
            }
        };
        tokens.push(Token {
            kind,
            start: offset(start),
            end: offset(i),
        });
    }
    Ok(tokens)
}

/// Skips a '…' literal starting at `*i` (the opening quote).
fn continue_string(i: &mut usize, at: &impl Fn(usize) -> Option<char>) -> Result<(), Error> {
    *i += 1;
    loop {
        match at(*i) {
            Some('\'') if at(*i + 1) == Some('\'') => *i += 2,
            Some('\'') => {
                *i += 1;
                return Ok(());
            }
            Some(_) => *i += 1,
            None => return Err(fatal("unterminated ' in SQL statement")),
        }
    }
}

/// Words that may never appear unquoted: they run code, leave the database, control the
/// session or transaction, or start another statement.
const DENIED: &[&str] = &[
    "EXEC",
    "EXECUTE",
    "OPENROWSET",
    "OPENDATASOURCE",
    "OPENQUERY",
    "OPENXML",
    "BULK",
    "USE",
    "DBCC",
    "SHUTDOWN",
    "RECONFIGURE",
    "KILL",
    "BACKUP",
    "RESTORE",
    "CHECKPOINT",
    "GRANT",
    "REVOKE",
    "DENY",
    "SETUSER",
    "REVERT",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVE",
    "DECLARE",
    "WHILE",
    "GOTO",
    "RETURN",
    "PRINT",
    "RAISERROR",
    "THROW",
    "WAITFOR",
    "OPEN",
    "FETCH",
    "CLOSE",
    "DEALLOCATE",
    "READTEXT",
    "WRITETEXT",
    "UPDATETEXT",
    "TRIGGER",
    "CONVERSATION",
    "IMPLICIT_TRANSACTIONS",
    "EXTERNAL",
];

/// Object-name prefixes of system procedures and functions (`xp_cmdshell`, `sp_executesql`,
/// `fn_get_audit_file`, `dm_exec_sql_text`…).
const DENIED_PREFIXES: &[&str] = &["sp_", "xp_", "fn_", "dm_"];

/// Words a statement may start with.
const STARTERS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE",
];

/// What `CREATE`/`ALTER`/`DROP` may act on (`TRUNCATE` takes only `TABLE`).
const OBJECTS: &[&str] = &["TABLE", "INDEX", "VIEW"];
const INDEX_OPTIONS: &[&str] = &["UNIQUE", "CLUSTERED", "NONCLUSTERED"];

/// Words that start a statement when they appear at the top level after the first word.
const VERBS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "CREATE", "ALTER", "DROP", "SET",
];

const SET_OPERATORS: &[&str] = &["UNION", "ALL", "EXCEPT", "INTERSECT"];

fn refused(why: impl std::fmt::Display) -> Error {
    fatal(format!(
        "refused: {why} (a plugin's SQL is one statement on its granted database)"
    ))
}

/// Checks one statement against the rules in the module docs and returns it with `?` turned
/// into `@P1…@Pn`, ready to send.
pub fn prepare(sql: &str) -> Result<String, Error> {
    let tokens = lex(sql)?;
    check(sql, &tokens)?;
    Ok(rewrite(sql, &tokens))
}

/// Rewrites the portable `?` placeholders to SQL Server's `@P1…@Pn`, leaving `?` alone inside
/// literals, quoted identifiers and comments. A statement that already uses `@Pn` (and no bare
/// `?`) passes through unchanged.
pub fn rewrite_params(sql: &str) -> Result<String, Error> {
    Ok(rewrite(sql, &lex(sql)?))
}

fn rewrite(sql: &str, tokens: &[Token]) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    for (n, t) in tokens
        .iter()
        .filter(|t| t.kind == Kind::Placeholder)
        .enumerate()
    {
        out.push_str(&sql[copied..t.start]);
        out.push_str(&format!("@P{}", n + 1));
        copied = t.end;
    }
    out.push_str(&sql[copied..]);
    out
}

fn check(sql: &str, tokens: &[Token]) -> Result<(), Error> {
    let text = |t: &Token| &sql[t.start..t.end];
    let word = |t: Option<&Token>| {
        t.filter(|t| t.kind == Kind::Word)
            .map(|t| text(t).to_ascii_uppercase())
    };
    // One trailing `;` (or several) ends the statement; any other separates two.
    let end = tokens
        .iter()
        .rposition(|t| t.kind != Kind::Semicolon)
        .map_or(0, |p| p + 1);
    let tokens = &tokens[..end];
    if tokens.iter().any(|t| t.kind == Kind::Semicolon) {
        return Err(refused("more than one statement (`;` inside the text)"));
    }
    let Some(first) = word(tokens.first()) else {
        return Err(refused("the statement must start with a SQL verb"));
    };
    if !STARTERS.contains(&first.as_str()) {
        return Err(refused(format!("`{first}` statements are not allowed")));
    }
    if matches!(first.as_str(), "CREATE" | "ALTER" | "DROP" | "TRUNCATE") {
        let object = tokens[1..]
            .iter()
            .map(|t| word(Some(t)).unwrap_or_default())
            .find(|w| !INDEX_OPTIONS.contains(&w.as_str()))
            .unwrap_or_default();
        let allowed = if first == "TRUNCATE" {
            &OBJECTS[..1]
        } else {
            OBJECTS
        };
        if !allowed.contains(&object.as_str()) {
            return Err(refused(format!("`{first} {object}` is not allowed")));
        }
    }

    // The statement's kind: its first word, or for a CTE the verb after the `WITH … (…)` list.
    let mut kind = if first == "WITH" { None } else { Some(first) };
    let (mut depth, mut dots, mut set_seen, mut source_seen, mut values_seen) =
        (0usize, 0usize, false, false, false);
    let mut prev: Option<&Token> = None;
    for (i, t) in tokens.iter().enumerate() {
        let up = word(Some(t));
        // Name chains: `a.b` is fine, `a.b.c` and `a..b` name another database or server.
        match t.kind {
            Kind::Dot => {
                dots = if prev
                    .is_some_and(|p| matches!(p.kind, Kind::Word | Kind::Quoted | Kind::Dot))
                {
                    dots + 1
                } else {
                    1
                };
                if dots >= 2 {
                    return Err(refused(
                        "a three- or four-part name (another database or server); use at most \
                         schema.object or alias.column",
                    ));
                }
            }
            Kind::Word | Kind::Quoted => {
                if !prev.is_some_and(|p| p.kind == Kind::Dot) {
                    dots = 0;
                }
            }
            _ => dots = 0,
        }
        if matches!(t.kind, Kind::Word | Kind::Quoted) {
            let name = text(t).trim_matches(['[', ']', '"']).to_ascii_lowercase();
            if let Some(p) = DENIED_PREFIXES.iter().find(|p| name.starts_with(**p)) {
                return Err(refused(format!("system objects (`{p}…`) are not allowed")));
            }
            if name.starts_with("##") {
                return Err(refused(
                    "global temporary tables (`##…`) are shared with other sessions",
                ));
            }
        }
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            _ => {}
        }
        let Some(w) = up else {
            prev = Some(t);
            continue;
        };
        if w.starts_with('@') {
            prev = Some(t);
            continue;
        }
        let prev_word = word(prev).unwrap_or_default();
        // `OFFSET n ROWS FETCH NEXT m ROWS ONLY` pages a query; a cursor's FETCH is refused.
        let paging = w == "FETCH" && matches!(prev_word.as_str(), "ROW" | "ROWS");
        if DENIED.contains(&w.as_str()) && !paging {
            return Err(refused(format!("`{w}` is not allowed")));
        }
        if w == "IF" && !OBJECTS.contains(&prev_word.as_str()) {
            return Err(refused("`IF` is not allowed (only DROP … IF EXISTS)"));
        }
        if w == "VALUES" && depth == 0 {
            values_seen = true;
        }
        if depth == 0 && i > 0 && VERBS.contains(&w.as_str()) {
            let prev_close = prev.is_some_and(|p| p.kind == Kind::Close);
            let ok = match (kind.as_deref(), w.as_str()) {
                (None, "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE") if prev_close => {
                    kind = Some(w.clone());
                    true
                }
                (None, _) => false,
                (_, "SELECT") if SET_OPERATORS.contains(&prev_word.as_str()) => true,
                (Some("INSERT"), "SELECT") if !source_seen && !values_seen => {
                    source_seen = true;
                    true
                }
                (Some("CREATE"), "SELECT") if prev_word == "AS" && !source_seen => {
                    source_seen = true;
                    true
                }
                (Some("UPDATE"), "SET") if !set_seen => {
                    set_seen = true;
                    true
                }
                (Some("MERGE"), "SET") => prev_word == "UPDATE",
                (Some("MERGE"), "INSERT" | "UPDATE" | "DELETE") => prev_word == "THEN",
                (Some("CREATE" | "ALTER"), "INSERT" | "UPDATE" | "DELETE") => prev_word == "ON",
                (Some("ALTER"), "ALTER" | "DROP") => true,
                _ => false,
            };
            if !ok {
                return Err(refused(format!(
                    "more than one statement (`{w}` starts another)"
                )));
            }
        }
        prev = Some(t);
    }
    if kind.is_none() {
        return Err(refused("a WITH clause must be followed by its statement"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(sql: &str) -> String {
        match prepare(sql) {
            Err(Error::Fatal(m)) => m,
            other => panic!("{sql:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn question_marks_become_numbered_parameters_outside_literals_and_comments() {
        let sql = "SELECT TOP 10 [What?], 'is it?', N'ça?' FROM [Doc?Headers] \
                   WHERE DocStatus = ? AND DocType = ? -- why?\n AND /* ok? */ ID > ?";
        assert_eq!(
            rewrite_params(sql).expect("rewrite"),
            "SELECT TOP 10 [What?], 'is it?', N'ça?' FROM [Doc?Headers] \
             WHERE DocStatus = @P1 AND DocType = @P2 -- why?\n AND /* ok? */ ID > @P3"
        );
    }

    #[test]
    fn doubled_quotes_do_not_end_a_literal() {
        assert_eq!(
            rewrite_params("SELECT 'it''s ?', [a]]?] WHERE x = ?").expect("rewrite"),
            "SELECT 'it''s ?', [a]]?] WHERE x = @P1"
        );
    }

    #[test]
    fn statements_already_in_sql_server_form_pass_through() {
        let sql = "UPDATE DocumentHeaders SET DocStatus = @P1 WHERE ID = @P2";
        assert_eq!(prepare(sql).expect("prepare"), sql);
    }

    #[test]
    fn unterminated_literals_and_comments_are_refused() {
        for sql in [
            "SELECT 'oops",
            "SELECT /* oops",
            "SELECT [oops",
            "SELECT /* /* */ x",
        ] {
            assert!(matches!(prepare(sql), Err(Error::Fatal(_))), "{sql}");
        }
    }

    #[test]
    fn what_the_quotewerks_connector_writes_is_allowed() {
        for sql in [
            "SELECT TOP 1 * FROM [DocumentHeaders] WHERE 1 = 0",
            "SELECT * FROM [DocumentHeaders] WHERE [ID] = ? ORDER BY [SortOrder]",
            "UPDATE [DocumentHeaders] SET [CustomText10] = ?, [DocStatus] = ? WHERE [ID] = ? \
             AND ([CustomText10] IS NULL OR [CustomText10] = '' OR [CustomText10] = ?)",
            "INSERT INTO [Products] ([ManufacturerPartNumber], [Price]) VALUES (?, ?)",
            "SELECT [Value] FROM [LookupItems] WHERE [Category] = ?;",
            "SELECT d.ID, i.ItemNumber FROM dbo.DocumentHeaders d JOIN dbo.DocumentItems i \
             ON i.DocID = d.ID WHERE d.DocStatus IN (SELECT s FROM #ready) UNION ALL SELECT 1, 'x'",
            "WITH c AS (SELECT ID FROM t WHERE x > 1.5e3), e AS (SELECT 1 AS y) \
             UPDATE t SET x = 0 WHERE ID IN (SELECT ID FROM c)",
            "INSERT INTO t (a, b) SELECT a, b FROM u WHERE u.c = N'Grüße; -- not a comment'",
            "MERGE INTO t USING (SELECT ? AS id) s ON t.id = s.id \
             WHEN MATCHED THEN UPDATE SET t.n = 1 WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id);",
            "CREATE TABLE FerryState (k nvarchar(50) PRIMARY KEY, v nvarchar(max), \
             FOREIGN KEY (k) REFERENCES u (k) ON DELETE CASCADE)",
            "DROP TABLE IF EXISTS FerryState",
            "SELECT ID FROM DocumentHeaders ORDER BY ID OFFSET ? ROWS FETCH NEXT ? ROWS ONLY",
            "ALTER TABLE FerryState ADD w int",
            "SELECT CASE WHEN x > 0 THEN 'a' ELSE 'b' END, [exec], \"use\" FROM t",
            "DELETE FROM t WHERE ID = ? /* EXEC xp_cmdshell 'in a comment' */ -- USE master",
            "SELECT '; EXEC xp_cmdshell ''dir''; USE master; SELECT * FROM master.dbo.t' AS s",
        ] {
            prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        }
    }

    #[test]
    fn other_databases_and_servers_are_refused() {
        for sql in [
            "SELECT * FROM master.dbo.sysdatabases",
            "SELECT * FROM master..syslogins",
            "SELECT * FROM [OtherDb].[dbo].[Customers]",
            "SELECT * FROM LinkedSrv.Db.dbo.T",
            "SELECT * FROM master /* hidden */ . dbo . t",
            "INSERT INTO t SELECT * FROM \"x\".\"y\".\"z\"",
            "UPDATE t SET a = (SELECT b FROM db.dbo.u)",
        ] {
            assert!(refusal(sql).contains("three- or four-part"), "{sql}");
        }
    }

    #[test]
    fn code_execution_and_outside_access_are_refused() {
        for (sql, word) in [
            ("EXEC xp_cmdshell 'dir'", "EXEC"),
            ("SELECT 1 EXECUTE('SELECT 2')", "EXECUTE"),
            (
                "SELECT * FROM OPENROWSET('SQLNCLI', 'x', 'SELECT 1')",
                "OPENROWSET",
            ),
            (
                "SELECT * FROM OpenDataSource('SQLNCLI', 'x').db.dbo.t",
                "OPENDATASOURCE",
            ),
            ("SELECT * FROM OPENQUERY(srv, 'SELECT 1')", "OPENQUERY"),
            (
                "SELECT * FROM OPENROWSET(BULK 'c:\\x', SINGLE_CLOB) AS x",
                "OPENROWSET",
            ),
            ("INSERT INTO t SELECT * FROM OPENXML(@h, '/r')", "OPENXML"),
            ("SELECT 1 USE master", "USE"),
            ("DELETE FROM t DBCC CHECKDB", "DBCC"),
            ("SELECT 1 SHUTDOWN WITH NOWAIT", "SHUTDOWN"),
            ("SELECT 1 RECONFIGURE", "RECONFIGURE"),
            ("SELECT 1 BEGIN TRAN", "BEGIN"),
            (
                "SELECT 1 -- a comment to a carriage return\rEXEC xp_cmdshell 'dir'",
                "EXEC",
            ),
            ("UPDATE t SET a = 1 COMMIT", "COMMIT"),
            ("SELECT 1 WAITFOR DELAY '00:01:00'", "WAITFOR"),
            ("SELECT 1 DECLARE @x int", "DECLARE"),
            ("SELECT 1 FETCH NEXT FROM c", "FETCH"),
            ("SELECT 1 GRANT CONTROL TO public", "GRANT"),
            ("SELECT 1 BACKUP DATABASE x TO DISK = 'c:\\x'", "BACKUP"),
        ] {
            let m = refusal(sql);
            assert!(m.contains(&format!("`{word}`")), "{sql}: {m}");
        }
        for sql in [
            "SELECT * FROM sys.fn_get_audit_file('c:\\x', default, default)",
            "SELECT * FROM sys.dm_exec_sessions",
            "INSERT INTO t EXEC sp_executesql N'SELECT 1'",
            "SELECT [xp_cmdshell] FROM t",
        ] {
            let m = refusal(sql);
            assert!(
                m.contains("system objects") || m.contains("`EXEC`"),
                "{sql}: {m}"
            );
        }
        assert!(refusal("SELECT * INTO ##shared FROM t").contains("global temporary"));
    }

    #[test]
    fn only_one_statement_per_call() {
        for sql in [
            "SELECT 1; SELECT 2",
            "SELECT 1 SELECT 2",
            "UPDATE t SET a = 1 DELETE FROM u",
            "DELETE FROM t INSERT INTO u VALUES (1)",
            "INSERT INTO t VALUES (1) SELECT * FROM u",
            "SELECT a FROM t WHERE b IN (1) SELECT 2",
            "UPDATE t SET a = 1 SET NOCOUNT ON",
            "SELECT 1 TRUNCATE TABLE t",
            "SELECT 1 DROP TABLE t",
            "WITH c AS (SELECT 1 AS x) SELECT * FROM c SELECT 2",
        ] {
            assert!(refusal(sql).contains("more than one statement"), "{sql}");
        }
        for sql in [
            "sp_who",
            "SET NOCOUNT ON",
            "IF 1 = 1 SELECT 1",
            "CREATE PROCEDURE p AS SELECT 1",
            "ALTER DATABASE x SET SINGLE_USER",
            "CREATE LOGIN x WITH PASSWORD = 'p'",
            "TRUNCATE VIEW v",
            "WITH c AS (SELECT 1 AS x)",
            "",
            "-- nothing",
        ] {
            assert!(refusal(sql).starts_with("refused"), "{sql}");
        }
    }
}
