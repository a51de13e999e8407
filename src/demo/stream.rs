//! The streaming phase: the period walked in chunks of time, oldest first.
//! Each chunk gathers the planned events that fall in it, draws its share
//! of views and manual runs, fires the schedules that are due, and hands
//! all of it, sorted by time, to the [`Output`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::ops::Range;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::ActivityConfig;
use super::output::Output;
use super::plan::Plan;
use super::random::mix;

/// Reports are looked at far more often than they are re-run by hand.
const VIEWS_PER_MANUAL_RUN: usize = 12;
/// Keeps one chunk's buffer small when millions of views share few days.
const MAX_DRAWS_PER_CHUNK: usize = 20_000;
/// Gives streaming a random stream of its own, so that members, spaces,
/// reports and schedules stay the same when only `views` changes
/// (explorations, planned last, scale with `views`).
const STREAM_SALT: u64 = 0x5354_5245_414D;

/// Writes the activity described by `config` as NDJSON to `out` and returns
/// the number of lines written (retried duplicates included).
///
/// Lines come out in time order, except for retries, which repeat an earlier
/// line a little later. Only the plan and one short chunk of time are held in
/// memory, so `views` may run into the millions.
pub fn write_activity(config: &ActivityConfig, out: &mut impl Write) -> io::Result<u64> {
    config.validate()?;
    let plan = Plan::new(config);
    let mut output = Output::new(out, config);
    let mut stream = Stream::new(&plan, config.seed);

    let manual_runs = config.views / VIEWS_PER_MANUAL_RUN;
    let chunks =
        (config.days as usize * 24).max((config.views + manual_runs) / MAX_DRAWS_PER_CHUNK + 1);
    let bounds: Vec<i64> = (0..=chunks)
        .map(|i| plan.start + (i128::from(plan.span) * i as i128 / chunks as i128) as i64)
        .collect();
    let weights: Vec<f64> = bounds
        .windows(2)
        .map(|w| plan.busyness(w[0], w[1]))
        .collect();
    let weight_total: f64 = weights.iter().sum();
    let mut views = Allocation::new(config.views, weight_total);
    let mut runs = Allocation::new(manual_runs, weight_total);

    for (chunk, (window, &weight)) in bounds.windows(2).zip(&weights).enumerate() {
        let last = chunk + 1 == chunks;
        let (from, until) = (window[0].max(plan.activity_start), window[1]);
        stream.take_planned(&plan, until);
        stream.fire_schedules(&plan, until);
        let (views, runs) = (views.take(weight, last), runs.take(weight, last));
        if from < until {
            stream.draw_views(&plan, views, from..until);
            stream.draw_manual_runs(&plan, runs, from..until);
        }
        stream.write_chunk(&plan, &mut output)?;
    }
    output.finish()
}

/// The streaming phase's state between chunks.
struct Stream {
    rng: StdRng,
    /// The next run of every schedule that may still run, soonest first.
    due: BinaryHeap<Reverse<(i64, usize, u64)>>,
    next_planned: usize,
    next_run: u64,
    chunk: Vec<(i64, Item)>,
}

impl Stream {
    fn new(plan: &Plan, seed: u64) -> Self {
        Stream {
            rng: StdRng::seed_from_u64(mix(seed ^ STREAM_SALT)),
            due: (0..plan.schedules.len())
                .map(|schedule| Reverse((plan.occurrence(schedule, 0), schedule, 0)))
                .collect(),
            next_planned: 0,
            next_run: 0,
            chunk: Vec::new(),
        }
    }

    fn take_planned(&mut self, plan: &Plan, until: i64) {
        while let Some((at, _)) = plan
            .events
            .get(self.next_planned)
            .filter(|(at, _)| *at < until)
        {
            self.chunk.push((*at, Item::Planned(self.next_planned)));
            self.next_planned += 1;
        }
    }

    fn fire_schedules(&mut self, plan: &Plan, until: i64) {
        while let Some(&Reverse((at, schedule, occurrence))) = self.due.peek() {
            if at >= until {
                break;
            }
            self.due.pop();
            if at >= plan.schedule_stops(schedule) {
                continue;
            }
            if plan.schedules[schedule].runs_at(at) {
                let state = if self.rng.random_bool(0.94) {
                    "succeeded"
                } else {
                    "failed"
                };
                let run = self.next_run();
                self.chunk.push((
                    at,
                    Item::ScheduledRun {
                        schedule,
                        state,
                        run,
                    },
                ));
            }
            let next = occurrence + 1;
            self.due
                .push(Reverse((plan.occurrence(schedule, next), schedule, next)));
        }
    }

    fn draw_views(&mut self, plan: &Plan, count: usize, period: Range<i64>) {
        let rng = &mut self.rng;
        for _ in 0..count {
            let at = rng.random_range(period.clone());
            let report = plan.pick_used_report(rng, at);
            let viewer = plan.pick_viewer(rng, report, at);
            self.chunk.push((at, Item::View { report, viewer }));
        }
    }

    fn draw_manual_runs(&mut self, plan: &Plan, count: usize, period: Range<i64>) {
        for _ in 0..count {
            let rng = &mut self.rng;
            let at = rng.random_range(period.clone());
            let report = plan.pick_used_report(rng, at);
            // Authors re-run their own reports most.
            let creator = plan.reports[report].creator;
            let runner = if plan.members[creator].active_at(at) && rng.random_bool(0.45) {
                creator
            } else {
                plan.pick_member(rng, at)
            };
            let state = match rng.random_range(0..100) {
                0..88 => "succeeded",
                88..97 => "failed",
                _ => "cancelled",
            };
            let run = self.next_run();
            self.chunk.push((
                at,
                Item::ManualRun {
                    report,
                    runner,
                    state,
                    run,
                },
            ));
        }
    }

    fn next_run(&mut self) -> u64 {
        self.next_run += 1;
        self.next_run - 1
    }

    fn write_chunk<W: Write>(&mut self, plan: &Plan, output: &mut Output<W>) -> io::Result<()> {
        // Stable: at equal times a planned event (a report's creation, say)
        // stays ahead of the views drawn for it.
        self.chunk.sort_by_key(|(at, _)| *at);
        for (at, item) in self.chunk.drain(..) {
            output.write(plan, at, &item)?;
        }
        Ok(())
    }
}

/// One line waiting in a chunk's buffer.
pub(crate) enum Item {
    Planned(usize),
    View {
        report: usize,
        viewer: Option<usize>,
    },
    ManualRun {
        report: usize,
        runner: usize,
        state: &'static str,
        run: u64,
    },
    ScheduledRun {
        schedule: usize,
        state: &'static str,
        run: u64,
    },
}

/// Splits a total across chunks in proportion to their weights, exactly:
/// rounding the running total instead of each share loses nothing.
struct Allocation {
    total: usize,
    given: usize,
    weight_total: f64,
    weight_so_far: f64,
}

impl Allocation {
    fn new(total: usize, weight_total: f64) -> Self {
        Allocation {
            total,
            given: 0,
            weight_total,
            weight_so_far: 0.0,
        }
    }

    fn take(&mut self, weight: f64, last: bool) -> usize {
        self.weight_so_far += weight;
        let target = if last || self.weight_total <= 0.0 {
            self.total
        } else {
            ((self.total as f64 * self.weight_so_far / self.weight_total).round() as usize)
                .min(self.total)
        };
        let share = target.saturating_sub(self.given);
        self.given += share;
        share
    }
}
