//! The `reportstats` command line. `main.rs` parses it and calls [`run`].

mod database;
mod demo;
mod generate;
mod import;
mod serve;
mod workspace;

use std::io::IsTerminal;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::storage::DEFAULT_DATABASE_URL;

#[derive(Debug, Parser)]
#[command(
    name = "reportstats",
    version,
    about = "Usage analytics for BI reports, served through Mode's Discovery API"
)]
pub struct Cli {
    /// Where the data lives: sqlite://PATH (created on first use) or postgres://USER@HOST/DATABASE.
    // The variable's value may hold a password: `--help` must not print it.
    #[arg(long, global = true, env = "REPORTSTATS_DATABASE_URL", hide_env_values = true, default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// How log lines are written to standard error: text for people, json
    /// (one object a line) for log collectors.
    #[arg(long, global = true, env = "REPORTSTATS_LOG_FORMAT", value_enum, default_value_t = LogFormat::default())]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(serve::ServeArgs),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCommand),
    /// Load NDJSON events from a file (or - for standard input), all or nothing.
    Import(import::ImportArgs),
    /// Create a demo workspace full of realistic activity, print credentials, and serve it.
    Demo(demo::DemoArgs),
    /// Write a realistic NDJSON event stream (for benchmarks and load tests).
    Generate(generate::GenerateArgs),
    /// Create or upgrade the database schema, then exit (servers also do this at start).
    Migrate,
    /// Copy every workspace, its API keys and its events from one database to another.
    Copy(database::CopyArgs),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The log filter when `RUST_LOG` sets none.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// Sends the process's logs to standard error, filtered by `RUST_LOG`.
pub fn start_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        // The current span (a request's id, route, workspace) is enough: no
        // span is nested in another.
        LogFormat::Json => logs.json().with_span_list(false).init(),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.database_url, args).await,
        Command::Workspace(command) => workspace::run(&cli.database_url, command).await,
        Command::Import(args) => import::run(&cli.database_url, args).await,
        Command::Demo(args) => demo::run(&cli.database_url, args).await,
        Command::Generate(args) => generate::run(args),
        Command::Migrate => database::migrate(&cli.database_url).await,
        Command::Copy(args) => database::copy(args).await,
    }
}
