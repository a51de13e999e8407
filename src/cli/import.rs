//! `reportstats import`.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::workspace;
use crate::domain::Timestamp;
use crate::ingest::{ImportError, ImportProgress, import_ndjson};
use crate::storage;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The workspace to import into.
    #[arg(long)]
    pub workspace: String,
    /// NDJSON file of events, or - for standard input.
    pub file: PathBuf,
}

struct Progress(ProgressBar);

impl ImportProgress for Progress {
    fn advanced(&self, bytes: u64, _events: u64) {
        self.0.inc(bytes);
    }
}

fn progress_bar(total_bytes: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match total_bytes {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} read, {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

pub async fn run(database_url: &str, args: ImportArgs) -> anyhow::Result<()> {
    let name = workspace::parse_name(&args.workspace)?;
    let (reader, size): (Box<dyn BufRead + Send>, Option<u64>) = if args.file.as_os_str() == "-" {
        (
            Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
            None,
        )
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        let size = file.metadata().ok().map(|metadata| metadata.len());
        (Box::new(BufReader::with_capacity(1 << 20, file)), size)
    };
    let store = storage::open(database_url).await?;
    let workspace = workspace::find(store.as_ref(), &name).await?;

    let bar = progress_bar(size);
    let started = Instant::now();
    let result = import_ndjson(
        store,
        workspace.id,
        reader,
        Timestamp::now(),
        Progress(bar.clone()),
    )
    .await;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(summary) => {
            let total = summary.accepted + summary.duplicates;
            println!(
                "Imported {total} events into `{}`: {} new, {} duplicates, in {seconds:.2} s ({:.0} events/s).",
                workspace.name,
                summary.accepted,
                summary.duplicates,
                total as f64 / seconds.max(1e-9),
            );
            Ok(())
        }
        Err(ImportError::Rejected { errors, count }) => {
            for error in &errors {
                eprintln!("{error}");
            }
            if count > errors.len() {
                eprintln!("... and {} more", count - errors.len());
            }
            anyhow::bail!("{count} events were rejected; nothing was stored")
        }
        // The import stopped the moment the database failed (see
        // `import_ndjson`): nothing after the error was read.
        Err(ImportError::Store(error)) => Err(anyhow::Error::new(error).context(format!(
            "importing into `{}` failed; nothing was stored",
            workspace.name
        ))),
        Err(error) => Err(error.into()),
    }
}
