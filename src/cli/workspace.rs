//! `reportstats workspace ...`: workspaces and their API keys.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::domain::api_key::NewApiKey;
use crate::domain::{Timestamp, WorkspaceName};
use crate::storage::{self, ApiKeyRecord, Store, StoreError, Workspace};

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace and print its first API key (shown this once).
    Create(CreateArgs),
    /// List the workspaces.
    List(JsonFlag),
    /// Manage a workspace's API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make another API key for a workspace and print it (shown this once).
    Create(KeyCreateArgs),
    /// List a workspace's API keys (tokens and dates; secrets are not stored).
    List(KeyListArgs),
    /// Revoke an API key; requests using it get 401 at once.
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The workspace's username: 1–64 of a-z 0-9 _ -, starting with a letter or digit.
    pub name: String,
    /// Print {"workspace","token","secret"} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    pub workspace: String,
    /// Print {"workspace","token","secret"} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeyListArgs {
    pub workspace: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    pub workspace: String,
    /// The key's token.
    pub token: String,
}

pub async fn run(database_url: &str, command: WorkspaceCommand) -> anyhow::Result<()> {
    let store = storage::open(database_url).await?;
    match command {
        WorkspaceCommand::Create(args) => {
            let name = parse_name(&args.name)?;
            let (workspace, key) = create(store.as_ref(), &name).await?;
            print_new_key(&workspace, &key, args.json, "Created workspace");
        }
        WorkspaceCommand::List(args) => {
            let workspaces = store.workspaces().await?;
            if args.json {
                let names: Vec<&str> = workspaces
                    .iter()
                    .map(|workspace| workspace.name.as_str())
                    .collect();
                println!("{}", json!({ "workspaces": names }));
            } else {
                for workspace in workspaces {
                    println!("{}", workspace.name);
                }
            }
        }
        WorkspaceCommand::Key(KeyCommand::Create(args)) => {
            let workspace = find(store.as_ref(), &parse_name(&args.workspace)?).await?;
            let key = NewApiKey::generate();
            store
                .insert_api_key(workspace.id, &ApiKeyRecord::new(&key, Timestamp::now()))
                .await?;
            print_new_key(&workspace, &key, args.json, "New API key for workspace");
        }
        WorkspaceCommand::Key(KeyCommand::List(args)) => {
            let workspace = find(store.as_ref(), &parse_name(&args.workspace)?).await?;
            let keys = store.api_keys(workspace.id).await?;
            if args.json {
                let keys: Vec<_> = keys
                    .iter()
                    .map(|key| {
                        json!({
                            "token": key.token,
                            "created_at": key.created_at.to_string(),
                            "revoked_at": key.revoked_at.map(|at| at.to_string()),
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    json!({ "workspace": workspace.name.as_str(), "keys": keys })
                );
            } else {
                for key in keys {
                    match key.revoked_at {
                        Some(revoked_at) => {
                            println!(
                                "{}  created {}  revoked {revoked_at}",
                                key.token, key.created_at
                            );
                        }
                        None => println!("{}  created {}", key.token, key.created_at),
                    }
                }
            }
        }
        WorkspaceCommand::Key(KeyCommand::Revoke(args)) => {
            let workspace = find(store.as_ref(), &parse_name(&args.workspace)?).await?;
            if !store
                .revoke_api_key(workspace.id, &args.token, Timestamp::now())
                .await?
            {
                anyhow::bail!(
                    "workspace `{}` has no live API key `{}`",
                    workspace.name,
                    args.token
                );
            }
            println!(
                "Revoked API key {} of workspace `{}`.",
                args.token, workspace.name
            );
        }
    }
    Ok(())
}

fn print_new_key(workspace: &Workspace, key: &NewApiKey, as_json: bool, headline: &str) {
    if as_json {
        println!(
            "{}",
            json!({ "workspace": workspace.name.as_str(), "token": key.token, "secret": key.secret })
        );
        return;
    }
    println!("{headline} `{}`.", workspace.name);
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
