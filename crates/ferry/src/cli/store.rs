//! `ferry store migrate`: brings the configured store's schema up to date and says what it
//! did. `ferry serve` migrates at start too; this is for doing it first, on its own (before a
//! rolling upgrade, or to see that the database is reachable and not newer than the binary).

use anyhow::Context as _;
use clap::Subcommand;

use super::{Cli, exit, out};

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Apply the migrations the store lacks (SQLite in the data directory, or the config's
    /// `store = "postgres://…"`); refused when the database is newer than this binary.
    Migrate,
}

pub async fn run(cli: &Cli, cmd: &StoreCommand) -> anyhow::Result<i32> {
    match cmd {
        StoreCommand::Migrate => {
            let ctx = cli.context()?;
            let location = ctx.config.store_location(&ctx.data_dir)?;
            if let ferry_store::Location::Sqlite(path) = &location
                && let Some(dir) = path.parent()
            {
                std::fs::create_dir_all(dir)?;
            }
            let opened = ferry_store::open(&location)
                .await
                .with_context(|| format!("opening the store ({location})"))?;
            let schema = opened.schema;
            if schema.from == schema.to {
                out!("{location}: schema at version {}, nothing to do", schema.to)?;
            } else {
                out!(
                    "{location}: schema migrated from version {} to {}",
                    schema.from,
                    schema.to
                )?;
            }
            Ok(exit::OK)
        }
    }
}
