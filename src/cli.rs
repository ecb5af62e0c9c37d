//! The binary's subcommands.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod config;
mod tunnel;

/// Portcullis: a project gating system that speaks Zuul's configuration and REST API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server: drivers, engine, executor and web UI.
    Serve {
        /// The server config file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Keeps one kubectl port-forward to a pod alive in the foreground, for debugging log streaming.
    Tunnel(tunnel::TunnelArgs),
    /// Checks the configuration, or prints a frozen job graph.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Runs the command line; the exit code says whether it worked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let outcome = match cli.command {
        Command::Serve { config } => actix::System::new().block_on(crate::server::serve(&config)),
        Command::Config(command) => actix::System::new().block_on(command.run()),
        Command::Tunnel(args) => actix::System::new().block_on(tunnel::run(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("portcullis: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
