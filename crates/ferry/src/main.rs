use std::io::IsTerminal;

use clap::Parser;
use ferry::cli::{Cli, LogFormat, exit};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version are answers (0); a wrong command line is EX_USAGE, not
            // clap's 2, which `plugin run` uses for a stopped call.
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_logs(cli.log_format);
    let code = match ferry::cli::run(cli).await {
        Ok(code) => code,
        // `ferry … | head`: the reader has what it wanted.
        Err(e) if ferry::cli::is_broken_pipe(&e) => exit::OK,
        Err(e) => {
            eprintln!("error: {}", ferry::cli::render_error(&e));
            ferry::cli::exit_code_of(&e)
        }
    };
    std::process::exit(code);
}

/// Logs go to stderr: text, colored only when stderr is a terminal and NO_COLOR is unset
/// (https://no-color.org), or JSON lines; FERRY_LOG filters them (default `info`).
fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("FERRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let color = std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(color).init();
        }
    }
}
