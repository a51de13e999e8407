//! The last step: lines numbered, serialised and written, and a fraction of
//! them written again a few lines later, as a retrying client would.

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use super::config::ActivityConfig;
use super::plan::{Plan, TokenKind};
use super::random::mix;
use super::render::Fields;
use super::stream::Item;
use crate::domain::Timestamp;

/// A retried line reappears within this many lines of its original, as a
/// sender re-sending a batch would produce.
const MAX_RETRY_DELAY_LINES: u64 = 64;
/// Gives retries a random stream of their own, so that everything else
/// stays the same when only `duplicate_fraction` changes.
const RETRY_SALT: u64 = 0x5245_5452_5953;

/// One NDJSON line. A struct rather than a `serde_json::Map` so that the
/// fields come out in a readable order (`id`, `type`, `occurred_at` first)
/// without enabling `preserve_order`.
#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'static str,
    occurred_at: Timestamp,
    #[serde(flatten)]
    fields: Fields<'a>,
}

/// Numbers the lines, writes them, and re-sends a fraction of them a little
/// later.
pub(crate) struct Output<W: Write> {
    out: BufWriter<W>,
    lines: u64,
    /// Event ids carry the seed: streams of different seeds may be loaded
    /// into one workspace without their events being taken for duplicates.
    seed: u64,
    next_id: u64,
    line: Vec<u8>,
    duplicate_fraction: f64,
    retry_rng: StdRng,
    retries: VecDeque<(u64, Vec<u8>)>,
}

impl<W: Write> Output<W> {
    pub(crate) fn new(out: W, config: &ActivityConfig) -> Self {
        Output {
            out: BufWriter::new(out),
            lines: 0,
            seed: config.seed,
            next_id: 0,
            line: Vec::new(),
            duplicate_fraction: config.duplicate_fraction,
            retry_rng: StdRng::seed_from_u64(mix(config.seed ^ RETRY_SALT)),
            retries: VecDeque::new(),
        }
    }

    pub(crate) fn write(&mut self, plan: &Plan, at: i64, item: &Item) -> io::Result<()> {
        self.next_id += 1;
        let id = format!("gen-{}-{:09}", self.seed, self.next_id);
        let run_token = match item {
            Item::ManualRun { run, .. } | Item::ScheduledRun { run, .. } => {
                plan.token(TokenKind::Run, *run)
            }
            _ => String::new(),
        };
        let (event_type, fields) = plan.render(item, &run_token);
        let line = Line {
            id: &id,
            event_type,
            occurred_at: Timestamp::from_micros(at * 1_000),
            fields,
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &line)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.lines += 1;

        if self.duplicate_fraction > 0.0 && self.retry_rng.random_bool(self.duplicate_fraction) {
            let due = self.lines + self.retry_rng.random_range(0..MAX_RETRY_DELAY_LINES);
            self.retries.push_back((due, self.line.clone()));
        }
        while let Some((due, _)) = self.retries.front() {
            if *due > self.lines {
                break;
            }
            if let Some((_, retry)) = self.retries.pop_front() {
                self.out.write_all(&retry)?;
                self.lines += 1;
            }
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> io::Result<u64> {
        for (_, retry) in std::mem::take(&mut self.retries) {
            self.out.write_all(&retry)?;
            self.lines += 1;
        }
        self.out.flush()?;
        Ok(self.lines)
    }
}
