//! The PostgreSQL schema as numbered migrations, tracked in `ferry_schema` (one row, the
//! version). Same rule as SQLite's (`crate::schema`): never edit a released migration, add the
//! next. Migration 1 is the SQLite schema at its version 7 (without the retired `orders`);
//! later changes get their own number here and in SQLite's list alike.
//!
//! Several nodes may start at once: the version is read and the migrations applied in one
//! transaction that first takes a transaction-scoped advisory lock, so exactly one applies
//! them and the others find them done.

use deadpool_postgres::Pool;

use super::Res;
use crate::schema::{Migrated, applied};

/// The advisory lock key that serializes migrations (any fixed number: "ferry" in ASCII).
const MIGRATION_LOCK: i64 = 0x66_65_72_72_79;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite has at version 7.
    "CREATE TABLE plugin_installs (
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        installed_at TEXT NOT NULL,
        PRIMARY KEY (tenant, role, digest)
    );
    CREATE TABLE plugin_activations (
        seq BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        role TEXT NOT NULL,
        digest TEXT NOT NULL,
        activated_at TEXT NOT NULL,
        retired_at TEXT
    );
    CREATE INDEX plugin_activations_live ON plugin_activations (tenant, role, retired_at, seq);
    CREATE TABLE inbox (
        id BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (tenant, source, dedup_key)
    );
    CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        step TEXT NOT NULL,
        checkpoint TEXT NOT NULL,
        intent TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        run_at BIGINT NOT NULL,
        claim_token TEXT,
        claimed_by TEXT,
        lease_until BIGINT,
        last_error TEXT,
        hold_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        scheduled_at BIGINT,
        leased_at BIGINT,
        UNIQUE (tenant, kind, key)
    );
    CREATE INDEX jobs_runnable ON jobs (state, run_at);
    CREATE TABLE xref (
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        local_id TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        state TEXT,
        PRIMARY KEY (tenant, kind, local_id)
    );
    CREATE INDEX xref_by_remote ON xref (tenant, kind, remote_id);
    CREATE TABLE dead_letters (
        id BIGSERIAL PRIMARY KEY,
        job_id BIGINT NOT NULL,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at TEXT NOT NULL,
        input TEXT NOT NULL,
        error TEXT NOT NULL,
        replayed_at TEXT
    );
    CREATE TABLE audit (
        id BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        job_id BIGINT,
        at TEXT NOT NULL,
        step TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX audit_by_key ON audit (tenant, key, id);
    CREATE TABLE reference_locks (
        tenant TEXT NOT NULL,
        reference TEXT NOT NULL,
        job_id BIGINT NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (tenant, reference)
    );
    CREATE TABLE sync_cursors (
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
    );
    CREATE TABLE ready_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);",
    // 2 (SQLite's 8): the admin API's bearer tokens, by the SHA-256 of their secret.
    "CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY,
        seq BIGSERIAL,
        name TEXT,
        tenant TEXT,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );",
    // 3 (SQLite's 9): the nodes sharing the store, and the last slot each schedule ran.
    "CREATE TABLE nodes (
        id TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        heartbeat_ms BIGINT NOT NULL
    );
    CREATE TABLE schedule_slots (
        tenant TEXT NOT NULL,
        schedule TEXT NOT NULL,
        slot BIGINT NOT NULL,
        node TEXT NOT NULL,
        taken_at TEXT NOT NULL,
        PRIMARY KEY (tenant, schedule)
    );",
    // 4 (SQLite's 10): held runs and dead letters resolved by hand, and when.
    "ALTER TABLE jobs ADD COLUMN resolved_at TEXT;
    ALTER TABLE dead_letters ADD COLUMN resolved_at TEXT;",
    // (SQLite's flow_pauses migration) Flows an operator paused per tenant (no job of theirs is claimed meanwhile), and how a
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
    // Shared by the nodes: rate buckets per outside connection (M3 limits a tenant, not a
    // node), and installed components by content, so a node fetches what another installed.
    "CREATE TABLE rate_buckets (
        key TEXT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated_ms BIGINT NOT NULL
    );
    CREATE TABLE plugin_blobs (
        digest TEXT PRIMARY KEY,
        bytes BYTEA NOT NULL,
        stored_at TEXT NOT NULL
    );",
    // Shadow runs: a candidate plugin beside the active one (one live per tenant and role),
    // and what each produced per run, compared (never sent).
    "CREATE TABLE plugin_shadows (
        id BIGSERIAL PRIMARY KEY,
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
        agree BOOLEAN NOT NULL,
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
pub(super) const READABLE_FROM: i64 = 9;

/// Applies the migrations the database lacks, all in one transaction (a database newer than
/// this binary is opened untouched when its `readable_from` says this binary can read it,
/// refused otherwise).
pub(super) async fn migrate(pool: &Pool) -> Res<Migrated> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // `readable_from` is a column older binaries never read.
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ferry_schema (version BIGINT NOT NULL);
         ALTER TABLE ferry_schema ADD COLUMN IF NOT EXISTS readable_from BIGINT;",
    )
    .await?;
    let row = tx
        .query_opt("SELECT version, readable_from FROM ferry_schema", &[])
        .await?;
    let current: i64 = row.as_ref().map(|r| r.get(0)).unwrap_or(0);
    let readable_from: Option<i64> = row.as_ref().and_then(|r| r.get(1));
    let Some(done) = applied("postgres", current, MIGRATIONS.len(), readable_from)? else {
        // Nothing this binary may change: the transaction ends without a write.
        tx.rollback().await?;
        return Ok(Migrated {
            backend: "postgres",
            from: current,
            to: current,
        });
    };
    for sql in MIGRATIONS.iter().skip(done) {
        tx.batch_execute(sql).await?;
    }
    let known = MIGRATIONS.len() as i64;
    if row.is_none() {
        tx.execute(
            "INSERT INTO ferry_schema (version, readable_from) VALUES ($1, $2)",
            &[&known, &READABLE_FROM],
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE ferry_schema SET version = $1, readable_from = $2",
            &[&known, &READABLE_FROM],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Migrated {
        backend: "postgres",
        from: current,
        to: known,
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
