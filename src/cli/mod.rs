//! The `reportstats` command line. `main.rs` parses it and calls [`run`].

mod database;
mod demo;
mod generate;
mod import;
mod serve;
mod workspace;

use clap::{Parser, Subcommand};

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
