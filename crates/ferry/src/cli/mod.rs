//! The `ferry` command line: clap definitions here, one file per command group. Each command
//! parses its arguments, calls [`crate::services`] and prints; exit codes are decided here
//! and in `main` only (README, "Exit codes").

mod authoring;
mod doctor;
mod export;
mod mapping;
mod nodes;
mod ops;
mod plugin;
mod plugin_shadow;
mod replay;
mod store;
mod sync;
mod sync_customers;
mod tokens;

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::runtime::Role;
use crate::services::{Context, ServiceError};

/// Exit codes (README documents each).
pub mod exit {
    /// Done.
    pub const OK: i32 = 0;
    /// The answer is "no": the plugin returned an error, `plugin check` refused the
    /// component, the quote or dead letter asked about has no record.
    pub const NO: i32 = 1;
    /// `plugin run`: the call was stopped (deadline, memory cap, trap).
    pub const STOPPED: i32 = 2;
    /// The command failed (config, store, a refused install or activation...).
    pub const FAILED: i32 = 3;
    /// `doctor`: at least one check failed.
    pub const UNHEALTHY: i32 = 4;
    /// The command line itself is wrong (unknown flag, missing argument): sysexits' EX_USAGE.
    pub const USAGE: i32 = 64;
}

/// Prints a line to stdout, returning the write's error instead of panicking on it (so a
/// reader that went away, `ferry … | head`, ends the command quietly; see `main`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use out;

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Quote-to-cash integration host: QuoteWerks ⇄ Infor M3 through sandboxed WebAssembly plugins"
)]
pub struct Cli {
    /// Configuration file (tenants, connections, secrets by reference, runtime limits).
    /// Without it, the one `ferry serve` last ran with on the data directory.
    #[arg(long, global = true, env = "FERRY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the registry, compile cache and database live (overrides the config's data_dir).
    #[arg(long, global = true, env = "FERRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log lines as text (colored only on a terminal, never with NO_COLOR) or JSON, one
    /// object per line. Which lines: FERRY_LOG (e.g. `warn`, `ferry=debug`), default `info`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "FERRY_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install, activate, roll back, list, check and run plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// The contract this binary serves: `export DIR` writes it for a plugin project.
    #[command(subcommand)]
    Wit(authoring::WitCommand),
    /// Test, check and get suggestions for declarative mapping files.
    #[command(subcommand)]
    Mapping(mapping::MappingCommand),
    /// Run a simulator of one of the real systems (builds with feature `sandbox`).
    #[cfg(feature = "sandbox")]
    #[command(subcommand)]
    Sim(SimCommand),
    /// Run the server: webhook intake, durable jobs, pollers (needs --config).
    Serve,
    /// The durable store: `migrate` brings its schema up to date.
    #[command(subcommand)]
    Store(store::StoreCommand),
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
    /// Syncs besides quote → order, run by the server: `catalog` (M3 items → products).
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// The admin API's bearer tokens: create (admin or one tenant), list, revoke.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// A tenant's runs or audit trail as JSON lines on stdout (`--since` RFC 3339).
    Export(export::ExportArgs),
    /// The nodes sharing the store, live or stale, with the jobs each one holds claims on.
    Nodes(nodes::NodesArgs),
    /// Past runs through a new mapping or plugin: a dry-run diff of what would be sent, or
    /// `--post` to re-queue them (a quote with its ERP order is skipped).
    Replay(replay::ReplayArgs),
    /// Check a configuration: every secret, each tenant's OAuth grant and SQL connection,
    /// each configured plugin file against the active one; one line per check.
    Doctor {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Shell completions, on stdout (e.g. `ferry completions bash > /etc/bash_completion.d/ferry`).
    Completions { shell: clap_complete::Shell },
    /// The man page (roff), on stdout: `ferry man > ferry.1`.
    Man,
    /// The whole story of one quote: every step, when, and the ERP numbers.
    Trace {
        /// The quote: its number (Q1042) or its internal id.
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

/// `--role erp|quoting|transform`: the runtime's own names, listed for help and completions.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::ALL.map(Role::as_str)).try_map(|s| s.parse::<Role>())
}

impl Cli {
    /// The config and data directory the command works against.
    pub fn context(&self) -> Result<Context, ServiceError> {
        Context::load(self.config.clone(), self.data_dir.clone())
    }
}

/// Runs the parsed command; the process exit code comes back.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match &cli.command {
        Command::Plugin(cmd) => plugin::run(&cli, cmd).await,
        Command::Mapping(cmd) => mapping::run(cmd).await,
        Command::Wit(cmd) => authoring::wit(cmd),
        #[cfg(feature = "sandbox")]
        Command::Sim(SimCommand::M3(args)) => {
            ferry_sim::run_m3(args.clone()).await?;
            Ok(exit::OK)
        }
        #[cfg(feature = "sandbox")]
        Command::Sim(SimCommand::Quotewerks(args)) => {
            ferry_sim::run_quotewerks(args.clone()).await?;
            Ok(exit::OK)
        }
        Command::Serve => {
            let Some(path) = &cli.config else {
                anyhow::bail!("ferry serve needs --config FILE (tenants, connections, plugins)");
            };
            let ctx = cli.context()?;
            // Later commands on this data directory check tenants and grants against it.
            crate::services::remember_served_config(&ctx.data_dir, path)?;
            // `ferry doctor`'s checks, beside the start rather than before it: a slow OAuth
            // server delays a warning, not the intake.
            tokio::spawn(doctor::warn_at_start(ctx.clone()));
            crate::server::serve(ctx.config, &ctx.data_dir, shutdown_signal()).await?;
            Ok(exit::OK)
        }
        Command::Doctor { tenant, json } => {
            doctor::run(&cli.context()?, tenant.as_deref(), *json).await
        }
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "ferry", &mut text);
            write_stdout(&text)
        }
        Command::Man => {
            let mut text = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut text)?;
            write_stdout(&text)
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => crate::sandbox::run(args.clone()).await,
        Command::Store(cmd) => store::run(&cli, cmd).await,
        Command::Dlq(cmd) => ops::dlq(&cli.context()?, cmd).await,
        Command::Holds(cmd) => ops::holds(&cli.context()?, cmd).await,
        Command::Tokens(cmd) => tokens::run(&cli.context()?, cmd).await,
        Command::Nodes(args) => nodes::run(&cli.context()?, args).await,
        Command::Replay(args) => replay::run(&cli, args).await,
        Command::Export(args) => export::run(&cli.context()?, args).await,
        Command::Sync(cmd) => sync::run(&cli.context()?, cmd).await,
        Command::Trace {
            quote,
            tenant,
            json,
        } => ops::trace(&cli.context()?, tenant, quote, *json).await,
    }
}

/// Writes generated text (completions, the man page) to stdout; a closed pipe is an error the
/// caller ends quietly on (the generators themselves panic on one, so they write to memory).
fn write_stdout(text: &[u8]) -> anyhow::Result<i32> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text)?;
    out.flush()?;
    Ok(exit::OK)
}

/// The one line an error prints: its message, then each cause the message does not already
/// say (many errors quote their source), so nothing is printed twice.
pub fn render_error(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// Whether the error is stdout's reader having gone away (`ferry … | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code for an error a service returned: "no such thing" is an answer, not a failure.
pub fn exit_code_of(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<ServiceError>() {
        Some(ServiceError::NoQuote { .. } | ServiceError::NoDeadLetter(_)) => exit::NO,
        _ => exit::FAILED,
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
