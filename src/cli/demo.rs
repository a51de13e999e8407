//! `reportstats demo`: a workspace full of realistic activity, served.

use std::io::Cursor;

use clap::Args;

use super::serve::{ServerArgs, bind, serve_until_stopped};
use super::workspace;
use crate::demo::{ActivityConfig, write_activity};
use crate::domain::Timestamp;
use crate::domain::api_key::NewApiKey;
use crate::ingest::import_ndjson;
use crate::storage::{self, ApiKeyRecord};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo workspace's name.
    #[arg(long, default_value = "demo")]
    pub workspace: String,

    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(database_url: &str, args: DemoArgs) -> anyhow::Result<()> {
    let name = workspace::parse_name(&args.workspace)?;
    let store = storage::open(database_url).await?;
    // Bind first: a taken port should fail before any work is done.
    let listener = bind(&args.server).await?;
    let now = Timestamp::now();

    // A second run reuses the workspace (the generated events are the same
    // ids, so they are duplicates) and mints a fresh key, since the first
    // one's secret was shown only once.
    let key = NewApiKey::generate();
    let workspace = match store.workspace(&name).await? {
        Some(workspace) => {
            store
                .insert_api_key(workspace.id, &ApiKeyRecord::new(&key, now))
                .await?;
            workspace
        }
        None => {
            store
                .create_workspace(&name, &ApiKeyRecord::new(&key, now), now)
                .await?
        }
    };

    let config = ActivityConfig::demo(now);
    let mut ndjson = Vec::new();
    let lines = write_activity(&config, &mut ndjson)?;
    let summary = import_ndjson(store.clone(), workspace.id, Cursor::new(ndjson), now, ()).await?;

    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    println!();
    println!(
        "Demo workspace `{}`: {lines} events of activity across {} reports ({} new this run).",
        workspace.name, config.reports, summary.accepted
    );
    println!();
    println!("API key (Basic auth; the secret is shown only now):");
    println!("  token:  {}", key.token);
    println!("  secret: {}", key.secret);
    println!();
    println!("Try:");
    println!(
        "  curl -s -u {}:{} '{base}/batch/{}/report_stats?per_page=3'",
        key.token, key.secret, workspace.name
    );
    println!(
        "  curl -s -u {}:{} '{base}/batch/{}/report_stats?include_spaces=all&page=2&per_page=100'",
        key.token, key.secret, workspace.name
    );
    println!();
    println!("Serving on {base}; press Ctrl-C to stop.");
    serve_until_stopped(store, listener, &args.server).await
}
