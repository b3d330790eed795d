//! The PostgreSQL store, for several nodes on one database: a small connection pool
//! (deadpool) over tokio-postgres, migrations tracked in `ferry_schema` (the rule of
//! `crate::schema`), claims with `FOR UPDATE SKIP LOCKED`. Time, ids, tokens and fencing are
//! those of the SQLite backend: `now_ms` comes from the caller, ids from sequences, every write
//! about a claim is fenced by its token. JSON is kept as text, exactly as written.
//!
//! Plain TCP or a unix socket; TLS to the database is not wired yet.

mod activations;
mod controls;
mod edit;
mod jobs;
mod migrations;
mod nodes;
mod ordered;
mod records;
mod resolve;
mod shadows;
mod tokens;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::StoreError;
use crate::schema::Migrated;
use crate::traits::Health;
use crate::types::now;

/// Connections per node: the workers, the API and the pollers share them.
const POOL_SIZE: usize = 16;
/// How long an operation waits for a pooled connection, and a new connection to be made.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

pub struct PgStore {
    pool: Pool,
    schema: Migrated,
}

/// An operation's failure: the driver's, the pool's, or the store's own. Private, so no
/// driver type reaches the interface.
enum Fail {
    Db(tokio_postgres::Error),
    Pool(deadpool_postgres::PoolError),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Fail::Pool(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Fail::Db(e) => StoreError::Backend(describe(&e)),
            Fail::Pool(deadpool_postgres::PoolError::Backend(e)) => {
                StoreError::Backend(describe(&e))
            }
            Fail::Pool(e) => StoreError::Backend(format!("no database connection: {e}")),
            Fail::Store(e) => e,
        }
    }
}

/// The server's own message when there is one (tokio-postgres' Display says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

type Res<T> = Result<T, Fail>;

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date (refused when the
    /// database is newer than this binary).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL is not valid: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_WAIT);
        }
        config.application_name("ferry");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(CONNECT_WAIT))
            .create_timeout(Some(CONNECT_WAIT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("building the connection pool: {e}")))?;
        let schema = migrations::migrate(&pool).await.map_err(Fail::into_store)?;
        Ok(Self { pool, schema })
    }

    /// What opening did to the schema.
    pub fn schema(&self) -> Migrated {
        self.schema
    }

    async fn client(&self) -> Res<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }
}

#[async_trait]
impl Health for PgStore {
    async fn can_write(&self, wait: Duration) -> Result<(), StoreError> {
        let write = async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // Also bounds waiting for a row lock, server-side.
            let ms = wait.as_millis().max(1);
            tx.batch_execute(&format!("SET LOCAL statement_timeout = {ms}"))
                .await?;
            tx.execute(
                "INSERT INTO ready_probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                &[&now()],
            )
            .await?;
            tx.commit().await?;
            Ok::<(), Fail>(())
        };
        match tokio::time::timeout(wait, write).await {
            Ok(done) => done.map_err(Fail::into_store),
            Err(_) => Err(StoreError::Backend(format!(
                "the database did not take a write within {} ms",
                wait.as_millis()
            ))),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Every connection busy with work: held, evidently; waiting for one would make the
        // probe as slow as the busiest query.
        let status = self.pool.status();
        if status.size >= status.max_size && status.available == 0 {
            return Ok(());
        }
        // A pooled connection proves little (the server may have gone since): a round trip.
        async {
            self.client().await?.simple_query("SELECT 1").await?;
            Ok::<(), Fail>(())
        }
        .await
        .map_err(Fail::into_store)
    }
}
