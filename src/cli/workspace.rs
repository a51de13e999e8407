//! `reportstats workspace ...`.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::domain::api_key::NewApiKey;
use crate::domain::{Timestamp, WorkspaceName};
use crate::storage::{self, ApiKeyRecord, Store, StoreError, Workspace};

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace and print its API key (shown this once).
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The workspace's username: 1–64 of a-z 0-9 _ -, starting with a letter or digit.
    pub name: String,
    /// Print {"workspace","token","secret"} as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(database_url: &str, command: WorkspaceCommand) -> anyhow::Result<()> {
    match command {
        WorkspaceCommand::Create(args) => {
            let name = parse_name(&args.name)?;
            let store = storage::open(database_url).await?;
            let (workspace, key) = create(store.as_ref(), &name).await?;
            if args.json {
                println!(
                    "{}",
                    json!({ "workspace": workspace.name.as_str(), "token": key.token, "secret": key.secret })
                );
            } else {
                println!("Created workspace `{}`.", workspace.name);
                println!("Its API key is shown only now; keep the secret safe:");
                println!("  token:  {}", key.token);
                println!("  secret: {}", key.secret);
                println!();
                println!(
                    "Send events:  curl -u {}:{} -H 'Content-Type: application/x-ndjson' --data-binary @events.ndjson http://127.0.0.1:8080/api/{}/events",
                    key.token, key.secret, workspace.name
                );
                println!(
                    "Read stats:   curl -u {}:{} http://127.0.0.1:8080/batch/{}/report_stats",
                    key.token, key.secret, workspace.name
                );
            }
            Ok(())
        }
    }
}

pub(super) fn parse_name(text: &str) -> anyhow::Result<WorkspaceName> {
    WorkspaceName::parse(text).with_context(|| format!("`{text}` is not a valid workspace name"))
}

/// Creates `name` with a new API key; a clear error if it exists.
pub(super) async fn create(
    store: &dyn Store,
    name: &WorkspaceName,
) -> anyhow::Result<(Workspace, NewApiKey)> {
    let key = NewApiKey::generate();
    let now = Timestamp::now();
    match store
        .create_workspace(name, &ApiKeyRecord::new(&key, now), now)
        .await
    {
        Ok(workspace) => Ok((workspace, key)),
        Err(StoreError::Conflict(message)) => anyhow::bail!("{message}"),
        Err(error) => Err(error.into()),
    }
}

/// The workspace called `name`, or an error that says how to create it.
pub(super) async fn find(store: &dyn Store, name: &WorkspaceName) -> anyhow::Result<Workspace> {
    store.workspace(name).await?.with_context(|| {
        format!(
            "there is no workspace `{name}`; create it with `reportstats workspace create {name}`"
        )
    })
}
