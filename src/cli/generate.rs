//! `reportstats generate`: realistic NDJSON event streams of any size, for
//! benchmarks and load tests. Deterministic from a seed.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::demo::{ActivityConfig, write_activity};
use crate::domain::Timestamp;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Reports created (about 3% are deleted again), each with about two
    /// queries and their charts.
    #[arg(long, default_value_t = 1_000)]
    pub reports: usize,
    /// Members.
    #[arg(long, default_value_t = 200)]
    pub members: usize,
    /// Team spaces, besides each member's personal space.
    #[arg(long, default_value_t = 20)]
    pub shared_spaces: usize,
    /// `report_viewed` events (Zipf-distributed over reports); manual runs
    /// and explorations scale with it. Scheduled runs scale with reports ×
    /// days instead, so with many reports over many days they outnumber
    /// views: lower `--days` for a view-heavy stream.
    #[arg(long, default_value_t = 100_000)]
    pub views: usize,
    /// Days of activity, ending at `--end`.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// The newest `occurred_at` (RFC 3339); default: now.
    #[arg(long, value_parser = parse_instant)]
    pub end: Option<Timestamp>,
    /// Fraction of events sent twice, as a retrying client would.
    #[arg(long, default_value_t = 0.01)]
    pub duplicate_fraction: f64,
    /// Shuffle within windows of this many lines (0 keeps time order). Memory
    /// grows with the window, not with the stream.
    #[arg(long, default_value_t = 100_000)]
    pub shuffle_window: usize,
    /// Same seed, same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write; standard output if absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn parse_instant(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|error| format!("`{text}` {error}"))
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let config = ActivityConfig {
        seed: args.seed,
        reports: args.reports,
        members: args.members,
        shared_spaces: args.shared_spaces,
        views: args.views,
        end: args.end.unwrap_or_else(Timestamp::now),
        days: args.days,
        company_domain: "example.com".to_owned(),
        duplicate_fraction: args.duplicate_fraction,
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let lines = if args.shuffle_window > 1 {
        let mut shuffler = WindowShuffle::new(&mut out, args.shuffle_window, args.seed);
        let lines = write_activity(&config, &mut shuffler)?;
        shuffler.finish()?;
        lines
    } else {
        write_activity(&config, &mut out)?
    };
    out.flush()?;
    eprintln!("Generated {lines} events.");
    Ok(())
}

/// Shuffles the lines written through it within windows of `window` lines:
/// arrival order far from time order, in bounded memory.
struct WindowShuffle<'a, W: Write> {
    out: &'a mut W,
    window: usize,
    rng: StdRng,
    partial: Vec<u8>,
    lines: Vec<Vec<u8>>,
}

impl<'a, W: Write> WindowShuffle<'a, W> {
    fn new(out: &'a mut W, window: usize, seed: u64) -> Self {
        WindowShuffle {
            out,
            window,
            rng: StdRng::seed_from_u64(seed ^ 0x0053_4855_4646_4c45),
            partial: Vec::new(),
            lines: Vec::with_capacity(window),
        }
    }

    fn flush_window(&mut self) -> io::Result<()> {
        for i in (1..self.lines.len()).rev() {
            let j = self.rng.random_range(0..=i);
            self.lines.swap(i, j);
        }
        for line in self.lines.drain(..) {
            self.out.write_all(&line)?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        if !self.partial.is_empty() {
            let mut line = std::mem::take(&mut self.partial);
            line.push(b'\n');
            self.lines.push(line);
        }
        self.flush_window()
    }
}

impl<W: Write> Write for WindowShuffle<'_, W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        for piece in buffer.split_inclusive(|byte| *byte == b'\n') {
            self.partial.extend_from_slice(piece);
            if piece.ends_with(b"\n") {
                self.lines.push(std::mem::take(&mut self.partial));
                if self.lines.len() >= self.window {
                    self.flush_window()?;
                }
            }
        }
        Ok(buffer.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffling_keeps_every_line_and_changes_their_order() {
        let input: String = (0..1000).map(|n| format!("line {n}\n")).collect();
        let mut out = Vec::new();
        let mut shuffler = WindowShuffle::new(&mut out, 300, 7);
        for piece in input.as_bytes().chunks(7) {
            shuffler.write_all(piece).unwrap();
        }
        shuffler.finish().unwrap();
        let output = String::from_utf8(out).unwrap();
        assert_ne!(output, input);
        let mut sorted_out: Vec<&str> = output.lines().collect();
        let mut sorted_in: Vec<&str> = input.lines().collect();
        sorted_out.sort_unstable();
        sorted_in.sort_unstable();
        assert_eq!(sorted_out, sorted_in);
    }
}
