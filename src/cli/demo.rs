//! `reportstats demo`: a workspace full of realistic activity, served.

use std::io::Cursor;

use base64::Engine;
use clap::Args;

use super::serve::{ServerArgs, bind, serve_until_stopped};
use super::workspace;
use crate::demo::{ActivityConfig, write_activity};
use crate::domain::Timestamp;
use crate::domain::api_key::NewApiKey;
use crate::domain::signature_token::{AUTHENTICATION_FOR, AUTHORIZATION_TYPE, NewSignatureToken};
use crate::ingest::import_ndjson;
use crate::storage::{self, ApiKeyRecord, SignatureTokenRecord};

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

    // A signature token too, so Mode's own examples (Bearer) work as printed.
    let signature = NewSignatureToken::generate();
    store
        .create_signature_token(
            workspace.id,
            &SignatureTokenRecord {
                token: signature.token.clone(),
                name: "reportstats demo".to_owned(),
                access_key_hash: signature.access_key_hash(),
                access_secret_hash: signature.access_secret_hash(),
                authentication_for: AUTHENTICATION_FOR.to_owned(),
                authorization_type: AUTHORIZATION_TYPE.to_owned(),
                created_at: now,
                updated_at: now,
                expires_at: now.saturating_add_seconds(30 * 86_400),
                revoked_at: None,
            },
        )
        .await?;
    let bearer = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}:{}",
        signature.token, signature.access_key, signature.access_secret
    ));

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
    let name = &workspace.name;
    // A curl with the API key for each of these paths and what it shows.
    let tries = [
        ("Try:", format!("batch/{name}/report_stats?per_page=3"), ""),
        (
            "",
            format!("batch/{name}/report_stats?include_spaces=all&page=2&per_page=100"),
            "",
        ),
        (
            "",
            format!("batch/{name}/queries?per_page=2"),
            "   # also: reports, charts, spaces, members",
        ),
        ("", format!("api/{name}/memberships?per_page=2"), ""),
        (
            "Usage over time (trending, stale, daily):",
            format!("batch/{name}/report_usage?sort=-views_7d&per_page=5"),
            "",
        ),
        (
            "",
            format!(
                "batch/{name}/report_usage?unviewed_days=90&sort=-total_views_count&per_page=5"
            ),
            "",
        ),
        ("", format!("batch/{name}/usage_daily"), ""),
    ];
    for (heading, path, note) in tries {
        if !heading.is_empty() {
            println!("{heading}");
        }
        println!(
            "  curl -s -u {}:{} '{base}/{path}'{note}",
            key.token, key.secret
        );
    }
    println!();
    println!("A read-only signature token (valid 30 days), as Mode's examples use it:");
    println!("  token:         {}", signature.token);
    println!("  access_key:    {}", signature.access_key);
    println!("  access_secret: {}", signature.access_secret);
    println!(
        "  curl -s '{base}/batch/{}/report_stats?per_page=3' --header 'Accept: application/json' --header 'Authorization: Bearer {bearer}'",
        workspace.name
    );
    println!();
    println!("Dashboard: open {base}/ in a browser and sign in with the signature token above");
    println!("  (token, access_key, access_secret), or with the API key's token and secret.");
    println!();
    println!("API reference: {base}/openapi.json");
    println!("Serving on {base}; press Ctrl-C to stop.");
    serve_until_stopped(store, listener, &args.server).await
}
