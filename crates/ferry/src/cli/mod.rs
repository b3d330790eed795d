//! The `ferry` command line: clap definitions here, one file per command group.

mod mapping;
mod ops;
mod plugin;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::FerryConfig;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Quote-to-cash integration host: QuoteWerks ⇄ Infor M3 through sandboxed WebAssembly plugins"
)]
pub struct Cli {
    /// Configuration file (tenants, connections, secrets by reference, runtime limits).
    #[arg(long, global = true, env = "FERRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the registry, compile cache and database live (overrides the config's data_dir).
    #[arg(long, global = true, env = "FERRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install, activate, roll back, list, check and run plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Test, check and get suggestions for declarative mapping files.
    #[command(subcommand)]
    Mapping(mapping::MappingCommand),
    /// Run a simulator of one of the real systems (builds with feature `sandbox`).
    #[cfg(feature = "sandbox")]
    #[command(subcommand)]
    Sim(SimCommand),
    /// Run the server: webhook intake, durable jobs, pollers (needs --config).
    Serve,
    /// Both simulators and Ferry with a demo tenant wired to them; `--demo` tells the story
    /// (builds with feature `sandbox`).
    #[cfg(feature = "sandbox")]
    Sandbox(crate::sandbox::SandboxArgs),
    /// Dead letters: list, show, replay.
    #[command(subcommand)]
    Dlq(ops::DlqCommand),
    /// Quotes held for a person: list, release.
    #[command(subcommand)]
    Holds(ops::HoldsCommand),
    /// The whole story of one quote: every step, when, and the ERP numbers.
    Trace {
        quote: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
    },
}

#[cfg(feature = "sandbox")]
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Infor M3: MI REST (v1, v2, bulk) behind an ION API gateway with OAuth.
    M3(ferry_sim::M3SimArgs),
    /// QuoteWerks: its database tables and its webhook emitter.
    Quotewerks(ferry_sim::QuoteWerksSimArgs),
}

impl Cli {
    pub fn load_config(&self) -> anyhow::Result<FerryConfig> {
        Ok(match &self.config {
            Some(path) => FerryConfig::load(path)?,
            None => FerryConfig::default(),
        })
    }

    pub fn data_dir(&self, config: &FerryConfig) -> PathBuf {
        self.data_dir
            .clone()
            .or_else(|| config.data_dir())
            .unwrap_or_else(|| PathBuf::from("ferry-data"))
    }
}

/// Runs the parsed command; the process exit code comes back.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match &cli.command {
        Command::Plugin(cmd) => plugin::run(&cli, cmd).await,
        Command::Mapping(cmd) => mapping::run(cmd).await,
        #[cfg(feature = "sandbox")]
        Command::Sim(SimCommand::M3(args)) => {
            ferry_sim::run_m3(args.clone()).await?;
            Ok(0)
        }
        #[cfg(feature = "sandbox")]
        Command::Sim(SimCommand::Quotewerks(args)) => {
            ferry_sim::run_quotewerks(args.clone()).await?;
            Ok(0)
        }
        Command::Serve => {
            anyhow::ensure!(
                cli.config.is_some(),
                "ferry serve needs --config FILE (tenants, connections, plugins)"
            );
            let config = cli.load_config()?;
            let data_dir = cli.data_dir(&config);
            crate::server::serve(config, &data_dir, shutdown_signal()).await?;
            Ok(0)
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => crate::sandbox::run(args.clone()).await,
        Command::Dlq(cmd) => ops::dlq(&cli.data_dir(&cli.load_config()?), cmd).await,
        Command::Holds(cmd) => ops::holds(&cli.data_dir(&cli.load_config()?), cmd).await,
        Command::Trace {
            quote,
            tenant,
            json,
        } => ops::trace(&cli.data_dir(&cli.load_config()?), tenant, quote, *json).await,
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
