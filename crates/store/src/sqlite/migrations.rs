//! The schema, as numbered migrations tracked in `user_version`. 1–5 are what every database
//! made before this crate has; never edit a released one, add the next.
//!
//! Not `rusqlite_migration`: its releases pin an older rusqlite (one `libsqlite3-sys` per
//! build), and it reads `user_version` outside the migration's transaction, so two processes
//! opening a database at once (the server and the CLI) could both start the same migration.
//! Here the read and the migrations are one `BEGIN IMMEDIATE` transaction.

use rusqlite::{Connection, TransactionBehavior};

use super::Res;
use crate::schema::{Migrated, applied};

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the plugin registry.
    "CREATE TABLE plugin_installs (
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        installed_at TEXT NOT NULL,
        PRIMARY KEY (tenant, role, digest)
    );
    CREATE TABLE plugin_activations (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        activated_at TEXT NOT NULL,
        retired_at TEXT
    );
    CREATE INDEX plugin_activations_live ON plugin_activations (tenant, role, retired_at, seq);",
    // 2: durable work: inbox, jobs, cross-references, dead letters, audit.
    "CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (tenant, source, dedup_key)
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        step TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        intent TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        claim_token TEXT,
        claimed_by TEXT,
        lease_until INTEGER,
        last_error TEXT,
        hold_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant, kind, key)
    );
    CREATE INDEX jobs_runnable ON jobs (state, run_at);
    CREATE TABLE xref (
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        local_id TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, kind, local_id)
    );
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        input TEXT NOT NULL,
        error TEXT NOT NULL,
        replayed_at TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        job_id INTEGER,
        at TEXT NOT NULL,
        step TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX audit_by_key ON audit (tenant, key, id);",
    // 3: orders made from quotes, for status push-back.
    "CREATE TABLE orders (
        tenant TEXT NOT NULL,
        quote_id TEXT NOT NULL,
        order_number TEXT NOT NULL,
        status TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, quote_id)
    );
    CREATE INDEX orders_by_number ON orders (tenant, order_number);",
    // 4: when each run_at and lease was set, so a wall-clock step back can be undone (jobs.rs).
    "ALTER TABLE jobs ADD COLUMN scheduled_at INTEGER;
    ALTER TABLE jobs ADD COLUMN leased_at INTEGER;",
    // 5: which job writes an order reference now (one writer per reference; jobs.rs).
    "CREATE TABLE reference_locks (
        tenant TEXT NOT NULL,
        reference TEXT NOT NULL,
        job_id INTEGER NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (tenant, reference)
    );",
    // 6: links: a cross-reference carries an optional state and is found by its remote id.
    // The quote-specific `orders` rows become links of kind `order` (quote id -> order number,
    // state = last pushed status). `orders` stays, unread, so an older binary still opens the
    // file; a later migration may drop it.
    "ALTER TABLE xref ADD COLUMN state TEXT;
    CREATE INDEX xref_by_remote ON xref (tenant, kind, remote_id);
    INSERT INTO xref (tenant, kind, local_id, remote_id, state, updated_at)
        SELECT tenant, 'order', quote_id, order_number, status, updated_at FROM orders WHERE true
        ON CONFLICT (tenant, kind, local_id) DO UPDATE SET
            remote_id = excluded.remote_id, state = excluded.state, updated_at = excluded.updated_at;",
    // 7: sync state: how far each stream was read, and the last written content per entity.
    "CREATE TABLE sync_cursors (
        tenant TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, stream)
    );
    CREATE TABLE sync_hashes (
        tenant TEXT NOT NULL,
        entity_kind TEXT NOT NULL,
        key TEXT NOT NULL,
        hash TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, entity_kind, key)
    );",
    // 8: the admin API's bearer tokens, by the SHA-256 of their secret (tenant NULL: admin).
    "CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        name TEXT,
        tenant TEXT,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );",
    // 9: the nodes sharing the store (heartbeats, for `ferry nodes`), and the last slot each
    // tenant's schedule ran, one row per schedule (taken by one node per slot).
    "CREATE TABLE nodes (
        id TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        heartbeat_ms INTEGER NOT NULL
    );
    CREATE TABLE schedule_slots (
        tenant TEXT NOT NULL,
        schedule TEXT NOT NULL,
        slot INTEGER NOT NULL,
        node TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (tenant, schedule)
    );",
    // 10: held runs and dead letters an operator resolved by hand (fixed elsewhere, not run
    // again): when, so the console can list them apart from the open ones.
    "ALTER TABLE jobs ADD COLUMN resolved_at TEXT;
    ALTER TABLE dead_letters ADD COLUMN resolved_at TEXT;",
    // Flows an operator paused per tenant (no job of theirs is claimed meanwhile), and how a
    // dead letter was resolved (`hand`, or `later-run` when the same job later succeeded).
    "CREATE TABLE flow_pauses (
        tenant TEXT NOT NULL,
        flow TEXT NOT NULL,
        paused_at TEXT NOT NULL,
        paused_by TEXT,
        PRIMARY KEY (tenant, flow)
    );
    ALTER TABLE dead_letters ADD COLUMN resolved_by TEXT;
    CREATE INDEX audit_by_time ON audit (tenant, at);",
    // Installed components by content, in the database beside their activations (PostgreSQL
    // shares them between nodes; here they keep one backup with the rest of the state).
    "CREATE TABLE plugin_blobs (
        digest TEXT PRIMARY KEY,
        bytes BLOB NOT NULL,
        stored_at TEXT NOT NULL
    );",
    // Shadow runs: a candidate plugin beside the active one (one live per tenant and role),
    // and what each produced per run, compared (never sent).
    "CREATE TABLE plugin_shadows (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        live_digest TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT
    );
    CREATE TABLE plugin_shadow_records (
        shadow_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        live TEXT NOT NULL,
        shadow TEXT NOT NULL,
        agree INTEGER NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (shadow_id, kind, key)
    );",
    // Per-entity ordering keys (`crate::ordering`): a job of a key waits for the earlier ones.
    "ALTER TABLE jobs ADD COLUMN ordering_key TEXT;
    CREATE INDEX jobs_by_ordering_key ON jobs (tenant, ordering_key, id) WHERE ordering_key IS NOT NULL;",
    // Texts kept beside a component per tenant that installed it (a package's manifest and
    // signature): with `plugin_blobs`, every node serves a component with the grants its
    // package asked for, wherever it was installed.
    "CREATE TABLE plugin_files (
        digest TEXT NOT NULL,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (digest, tenant, name)
    );",
];

/// The oldest schema version whose binaries can use the schema these migrations leave (see
/// `crate::schema`): raise it to a migration's number when older binaries would misread that
/// migration's schema; an additive one (new tables, new nullable columns) leaves it.
pub(super) const READABLE_FROM: i64 = 15;

/// Applies the migrations the database lacks, all in one transaction (the rule in
/// `crate::schema`: a database newer than this binary is opened untouched when it says this
/// binary can read it, refused otherwise). `readable_from` sits in a table of its own, beside
/// `user_version`, which older binaries never read.
pub(super) fn migrate(conn: &mut Connection) -> Res<Migrated> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let readable_from: Option<i64> = tx
        .query_row("SELECT readable_from FROM ferry_schema_compat", [], |r| {
            r.get(0)
        })
        .ok();
    let Some(done) = applied("sqlite", current, MIGRATIONS.len(), readable_from)? else {
        return Ok(Migrated {
            backend: "sqlite",
            from: current,
            to: current,
        });
    };
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS ferry_schema_compat (readable_from INTEGER NOT NULL);
         DELETE FROM ferry_schema_compat;",
    )?;
    tx.execute(
        "INSERT INTO ferry_schema_compat (readable_from) VALUES (?1)",
        [READABLE_FROM],
    )?;
    tx.commit()?;
    Ok(Migrated {
        backend: "sqlite",
        from: current,
        to: MIGRATIONS.len() as i64,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_is_readable_from_a_version_this_binary_has() {
        let known = super::MIGRATIONS.len() as i64;
        assert!((1..=known).contains(&super::READABLE_FROM));
    }
}
