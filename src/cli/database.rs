//! `reportstats migrate` and `reportstats copy`: moving a deployment's data.

use anyhow::Context;
use clap::Args;
use tokio::sync::mpsc;

use crate::storage::{self, EventChunk, IngestMessage, Store, StoreError, Workspace};

/// Events per chunk when copying an event log.
const COPY_CHUNK_EVENTS: usize = 10_000;

pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let store = storage::open(database_url).await?;
    let version = store.schema_version().await?;
    println!("The database schema is up to date (version {version}).");
    Ok(())
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The database to copy from (e.g. sqlite://reportstats.db).
    #[arg(long)]
    pub from: String,
    /// The database to copy into (e.g. postgres://user@host/reportstats).
    #[arg(long)]
    pub to: String,
}

/// Copies every workspace, its API keys and signature tokens (as hashes:
/// clients keep working, Bearer clients included, and revoked ones stay
/// revoked) and its event log, replaying the log into the target so that
/// the target maintains its own state. Safe to rerun: events already in the
/// target are duplicates, keys and tokens already there are kept.
pub async fn copy(args: CopyArgs) -> anyhow::Result<()> {
    let source = storage::open(&args.from).await?;
    let target = storage::open(&args.to).await?;
    for workspace in source.workspaces().await? {
        let keys = source.api_keys(workspace.id).await?;
        let Some(first_key) = keys.first() else {
            anyhow::bail!("workspace `{}` has no API key", workspace.name);
        };
        let copied = match target.workspace(&workspace.name).await? {
            Some(existing) => existing,
            None => {
                target
                    .create_workspace(&workspace.name, first_key, first_key.created_at)
                    .await?
            }
        };
        let target_tokens: Vec<String> = target
            .api_keys(copied.id)
            .await?
            .into_iter()
            .map(|key| key.token)
            .collect();
        for key in keys
            .iter()
            .filter(|key| !target_tokens.contains(&key.token))
        {
            target.insert_api_key(copied.id, key).await?;
        }
        let tokens = source.signature_tokens(workspace.id).await?;
        let target_tokens: Vec<String> = target
            .signature_tokens(copied.id)
            .await?
            .into_iter()
            .map(|token| token.token)
            .collect();
        for token in tokens
            .iter()
            .filter(|token| !target_tokens.contains(&token.token))
        {
            target.create_signature_token(copied.id, token).await?;
        }
        let summary = copy_events(source.as_ref(), &workspace, target.clone(), &copied).await?;
        println!(
            "Copied workspace `{}`: {} events ({} new in the target), {} API key{}, {} signature token{}.",
            workspace.name,
            summary.accepted + summary.duplicates,
            summary.accepted,
            keys.len(),
            if keys.len() == 1 { "" } else { "s" },
            tokens.len(),
            if tokens.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// Replays `from`'s event log into `to` in one transaction of the target:
/// the source is read a page at a time while the target writes the page
/// before. Whichever side fails first, the other stops: a failed read
/// drops the sender, so the target sees its stream end without
/// [`IngestMessage::Commit`] and rolls back (releasing a SQLite target's
/// write lock); a failed write closes the channel, so the next send fails
/// and reading stops.
async fn copy_events(
    source: &dyn Store,
    from: &Workspace,
    target: std::sync::Arc<dyn Store>,
    to: &Workspace,
) -> anyhow::Result<storage::IngestSummary> {
    let (sender, receiver) = mpsc::channel(2);
    let target_id = to.id;
    let writing = tokio::spawn(async move { target.ingest_stream(target_id, receiver).await });
    let read = send_log(source, from, sender).await;
    let written = writing.await?;
    match (read, written) {
        (Err(error), _) => Err(anyhow::Error::new(error).context(format!(
            "reading the event log of `{}` from the source failed; none of its events were stored",
            from.name
        ))),
        (Ok(()), written) => Ok(written
            .with_context(|| format!("storing the event log of `{}` in the target", to.name))?),
    }
}

/// Sends `from`'s whole log, then `Commit`. Takes the sender, so that it is
/// dropped however this ends. `Ok` also when the writer hung up early: its
/// error is the one to report.
async fn send_log(
    source: &dyn Store,
    from: &Workspace,
    sender: mpsc::Sender<IngestMessage>,
) -> Result<(), StoreError> {
    let mut cursor = None;
    loop {
        let page = source
            .read_log(from.id, cursor.as_ref(), COPY_CHUNK_EVENTS)
            .await?;
        if !page.events.is_empty()
            && sender
                .send(IngestMessage::Events(EventChunk::new(page.events)))
                .await
                .is_err()
        {
            return Ok(());
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let _ = sender.send(IngestMessage::Commit).await;
    Ok(())
}
