//! `ferry-sim`: the simulators on their own, for tests and demos against a Ferry built without
//! them (`ferry sim …` runs the same code when Ferry is built with feature `sandbox`).

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ferry-sim",
    version,
    about = "Simulators of Infor M3 and QuoteWerks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Infor M3: MI REST (v1, v2, bulk) behind an ION API gateway with OAuth.
    M3(ferry_sim::M3SimArgs),
    /// QuoteWerks: its database tables and its webhook emitter.
    Quotewerks(ferry_sim::QuoteWerksSimArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::M3(args) => ferry_sim::run_m3(args).await,
        Command::Quotewerks(args) => ferry_sim::run_quotewerks(args).await,
    }
}
