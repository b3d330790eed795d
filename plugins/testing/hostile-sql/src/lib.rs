//! Test fixture: a quoting plugin granted one SQLite database (connection `qw`) that tries every
//! way out of it an attacker would, and reports what the host let it do.
//!
//! `get-quote(id)` picks the attempt: `id` is `ESCAPE` or `ESCAPE|ARG` (a path for the
//! file-touching ones). The result is a `report` document with one text field per step:
//! `refused: <the host's error>` or `allowed: <what came back>`. `slow` runs a query that never
//! ends on its own, for the deadline tests. Every other export does nothing.

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/quoting",
    // Implements the `@unstable(feature = sync)` functions too, ahead of the flows.
    features: ["sync"],
    with: {
        "ferry:types/types@1.0.0": ferry_pdk::types,
        "ferry:host/http@1.1.0": ferry_pdk::http,
        "ferry:host/sql@1.1.0": ferry_pdk::sql,
        "ferry:host/log@1.1.0": ferry_pdk::log,
        "ferry:host/config@1.1.0": ferry_pdk::config,
        "ferry:host/diagnostics@1.1.0": ferry_pdk::diagnostics,
        "ferry:host/secrets@1.1.0": ferry_pdk::secrets,
    },
});

use exports::ferry::quoting::quoting::{
    Availability, Guest, InboundWebhook, QuoteEvent, QuotePage, UpsertReport,
};
use ferry_pdk::sql::{self, Rows, SqlValue, Statement};
use ferry_pdk::{Document, DocumentBuilder, Error, MatchCriteria, Page, PageRequest};

const DB: &str = "qw";

/// Never ends on its own: only the host's deadline stops it.
const SLOW: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                    SELECT count(*) FROM c";

struct HostileSql;

fn stmt(sql: &str) -> Statement {
    Statement {
        sql: sql.to_string(),
        params: Vec::new(),
    }
}

fn describe(e: Error) -> String {
    match e {
        Error::NotFound(m)
        | Error::Conflict(m)
        | Error::Transient(m)
        | Error::Unauthorized(m)
        | Error::Fatal(m) => m,
        other => format!("{other:?}"),
    }
}

fn rows_text(rows: &Rows) -> String {
    let cells: Vec<String> = rows
        .rows
        .iter()
        .flatten()
        .map(|v| match v {
            SqlValue::Text(t) | SqlValue::Decimal(t) => t.clone(),
            SqlValue::Integer(i) => i.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    format!("{} row(s): {}", rows.rows.len(), cells.join(", "))
}

/// The steps of one attempt and what each got.
struct Report(DocumentBuilder);

impl Report {
    fn query(mut self, step: &str, sql: &str) -> Self {
        let outcome = match sql::query(DB, &stmt(sql)) {
            Ok(rows) => format!("allowed: {}", rows_text(&rows)),
            Err(e) => format!("refused: {}", describe(e)),
        };
        self.0 = self.0.text(step, outcome);
        self
    }

    fn execute(mut self, step: &str, sql: &str) -> Self {
        let outcome = match sql::execute(DB, &stmt(sql)) {
            Ok(n) => format!("allowed: {n} row(s) changed"),
            Err(e) => format!("refused: {}", describe(e)),
        };
        self.0 = self.0.text(step, outcome);
        self
    }

    fn transaction(mut self, step: &str, sqls: &[&str]) -> Self {
        let statements: Vec<Statement> = sqls.iter().map(|s| stmt(s)).collect();
        let outcome = match sql::transaction(DB, &statements) {
            Ok(counts) => format!("allowed: {counts:?}"),
            Err(e) => format!("refused: {}", describe(e)),
        };
        self.0 = self.0.text(step, outcome);
        self
    }
}

fn attempt(escape: &str, arg: &str) -> Result<Document, Error> {
    let r = Report(DocumentBuilder::new("report").id(escape));
    let r = match escape {
        // Read and write the host's own database.
        "attach" => r
            .execute("attach", &format!("ATTACH DATABASE '{arg}' AS host"))
            .query("read", "SELECT name FROM host.sqlite_master")
            .execute("write", "CREATE TABLE host.pwned (x)"),
        // ATTACH creates the file it names when it is missing.
        "attach-new" => r.execute("attach", &format!("ATTACH '{arg}' AS fresh")),
        "attach-in-transaction" => r.transaction(
            "transaction",
            &[
                "INSERT INTO DocumentHeaders (ID, DocNo) VALUES ('666', 'EVIL')",
                &format!("ATTACH DATABASE '{arg}' AS host"),
            ],
        ),
        "attach-second-statement" => r.execute(
            "batch",
            &format!("UPDATE DocumentHeaders SET DocNo = 'EVIL'; ATTACH '{arg}' AS host"),
        ),
        "detach" => r.execute("detach", "DETACH DATABASE main"),
        "vacuum-into" => r
            .execute("vacuum-into", &format!("VACUUM INTO '{arg}'"))
            .execute("vacuum", "VACUUM"),
        "writable-schema" => r.execute("pragma", "PRAGMA writable_schema = 1").execute(
            "rewrite",
            "UPDATE sqlite_master SET sql = 'CREATE TABLE x (y)' WHERE name = 'DocumentItems'",
        ),
        "database-list" => r
            .query("pragma", "PRAGMA database_list")
            .query("table-valued", "SELECT file FROM pragma_database_list"),
        "load-extension" => r.query("load", &format!("SELECT load_extension('{arg}')")),
        "virtual-table" => r.execute("create", "CREATE VIRTUAL TABLE loot USING fts5(body)"),
        // A transaction of its own would outlive the call on the shared connection.
        "begin" => r.execute("begin", "BEGIN IMMEDIATE"),
        // Allowed on purpose: the fixture's control case.
        "schema" => r.query(
            "columns",
            "SELECT name FROM pragma_table_info('DocumentHeaders')",
        ),
        "slow" => r.query("slow", SLOW),
        other => return Err(Error::fatal(format!("unknown escape '{other}'"))),
    };
    Ok(r.0.build())
}

impl Guest for HostileSql {
    fn get_quote(id: String) -> Result<Document, Error> {
        let (escape, arg) = id.split_once('|').unwrap_or((id.as_str(), ""));
        attempt(escape, arg)
    }

    fn parse_webhook(_webhook: InboundWebhook) -> Result<QuoteEvent, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn list_ready_quotes(_page: PageRequest) -> Result<QuotePage, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn mark_transferred(
        _id: String,
        _order_number: String,
        _status: Option<String>,
    ) -> Result<(), Error> {
        Err(Error::fatal("not implemented"))
    }
    fn set_status(_id: String, _status: String) -> Result<(), Error> {
        Err(Error::fatal("not implemented"))
    }
    fn set_invoice(_id: String, _number: String, _date: String) -> Result<(), Error> {
        Err(Error::fatal("not implemented"))
    }
    fn upsert_products(_products: Vec<Document>) -> Result<UpsertReport, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn set_availability(_items: Vec<Availability>) -> Result<u32, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn get_customer(_id: String) -> Result<Document, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn find_customers(_criteria: MatchCriteria) -> Result<Vec<Document>, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn upsert_customer(_customer: Document) -> Result<String, Error> {
        Err(Error::fatal("not implemented"))
    }
    fn list_customers_changed(_since: String, _page: PageRequest) -> Result<Page, Error> {
        Err(Error::fatal("not implemented"))
    }
}

export!(HostileSql);
