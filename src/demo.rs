//! Realistic, reproducible activity for `reportstats demo` and for benchmarks.
//!
//! # Design
//!
//! Generation runs in two phases.
//!
//! 1. **Planning** draws every entity (members, spaces, reports with their
//!    edits, moves and deletion, schedules, explorations) together with the
//!    times of its lifecycle events. These tables grow with `reports` and
//!    `members`, never with `views`, so they are kept in memory.
//! 2. **Streaming** walks the period in short chunks, oldest first. Each chunk
//!    gathers the planned events that fall in it, draws its share of views and
//!    manual runs, fires the schedules that are due, sorts all of that by time
//!    and writes it. Memory is therefore the plan plus one chunk, however many
//!    millions of views are asked for.
//!
//! Every reference is consistent at its time: a report is viewed, run, edited
//! or explored only while it exists, by a member who has joined and not been
//! removed; a schedule runs only while it is neither paused nor deleted. The
//! service does not need this (events may arrive in any order and still count
//! once what they refer to exists) but it makes the demo's numbers plausible.
//!
//! The output depends only on the configuration: the same seed gives the same
//! bytes (with the same build of `rand`), so a demo can be re-imported as pure
//! duplicates and benchmark runs compare like with like.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::io::{self, BufWriter, Write};
use std::ops::Range;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::domain::Timestamp;

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

/// The seed of `reportstats demo`: fixed so that every demo shows the same
/// workspace and a second run only re-sends events already stored.
pub const DEMO_SEED: u64 = 20_240_917;

/// Reports are looked at far more often than they are re-run by hand.
const VIEWS_PER_MANUAL_RUN: usize = 12;
/// One exploration per this many views, on top of one per two reports.
const VIEWS_PER_EXPLORATION: usize = 500;
/// Keeps one chunk's buffer small when millions of views share few days.
const MAX_DRAWS_PER_CHUNK: usize = 20_000;
/// Rejection sampling gives up after this many draws and falls back to the
/// member or report that exists from the start, so a draw never loops long.
const MAX_ATTEMPTS: usize = 32;
/// A retried line reappears within this many lines of its original, as a
/// sender re-sending a batch would produce.
const MAX_RETRY_DELAY_LINES: u64 = 64;
/// A new member acts only after their personal space exists.
const MEMBER_SETTLE_MS: i64 = 10 * MS_PER_SECOND;
/// Salts that give streaming and retries random streams of their own, so
/// that members, spaces, reports and schedules stay the same when only
/// `views` or `duplicate_fraction` change (explorations, planned last, scale
/// with `views`).
const STREAM_SALT: u64 = 0x5354_5245_414D;
const RETRY_SALT: u64 = 0x5245_5452_5953;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityConfig {
    /// Same seed, same output, byte for byte.
    pub seed: u64,
    /// Reports created; about 3% of them are deleted again.
    pub reports: usize,
    /// Members; a few are removed late in the period.
    pub members: usize,
    /// Team spaces, besides every member's personal space.
    pub shared_spaces: usize,
    /// `report_viewed` events; manual runs and explorations scale with it.
    pub views: usize,
    /// The newest possible `occurred_at`: the demo's "now", so that the data
    /// looks current when served right away.
    pub end: Timestamp,
    /// Length of the period, ending at `end`, over which activity is spread.
    pub days: u32,
    /// Members' emails are `first.last@{company_domain}`.
    pub company_domain: String,
    /// Fraction of lines written a second time, verbatim, a few lines later:
    /// retries that ingestion must treat as duplicates.
    pub duplicate_fraction: f64,
}

impl ActivityConfig {
    /// The `reportstats demo` workspace: big enough for several pages of
    /// `report_stats`, small enough to generate and import in seconds, and
    /// long enough (180 days) that the default 90-day recent window cuts
    /// through it.
    pub fn demo(end: Timestamp) -> Self {
        ActivityConfig {
            seed: DEMO_SEED,
            reports: 400,
            members: 60,
            shared_spaces: 10,
            views: 25_000,
            end,
            days: 180,
            company_domain: "example.com".to_owned(),
            duplicate_fraction: 0.0,
        }
    }

    fn validate(&self) -> io::Result<()> {
        let invalid = |message: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        if self.days == 0 {
            return invalid("the period must be at least one day");
        }
        if self.end.as_micros() / 1_000 < i64::from(self.days) * MS_PER_DAY {
            return invalid("the period must not start before 1970");
        }
        if self.members == 0 {
            return invalid("at least one member is needed to create reports and spaces");
        }
        if self.reports == 0 && self.views > 0 {
            return invalid("views need at least one report");
        }
        if !(0.0..=1.0).contains(&self.duplicate_fraction) {
            return invalid("the duplicate fraction must be between 0 and 1");
        }
        let domain = &self.company_domain;
        if domain.is_empty()
            || domain.len() > 200
            || domain.contains('@')
            || domain.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid("the company domain must look like example.com");
        }
        Ok(())
    }
}

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
            let report = plan.pick_report(rng, at, plan.reports.len());
            let viewer = plan.pick_viewer(rng, report, at);
            self.chunk.push((at, Item::View { report, viewer }));
        }
    }

    fn draw_manual_runs(&mut self, plan: &Plan, count: usize, period: Range<i64>) {
        for _ in 0..count {
            let rng = &mut self.rng;
            let at = rng.random_range(period.clone());
            let report = plan.pick_report(rng, at, plan.reports.len());
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

/// Draws indexes in proportion to `1 / rank^exponent`: a few items get most
/// of the attention, as reports and active users do in real workspaces.
/// Ranks are shuffled so that popularity does not follow creation order.
struct Zipf {
    cumulative: Vec<f64>,
    by_rank: Vec<usize>,
}

impl Zipf {
    fn new(len: usize, exponent: f64, rng: &mut StdRng) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=len)
            .map(|rank| {
                total += (rank as f64).powf(-exponent);
                total
            })
            .collect();
        let mut by_rank: Vec<usize> = (0..len).collect();
        by_rank.shuffle(rng);
        Zipf {
            cumulative,
            by_rank,
        }
    }

    /// Draws among the `top` most popular items only (all when `top` is the
    /// length). Must not be called when empty.
    fn sample(&self, rng: &mut StdRng, top: usize) -> usize {
        let top = top.clamp(1, self.cumulative.len());
        let point = rng.random::<f64>() * self.cumulative[top - 1];
        let rank = self
            .cumulative
            .partition_point(|&c| c <= point)
            .min(top - 1);
        self.by_rank[rank]
    }
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

struct Member {
    email: String,
    username: String,
    name: String,
    joined: i64,
    removed: Option<i64>,
    personal_space: usize,
}

impl Member {
    fn active_at(&self, at: i64) -> bool {
        self.joined + MEMBER_SETTLE_MS <= at && self.removed.is_none_or(|removed| at < removed)
    }
}

struct Space {
    token: String,
    name: String,
    description: Option<String>,
    space_type: &'static str,
    created: i64,
    deleted: Option<i64>,
}

impl Space {
    fn exists_at(&self, at: i64) -> bool {
        self.created <= at && self.deleted.is_none_or(|deleted| at < deleted)
    }
}

struct Report {
    id: i64,
    token: String,
    name: String,
    description: Option<String>,
    creator: usize,
    /// Where the report was created; `moves` says where it went next.
    created_in: usize,
    created: i64,
    deleted: Option<i64>,
    /// Reports drafted in a personal space mostly get their creator's views
    /// until they are moved to a team space.
    private_until: i64,
    moves: Vec<(i64, usize)>,
}

impl Report {
    fn exists_at(&self, at: i64) -> bool {
        self.created <= at && self.deleted.is_none_or(|deleted| at < deleted)
    }

    fn space_at(&self, at: i64) -> usize {
        self.moves
            .iter()
            .take_while(|(moved, _)| *moved <= at)
            .last()
            .map_or(self.created_in, |(_, space)| *space)
    }
}

struct Schedule {
    token: String,
    report: usize,
    creator: usize,
    created: i64,
    period: i64,
    first_run: i64,
    paused: Option<i64>,
    resumed: Option<i64>,
    deleted: Option<i64>,
}

impl Schedule {
    fn runs_at(&self, at: i64) -> bool {
        let paused = self
            .paused
            .is_some_and(|paused| paused <= at && self.resumed.is_none_or(|resumed| at < resumed));
        self.created < at && !paused
    }
}

struct Exploration {
    token: String,
    report: usize,
    creator: usize,
}

/// A lifecycle event decided while planning, written when its time comes.
enum Planned {
    MemberUpserted(usize),
    MemberRemoved(usize),
    SpaceUpserted(usize),
    SpaceDeleted(usize),
    ReportCreated(usize),
    ReportEdited {
        report: usize,
        editor: usize,
        name: Option<String>,
        description: Option<String>,
    },
    ReportMoved {
        report: usize,
        space: usize,
    },
    ReportDeleted(usize),
    ScheduleCreated(usize),
    SchedulePaused(usize),
    ScheduleResumed(usize),
    ScheduleDeleted(usize),
    ExplorationCreated(usize),
    ExplorationDeleted(usize),
}

/// One line waiting in a chunk's buffer.
enum Item {
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

/// Kinds of token, each with its own key so that each kind's tokens are
/// unique among themselves.
#[derive(Clone, Copy)]
enum TokenKind {
    Space = 1,
    Report = 2,
    Schedule = 3,
    Run = 4,
    Exploration = 5,
}

/// Everything decided before streaming: entities, their lifecycle events
/// sorted by time, and the popularity tables that views are drawn from.
struct Plan {
    seed: u64,
    start: i64,
    end: i64,
    span: i64,
    /// Views and manual runs start just after the first report exists.
    activity_start: i64,
    shared_spaces: usize,
    members: Vec<Member>,
    spaces: Vec<Space>,
    reports: Vec<Report>,
    schedules: Vec<Schedule>,
    explorations: Vec<Exploration>,
    events: Vec<(i64, Planned)>,
    member_activity: Zipf,
    space_popularity: Zipf,
    report_popularity: Zipf,
}

impl Plan {
    fn new(config: &ActivityConfig) -> Plan {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let span = i64::from(config.days) * MS_PER_DAY;
        let end = config.end.as_micros() / 1_000;
        let start = end - span;
        let member_activity = Zipf::new(config.members, 0.8, &mut rng);
        let space_popularity = Zipf::new(config.shared_spaces, 0.9, &mut rng);
        let report_popularity = Zipf::new(config.reports, 1.1, &mut rng);
        let mut plan = Plan {
            seed: config.seed,
            start,
            end,
            span,
            activity_start: end,
            shared_spaces: config.shared_spaces,
            members: Vec::with_capacity(config.members),
            spaces: Vec::with_capacity(config.shared_spaces + config.members),
            reports: Vec::with_capacity(config.reports),
            schedules: Vec::new(),
            explorations: Vec::new(),
            events: Vec::new(),
            member_activity,
            space_popularity,
            report_popularity,
        };
        plan.plan_shared_spaces(&mut rng);
        plan.plan_members(config, &mut rng);
        plan.plan_reports(config.reports, &mut rng);
        plan.plan_moves(&mut rng);
        plan.plan_edits(&mut rng);
        plan.plan_schedules(&mut rng);
        plan.plan_explorations(
            config.reports / 2 + config.views / VIEWS_PER_EXPLORATION,
            &mut rng,
        );
        plan.events.sort_by_key(|(at, _)| *at);
        plan
    }

    /// The moment setup is over: the first member, the first team spaces and
    /// the first report exist by then, and everything else happens later.
    fn setup_end(&self) -> i64 {
        self.start + self.span / 1_000
    }

    fn token(&self, kind: TokenKind, serial: u64) -> String {
        token(
            mix(self.seed ^ (kind as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            serial,
        )
    }

    fn plan_shared_spaces(&mut self, rng: &mut StdRng) {
        let setup_end = self.setup_end();
        // The last team space is the one deleted; it needs a replacement.
        let deleted_space = (self.shared_spaces >= 2).then(|| self.shared_spaces - 1);
        for index in 0..self.shared_spaces {
            let initial = index == 0 || Some(index) == deleted_space || rng.random_bool(0.7);
            let created = if initial {
                rng.random_range(self.start..setup_end)
            } else {
                rng.random_range(setup_end..self.start + self.span / 2)
            };
            let deleted = (Some(index) == deleted_space).then(|| {
                rng.random_range(
                    self.start + self.span * 85 / 100..self.start + self.span * 95 / 100,
                )
            });
            let base = TEAM_SPACES[index % TEAM_SPACES.len()];
            let name = match index / TEAM_SPACES.len() {
                0 => base.to_owned(),
                round => format!("{base} {}", round + 1),
            };
            let (space_type, description) = if index == 0 {
                (
                    "community",
                    "Reports everyone in the workspace can see.".to_owned(),
                )
            } else {
                ("custom", format!("Reports maintained by the {name} team."))
            };
            let space = self.spaces.len();
            self.spaces.push(Space {
                token: self.token(TokenKind::Space, space as u64),
                name,
                description: Some(description),
                space_type,
                created,
                deleted,
            });
            self.events.push((created, Planned::SpaceUpserted(space)));
            if let Some(deleted) = deleted {
                self.events.push((deleted, Planned::SpaceDeleted(space)));
            }
        }
    }

    fn plan_members(&mut self, config: &ActivityConfig, rng: &mut StdRng) {
        let domain = config.company_domain.to_lowercase();
        let onboarding_end = self.start + self.span / 30;
        let mut emails = HashSet::new();
        let mut usernames = HashSet::new();
        let mut taken_names = HashSet::new();
        for index in 0..config.members {
            // Most of the team arrives in the first weeks; the rest join later.
            let joined = if index == 0 {
                self.start
            } else if rng.random_bool(0.7) {
                rng.random_range(self.start + 1..onboarding_end)
            } else {
                rng.random_range(onboarding_end..self.end - self.span / 10)
            };
            // Namesakes happen, but rarely: redraw a taken name a few times
            // before numbering the email.
            let mut draw = || (pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
            let mut names = draw();
            for _ in 0..MAX_ATTEMPTS {
                if !taken_names.contains(&names) {
                    break;
                }
                names = draw();
            }
            taken_names.insert(names);
            let (first, last) = names;
            let ascii = |text: &str| -> String {
                text.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_lowercase()
            };
            let local = unique(&mut emails, format!("{}.{}", ascii(first), ascii(last)));
            let username = unique(
                &mut usernames,
                format!("{}{}", ascii(&first[..1]), ascii(last)),
            );
            let personal_space = self.spaces.len();
            let name = format!("{first} {last}");
            self.members.push(Member {
                email: format!("{local}@{domain}"),
                username,
                name: name.clone(),
                joined,
                removed: None,
                personal_space,
            });
            let space_created = joined + rng.random_range(MS_PER_SECOND..5 * MS_PER_SECOND);
            self.spaces.push(Space {
                token: self.token(TokenKind::Space, personal_space as u64),
                name: format!("{name} (personal)"),
                description: None,
                space_type: "private",
                created: space_created,
                deleted: None,
            });
            self.events.push((joined, Planned::MemberUpserted(index)));
            self.events
                .push((space_created, Planned::SpaceUpserted(personal_space)));
        }

        // A couple of people leave late in the period; their reports stay.
        let leaving = match config.members {
            0..10 => 0,
            members => (members / 30).max(1),
        };
        let mut candidates: Vec<usize> = (1..config.members).collect();
        candidates.shuffle(rng);
        for &index in candidates.iter().take(leaving) {
            let member = &mut self.members[index];
            let earliest = (member.joined + self.span / 20).max(self.start + self.span * 6 / 10);
            if let Some(removed) = between(rng, earliest, self.end - self.span / 50) {
                member.removed = Some(removed);
                self.events.push((removed, Planned::MemberRemoved(index)));
            }
        }
    }

    fn plan_reports(&mut self, count: usize, rng: &mut StdRng) {
        let setup_end = self.setup_end();
        // A third of the reports come with the team's onboarding; the rest
        // accumulate over the period.
        let mut created: Vec<i64> = (0..count)
            .map(|index| {
                if index == 0 {
                    setup_end
                } else if rng.random_bool(0.35) {
                    rng.random_range(setup_end..self.start + self.span / 25)
                } else {
                    rng.random_range(setup_end..self.end - self.span / 100)
                }
            })
            .collect();
        created.sort_unstable();

        // Ids grow with creation time, with gaps where other workspaces'
        // reports took the ids in between.
        let mut next_id = 1001;
        for (index, created) in created.into_iter().enumerate() {
            let id = next_id;
            next_id += if rng.random_bool(0.7) {
                1
            } else {
                rng.random_range(2..=9)
            };
            let creator = self.pick_member(rng, created);
            let space = if self.shared_spaces == 0 || rng.random_bool(0.15) {
                self.members[creator].personal_space
            } else {
                self.pick_shared_space(rng, created, None).unwrap_or(0)
            };
            let private_until = if self.spaces[space].space_type == "private" {
                i64::MAX
            } else {
                self.start
            };
            let deleted = if index > 0 && rng.random_bool(0.03) {
                between(rng, created + (self.span / 50).min(MS_PER_DAY), self.end)
            } else {
                None
            };
            let name = report_name(rng);
            let description = rng.random_bool(0.4).then(|| {
                let team = if private_until == self.start {
                    self.spaces[space].name.as_str()
                } else {
                    "analytics"
                };
                report_description(rng, team)
            });
            self.reports.push(Report {
                id,
                token: self.token(TokenKind::Report, index as u64),
                name,
                description,
                creator,
                created_in: space,
                created,
                deleted,
                private_until,
                moves: Vec::new(),
            });
            self.events.push((created, Planned::ReportCreated(index)));
            if let Some(deleted) = deleted {
                self.events.push((deleted, Planned::ReportDeleted(index)));
            }
        }
        if let Some(first) = self.reports.first() {
            self.activity_start = (first.created + MS_PER_MINUTE).min(self.end);
        }
    }

    fn plan_moves(&mut self, rng: &mut StdRng) {
        // Drafts get published from personal spaces; now and then a report
        // changes teams.
        for index in 0..self.reports.len() {
            let report = &self.reports[index];
            let private = report.private_until == i64::MAX;
            if !rng.random_bool(if private { 0.25 } else { 0.04 }) {
                continue;
            }
            let life_end = report.deleted.unwrap_or(self.end);
            let Some(at) = between(rng, report.created + MS_PER_MINUTE, life_end) else {
                continue;
            };
            if let Some(space) = self.pick_shared_space(rng, at, Some(report.created_in)) {
                self.reports[index].moves.push((at, space));
            }
        }

        // Before its team space is deleted, its reports move elsewhere.
        let deleted_space = self
            .spaces
            .iter()
            .enumerate()
            .find_map(|(space, s)| s.deleted.map(|deleted| (space, deleted)));
        if let Some((space, deleted)) = deleted_space {
            for index in 0..self.reports.len() {
                let report = &self.reports[index];
                if !report.exists_at(deleted) || report.space_at(deleted) != space {
                    continue;
                }
                let last_move = report
                    .moves
                    .iter()
                    .map(|(at, _)| *at)
                    .filter(|at| *at <= deleted)
                    .max()
                    .unwrap_or(report.created);
                let earliest = last_move.max(deleted - MS_PER_HOUR) + 1;
                let at = between(rng, earliest, deleted).unwrap_or(earliest);
                let target = self.pick_shared_space(rng, at, Some(space)).unwrap_or(0);
                self.reports[index].moves.push((at, target));
            }
        }

        for (index, report) in self.reports.iter_mut().enumerate() {
            report.moves.sort_by_key(|(at, _)| *at);
            if let (i64::MAX, Some(&(first_move, _))) = (report.private_until, report.moves.first())
            {
                report.private_until = first_move;
            }
            for &(at, space) in &report.moves {
                self.events.push((
                    at,
                    Planned::ReportMoved {
                        report: index,
                        space,
                    },
                ));
            }
        }
    }

    fn plan_edits(&mut self, rng: &mut StdRng) {
        for index in 0..self.reports.len() {
            let report = &self.reports[index];
            let (creator, created) = (report.creator, report.created);
            let life_end = report.deleted.unwrap_or(self.end);
            let mut edits = 0;
            while edits < 10 && rng.random_bool(0.55) {
                edits += 1;
            }
            let mut times: Vec<i64> = (0..edits)
                .filter_map(|_| between(rng, created + MS_PER_MINUTE, life_end))
                .collect();
            times.sort_unstable();
            // Most reports have one regular collaborator besides the creator.
            let collaborator = self.pick_member(rng, created.max(self.setup_end()));
            let mut base_name = report.name.clone();
            let mut version = 1;
            for at in times {
                let editor = match rng.random_range(0..10) {
                    0..5 if self.members[creator].active_at(at) => creator,
                    5..8 if self.members[collaborator].active_at(at) => collaborator,
                    _ => self.pick_member(rng, at),
                };
                let name = rng.random_bool(0.25).then(|| {
                    if rng.random_bool(0.5) {
                        base_name = report_name(rng);
                        version = 1;
                        base_name.clone()
                    } else {
                        version += 1;
                        format!("{base_name} v{version}")
                    }
                });
                let description = rng.random_bool(0.15).then(|| edit_description(rng));
                self.events.push((
                    at,
                    Planned::ReportEdited {
                        report: index,
                        editor,
                        name,
                        description,
                    },
                ));
            }
        }
    }

    fn plan_schedules(&mut self, rng: &mut StdRng) {
        for index in 0..self.reports.len() {
            if !rng.random_bool(0.3) {
                continue;
            }
            let count = match rng.random_range(0..100) {
                0..70 => 1,
                70..92 => 2,
                _ => 3,
            };
            for _ in 0..count {
                let report = &self.reports[index];
                let life_end = report.deleted.unwrap_or(self.end);
                // Schedules are set up while a report is young.
                let earliest = report.created + 10 * MS_PER_MINUTE;
                let Some(created) = between(rng, earliest, earliest + (life_end - earliest) / 3)
                else {
                    continue;
                };
                let creator =
                    if self.members[report.creator].active_at(created) && rng.random_bool(0.6) {
                        report.creator
                    } else {
                        self.pick_member(rng, created)
                    };
                let weekly = rng.random_bool(0.35);
                let hour = rng.random_range(4..=10);
                let minute = 15 * rng.random_range(0..4);
                let mut first_run = created - created.rem_euclid(MS_PER_DAY)
                    + hour * MS_PER_HOUR
                    + minute * MS_PER_MINUTE;
                while first_run <= created {
                    first_run += MS_PER_DAY;
                }
                if weekly {
                    let weekday = rng.random_range(1..=5);
                    while weekday_of(first_run) != weekday {
                        first_run += MS_PER_DAY;
                    }
                }
                let paused = if rng.random_bool(0.15) {
                    between(rng, created + 1, life_end)
                } else {
                    None
                };
                let resumed = match paused {
                    Some(paused) if rng.random_bool(0.5) => between(rng, paused + 1, life_end),
                    _ => None,
                };
                let last_change = resumed.or(paused).unwrap_or(created);
                let deleted = match report.deleted {
                    // A report's schedules go with it.
                    Some(report_deleted) => Some(
                        between(rng, last_change + 1, report_deleted).unwrap_or(report_deleted),
                    ),
                    None if rng.random_bool(0.06) => between(rng, last_change + 1, life_end),
                    None => None,
                };
                let schedule = self.schedules.len();
                self.schedules.push(Schedule {
                    token: self.token(TokenKind::Schedule, schedule as u64),
                    report: index,
                    creator,
                    created,
                    period: if weekly { 7 * MS_PER_DAY } else { MS_PER_DAY },
                    first_run,
                    paused,
                    resumed,
                    deleted,
                });
                self.events
                    .push((created, Planned::ScheduleCreated(schedule)));
                for (at, event) in [
                    (paused, Planned::SchedulePaused(schedule)),
                    (resumed, Planned::ScheduleResumed(schedule)),
                    (deleted, Planned::ScheduleDeleted(schedule)),
                ] {
                    if let Some(at) = at {
                        self.events.push((at, event));
                    }
                }
            }
        }
    }

    fn plan_explorations(&mut self, count: usize, rng: &mut StdRng) {
        if self.reports.is_empty() {
            return;
        }
        // People explore the reports everyone looks at.
        let popular = (self.reports.len() / 5).max(1);
        let setup_end = self.setup_end();
        for index in 0..count {
            let Some(created) = between(rng, self.activity_start, self.end) else {
                return;
            };
            let report = self.pick_report(rng, created, popular);
            let creator = self.pick_member(rng, created);
            self.explorations.push(Exploration {
                token: self.token(TokenKind::Exploration, index as u64),
                report,
                creator,
            });
            self.events
                .push((created, Planned::ExplorationCreated(index)));
            if rng.random_bool(0.1) {
                if let Some(deleted) = between(rng, created.max(setup_end) + 1, self.end) {
                    self.events
                        .push((deleted, Planned::ExplorationDeleted(index)));
                }
            }
        }
    }

    /// A member who can act at `at`, favouring the most active people. The
    /// first member joined at the start and is never removed.
    fn pick_member(&self, rng: &mut StdRng, at: i64) -> usize {
        (0..MAX_ATTEMPTS)
            .map(|_| self.member_activity.sample(rng, self.members.len()))
            .find(|&member| self.members[member].active_at(at))
            .unwrap_or(0)
    }

    /// A report that exists at `at`, drawn by popularity among the `top`
    /// most popular. The first report is never deleted.
    fn pick_report(&self, rng: &mut StdRng, at: i64, top: usize) -> usize {
        (0..MAX_ATTEMPTS)
            .map(|_| self.report_popularity.sample(rng, top))
            .find(|&report| self.reports[report].exists_at(at))
            .unwrap_or(0)
    }

    fn pick_shared_space(&self, rng: &mut StdRng, at: i64, except: Option<usize>) -> Option<usize> {
        if self.shared_spaces == 0 {
            return None;
        }
        (0..MAX_ATTEMPTS)
            .map(|_| self.space_popularity.sample(rng, self.shared_spaces))
            .find(|&space| self.spaces[space].exists_at(at) && Some(space) != except)
            .or_else(|| (except != Some(0) && self.spaces[0].exists_at(at)).then_some(0))
    }

    /// Drafts are looked at by their author; shared reports by anyone, and
    /// now and then by someone following a shared link without signing in.
    fn pick_viewer(&self, rng: &mut StdRng, report: usize, at: i64) -> Option<usize> {
        let report = &self.reports[report];
        if at < report.private_until {
            let creator = report.creator;
            if self.members[creator].active_at(at) && rng.random_bool(0.85) {
                return Some(creator);
            }
            return Some(self.pick_member(rng, at));
        }
        if rng.random_bool(0.05) {
            None
        } else {
            Some(self.pick_member(rng, at))
        }
    }

    /// How much happens in `[from, until)`: weekdays and office hours are
    /// busy, and use grows as content accumulates.
    fn busyness(&self, from: i64, until: i64) -> f64 {
        let from = from.max(self.activity_start);
        if until <= from {
            return 0.0;
        }
        let middle = from + (until - from) / 2;
        let day = match weekday_of(middle) {
            0 | 6 => 0.25,
            _ => 1.0,
        };
        let hour = match middle.rem_euclid(MS_PER_DAY) / MS_PER_HOUR {
            8..=17 => 1.0,
            6..=7 | 18..=21 => 0.4,
            _ => 0.1,
        };
        let growth = 1.0 + (middle - self.start) as f64 / self.span as f64;
        day * hour * growth * (until - from) as f64
    }

    /// When a schedule's `occurrence`-th run starts: its slot plus up to a
    /// minute and a half of queueing, derived from a hash so that it does not
    /// depend on the order in which runs are drawn.
    fn occurrence(&self, schedule: usize, occurrence: u64) -> i64 {
        let s = &self.schedules[schedule];
        let slot = s
            .first_run
            .saturating_add(s.period.saturating_mul(occurrence as i64));
        let jitter = mix(self.seed ^ mix(schedule as u64) ^ occurrence.rotate_left(32)) % 90_000;
        slot.saturating_add(jitter as i64)
    }

    /// The first moment a schedule no longer runs at all.
    fn schedule_stops(&self, schedule: usize) -> i64 {
        let s = &self.schedules[schedule];
        let report_deleted = self.reports[s.report].deleted;
        [s.deleted, report_deleted]
            .into_iter()
            .flatten()
            .fold(self.end, i64::min)
    }

    fn render<'a>(&'a self, item: &'a Item, run_token: &'a str) -> (&'static str, Fields<'a>) {
        let member_email = |member: usize| Some(self.members[member].email.as_str());
        match item {
            Item::Planned(index) => self.render_planned(&self.events[*index].1),
            Item::View { report, viewer } => (
                "report_viewed",
                Fields {
                    report_id: Some(self.reports[*report].id),
                    email: viewer.and_then(member_email),
                    ..Fields::default()
                },
            ),
            Item::ManualRun {
                report,
                runner,
                state,
                ..
            } => (
                "report_run",
                Fields {
                    report_id: Some(self.reports[*report].id),
                    run_token: Some(run_token),
                    trigger: Some("manual"),
                    state: Some(*state),
                    email: member_email(*runner),
                    ..Fields::default()
                },
            ),
            Item::ScheduledRun {
                schedule, state, ..
            } => {
                let schedule = &self.schedules[*schedule];
                (
                    "report_run",
                    Fields {
                        report_id: Some(self.reports[schedule.report].id),
                        run_token: Some(run_token),
                        trigger: Some("scheduled"),
                        schedule_token: Some(&schedule.token),
                        state: Some(*state),
                        ..Fields::default()
                    },
                )
            }
        }
    }

    fn render_planned<'a>(&'a self, planned: &'a Planned) -> (&'static str, Fields<'a>) {
        let member_email = |member: usize| Some(self.members[member].email.as_str());
        let report_id = |report: usize| Some(self.reports[report].id);
        let space_token = |space: usize| Some(self.spaces[space].token.as_str());
        let schedule_token = |schedule: usize| Some(self.schedules[schedule].token.as_str());
        let exploration_token =
            |exploration: usize| Some(self.explorations[exploration].token.as_str());
        match planned {
            Planned::MemberUpserted(member) => {
                let m = &self.members[*member];
                (
                    "member_upserted",
                    Fields {
                        email: Some(&m.email),
                        username: Some(&m.username),
                        name: Some(&m.name),
                        ..Fields::default()
                    },
                )
            }
            Planned::MemberRemoved(member) => (
                "member_removed",
                Fields {
                    email: member_email(*member),
                    ..Fields::default()
                },
            ),
            Planned::SpaceUpserted(space) => {
                let s = &self.spaces[*space];
                (
                    "space_upserted",
                    Fields {
                        space_token: Some(&s.token),
                        name: Some(&s.name),
                        description: s.description.as_deref(),
                        space_type: Some(s.space_type),
                        ..Fields::default()
                    },
                )
            }
            Planned::SpaceDeleted(space) => (
                "space_deleted",
                Fields {
                    space_token: space_token(*space),
                    ..Fields::default()
                },
            ),
            Planned::ReportCreated(report) => {
                let r = &self.reports[*report];
                (
                    "report_created",
                    Fields {
                        report_id: Some(r.id),
                        report_token: Some(&r.token),
                        space_token: space_token(r.created_in),
                        email: member_email(r.creator),
                        name: Some(&r.name),
                        description: r.description.as_deref(),
                        ..Fields::default()
                    },
                )
            }
            Planned::ReportEdited {
                report,
                editor,
                name,
                description,
            } => (
                "report_edited",
                Fields {
                    report_id: report_id(*report),
                    email: member_email(*editor),
                    name: name.as_deref(),
                    description: description.as_deref(),
                    ..Fields::default()
                },
            ),
            Planned::ReportMoved { report, space } => (
                "report_moved",
                Fields {
                    report_id: report_id(*report),
                    space_token: space_token(*space),
                    ..Fields::default()
                },
            ),
            Planned::ReportDeleted(report) => (
                "report_deleted",
                Fields {
                    report_id: report_id(*report),
                    ..Fields::default()
                },
            ),
            Planned::ScheduleCreated(schedule) => {
                let s = &self.schedules[*schedule];
                (
                    "schedule_created",
                    Fields {
                        schedule_token: Some(&s.token),
                        report_id: report_id(s.report),
                        email: member_email(s.creator),
                        ..Fields::default()
                    },
                )
            }
            Planned::SchedulePaused(schedule) => (
                "schedule_paused",
                Fields {
                    schedule_token: schedule_token(*schedule),
                    ..Fields::default()
                },
            ),
            Planned::ScheduleResumed(schedule) => (
                "schedule_resumed",
                Fields {
                    schedule_token: schedule_token(*schedule),
                    ..Fields::default()
                },
            ),
            Planned::ScheduleDeleted(schedule) => (
                "schedule_deleted",
                Fields {
                    schedule_token: schedule_token(*schedule),
                    ..Fields::default()
                },
            ),
            Planned::ExplorationCreated(exploration) => {
                let e = &self.explorations[*exploration];
                (
                    "exploration_created",
                    Fields {
                        exploration_token: Some(&e.token),
                        report_id: report_id(e.report),
                        email: member_email(e.creator),
                        ..Fields::default()
                    },
                )
            }
            Planned::ExplorationDeleted(exploration) => (
                "exploration_deleted",
                Fields {
                    exploration_token: exploration_token(*exploration),
                    ..Fields::default()
                },
            ),
        }
    }
}

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

#[derive(Default, Serialize)]
struct Fields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    report_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploration_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trigger: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space_type: Option<&'a str>,
}

/// Numbers the lines, writes them, and re-sends a fraction of them a little
/// later.
struct Output<W: Write> {
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
    fn new(out: W, config: &ActivityConfig) -> Self {
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

    fn write(&mut self, plan: &Plan, at: i64, item: &Item) -> io::Result<()> {
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

    fn finish(mut self) -> io::Result<u64> {
        for (_, retry) in std::mem::take(&mut self.retries) {
            self.out.write_all(&retry)?;
            self.lines += 1;
        }
        self.out.flush()?;
        Ok(self.lines)
    }
}

/// A time drawn uniformly from `[from, until)`, or none when that is empty.
fn between(rng: &mut StdRng, from: i64, until: i64) -> Option<i64> {
    (from < until).then(|| rng.random_range(from..until))
}

/// 0 is Sunday; 1970-01-01 was a Thursday.
fn weekday_of(at: i64) -> i64 {
    (at.div_euclid(MS_PER_DAY) + 4).rem_euclid(7)
}

/// SplitMix64's finaliser: turns related seeds into unrelated ones.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 12-hex-digit token like Mode's. Each step is a bijection on 48 bits
/// (xor with a key, multiplication by an odd number, an xorshift), so tokens
/// look random yet two serials never share one.
fn token(key: u64, serial: u64) -> String {
    const MASK: u64 = (1 << 48) - 1;
    let mut x = (serial ^ key) & MASK;
    for _ in 0..3 {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
        x ^= x >> 21;
    }
    format!("{x:012x}")
}

fn unique(taken: &mut HashSet<String>, wanted: String) -> String {
    if taken.insert(wanted.clone()) {
        return wanted;
    }
    (2..)
        .map(|n| format!("{wanted}{n}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or(wanted)
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn report_name(rng: &mut StdRng) -> String {
    let cadence = pick(rng, CADENCES);
    let metric = pick(rng, METRICS);
    let dimension = pick(rng, DIMENSIONS);
    match rng.random_range(0..10) {
        0..4 => format!("{cadence} {metric} by {dimension}"),
        4 => format!("{} dashboard", capitalized(metric)),
        5 => format!("{} by {dimension}", capitalized(metric)),
        6 => format!("{} funnel", capitalized(metric)),
        7 => format!("{cadence} {metric} report"),
        8 => format!("{} vs. target", capitalized(metric)),
        _ => format!("[WIP] {metric} deep dive"),
    }
}

fn report_description(rng: &mut StdRng, team: &str) -> String {
    let table = pick(rng, METRICS).replace(' ', "_").to_lowercase();
    match rng.random_range(0..3) {
        0 => format!(
            "Source: analytics.{table}. Refreshed {}.",
            pick(rng, CADENCES).to_lowercase()
        ),
        1 => format!("Owned by the {team} team. Ask in #data before changing filters."),
        _ => "Excludes test accounts and internal users.".to_owned(),
    }
}

fn edit_description(rng: &mut StdRng) -> String {
    match rng.random_range(0..3) {
        0 => format!("Added a filter on {}.", pick(rng, DIMENSIONS)),
        1 => format!("Fixed double counting of {}.", pick(rng, METRICS)),
        _ => format!(
            "Now reads from analytics.{}_v2.",
            pick(rng, METRICS).replace(' ', "_").to_lowercase()
        ),
    }
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Alex", "Amara", "Ben", "Carla", "Chen", "Dana", "Diego", "Elena", "Farah", "Grace",
    "Hana", "Ibrahim", "Isla", "Jamal", "Jonas", "Kai", "Lena", "Liam", "Maya", "Mateo", "Nadia",
    "Noah", "Olivia", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sam", "Sofia", "Tariq", "Uma",
    "Victor", "Wei", "Yara", "Yusuf", "Zoe",
];

const LAST_NAMES: &[&str] = &[
    "Adams",
    "Bauer",
    "Chen",
    "Costa",
    "Diaz",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kim",
    "Kowalski",
    "Lopez",
    "Martin",
    "Moreau",
    "Nakamura",
    "Novak",
    "O'Brien",
    "Okafor",
    "Patel",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Tanaka",
    "Underwood",
    "Varga",
    "Wagner",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zhang",
];

/// The first is the workspace-wide community space.
const TEAM_SPACES: &[&str] = &[
    "Community",
    "Finance",
    "Growth Marketing",
    "Product Analytics",
    "Sales Operations",
    "Customer Success",
    "Data Platform",
    "Executive Dashboards",
    "People Ops",
    "Supply Chain",
    "Engineering Metrics",
    "Support",
    "Partnerships",
    "Revenue Operations",
    "Payments",
    "Experimentation",
];

const CADENCES: &[&str] = &[
    "Daily",
    "Weekly",
    "Monthly",
    "Quarterly",
    "Year-over-year",
    "Rolling 28-day",
];

const METRICS: &[&str] = &[
    "revenue",
    "active users",
    "signups",
    "churn",
    "orders",
    "conversion rate",
    "retention",
    "ARR",
    "pipeline",
    "support tickets",
    "NPS",
    "refunds",
    "page views",
    "trial starts",
    "inventory levels",
    "ad spend",
    "CAC",
    "session length",
    "gross margin",
    "net dollar retention",
];

const DIMENSIONS: &[&str] = &[
    "region",
    "plan",
    "channel",
    "product line",
    "country",
    "cohort",
    "sales rep",
    "device",
    "customer segment",
    "campaign",
    "warehouse",
    "team",
    "pricing tier",
];

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::OnceLock;

    use super::*;
    use crate::domain::event::RunTrigger;
    use crate::domain::{Email, Event, EventKind, Position, ReportId, Token};

    fn end() -> Timestamp {
        Timestamp::parse("2026-11-01T12:00:00Z").unwrap()
    }

    fn generate(config: &ActivityConfig) -> (Vec<u8>, u64) {
        let mut out = Vec::new();
        let lines = write_activity(config, &mut out).unwrap();
        (out, lines)
    }

    fn parse_all(config: &ActivityConfig, ndjson: &[u8]) -> Vec<Event> {
        let text = std::str::from_utf8(ndjson).unwrap();
        assert!(text.ends_with('\n'));
        text.lines()
            .enumerate()
            .map(|(index, line)| {
                Event::parse(line, Position::Line(index + 1), config.end)
                    .unwrap_or_else(|error| panic!("{error}: {line}"))
            })
            .collect()
    }

    /// The demo is generated once and shared: the tests only read it.
    fn demo() -> &'static (ActivityConfig, Vec<u8>, Vec<Event>) {
        static DEMO: OnceLock<(ActivityConfig, Vec<u8>, Vec<Event>)> = OnceLock::new();
        DEMO.get_or_init(|| {
            let config = ActivityConfig::demo(end());
            let (ndjson, lines) = generate(&config);
            let events = parse_all(&config, &ndjson);
            assert_eq!(events.len() as u64, lines);
            (config, ndjson, events)
        })
    }

    fn count(events: &[Event], type_name: &str) -> usize {
        events
            .iter()
            .filter(|event| event.kind.type_name() == type_name)
            .count()
    }

    #[test]
    fn every_line_of_the_demo_parses_as_an_event() {
        let (config, _, events) = demo();
        assert_eq!(count(events, "report_created"), config.reports);
        assert_eq!(count(events, "report_viewed"), config.views);
        for type_name in [
            "member_upserted",
            "member_removed",
            "space_upserted",
            "space_deleted",
            "report_edited",
            "report_moved",
            "report_deleted",
            "report_run",
            "schedule_created",
            "schedule_paused",
            "schedule_resumed",
            "schedule_deleted",
            "exploration_created",
            "exploration_deleted",
        ] {
            assert!(count(events, type_name) > 0, "no {type_name} events");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let (config, ndjson, _) = demo();
        assert_eq!(&generate(config).0, ndjson);
        let other = ActivityConfig {
            seed: config.seed + 1,
            ..config.clone()
        };
        assert_ne!(&generate(&other).0, ndjson);
    }

    #[test]
    fn every_event_happens_within_the_period_and_in_time_order() {
        let (config, _, events) = demo();
        let start = config.end.saturating_sub_days(config.days);
        for event in events {
            assert!(
                start <= event.occurred_at && event.occurred_at <= config.end,
                "{event:?}"
            );
        }
        assert!(
            events
                .windows(2)
                .all(|pair| pair[0].occurred_at <= pair[1].occurred_at)
        );
    }

    #[test]
    fn event_ids_report_ids_and_report_tokens_are_unique() {
        let (_, _, events) = demo();
        let ids: HashSet<&str> = events.iter().map(|event| event.id.as_str()).collect();
        assert_eq!(ids.len(), events.len());
        let mut report_ids = HashSet::new();
        let mut report_tokens = HashSet::new();
        for event in events {
            if let EventKind::ReportCreated {
                report_id,
                report_token,
                ..
            } = &event.kind
            {
                assert!(report_ids.insert(report_id.get()));
                assert!(report_tokens.insert(report_token.as_str()));
            }
        }
    }

    #[test]
    fn views_favour_a_few_popular_reports() {
        let (_, _, events) = demo();
        let mut views: HashMap<i64, usize> = HashMap::new();
        let mut anonymous = 0;
        for event in events {
            if let EventKind::ReportViewed { report_id, email } = &event.kind {
                *views.entry(report_id.get()).or_default() += 1;
                anonymous += usize::from(email.is_none());
            }
        }
        let mut counts: Vec<usize> = views.into_values().collect();
        counts.sort_unstable();
        let median = counts[counts.len() / 2];
        let most = counts[counts.len() - 1];
        assert!(
            most >= 20 * median.max(1),
            "most viewed {most}, median {median}"
        );
        let share = anonymous as f64 / count(events, "report_viewed") as f64;
        assert!((0.01..0.10).contains(&share), "anonymous share {share}");
    }

    #[test]
    fn references_are_consistent_at_the_time_of_each_event() {
        let (_, _, events) = demo();
        let mut members: HashMap<&str, (Timestamp, Option<Timestamp>)> = HashMap::new();
        let mut spaces: HashMap<&str, (Timestamp, Option<Timestamp>)> = HashMap::new();
        let mut reports: HashMap<i64, (Timestamp, Option<Timestamp>)> = HashMap::new();
        let mut schedules: HashMap<&str, Timestamp> = HashMap::new();
        for event in events {
            let at = event.occurred_at;
            match &event.kind {
                EventKind::MemberUpserted { email, .. } => {
                    members.insert(email.as_str(), (at, None));
                }
                EventKind::MemberRemoved { email } => {
                    members.get_mut(email.as_str()).unwrap().1 = Some(at)
                }
                EventKind::SpaceUpserted { space_token, .. } => {
                    spaces.insert(space_token.as_str(), (at, None));
                }
                EventKind::SpaceDeleted { space_token } => {
                    spaces.get_mut(space_token.as_str()).unwrap().1 = Some(at)
                }
                EventKind::ReportCreated { report_id, .. } => {
                    reports.insert(report_id.get(), (at, None));
                }
                EventKind::ReportDeleted { report_id } => {
                    reports.get_mut(&report_id.get()).unwrap().1 = Some(at)
                }
                EventKind::ScheduleCreated { schedule_token, .. } => {
                    schedules.insert(schedule_token.as_str(), at);
                }
                _ => {}
            }
        }
        let exists = |lifetime: Option<&(Timestamp, Option<Timestamp>)>, at: Timestamp| {
            lifetime
                .is_some_and(|(from, until)| *from <= at && until.is_none_or(|until| at < until))
        };
        let mut paused: HashSet<&str> = HashSet::new();
        let mut deleted: HashSet<&str> = HashSet::new();
        for event in events {
            let at = event.occurred_at;
            let member = |email: &Email| exists(members.get(email.as_str()), at);
            let report = |id: &ReportId| exists(reports.get(&id.get()), at);
            let space = |token: &Token| exists(spaces.get(token.as_str()), at);
            let ok = match &event.kind {
                EventKind::ReportCreated {
                    space_token, email, ..
                } => space(space_token) && member(email),
                EventKind::ReportEdited {
                    report_id, email, ..
                } => report(report_id) && member(email),
                EventKind::ReportMoved {
                    report_id,
                    space_token,
                } => report(report_id) && space(space_token),
                EventKind::ReportViewed { report_id, email } => {
                    report(report_id) && email.as_ref().is_none_or(member)
                }
                EventKind::ReportRun {
                    report_id, trigger, ..
                } => {
                    report(report_id)
                        && match trigger {
                            RunTrigger::Manual { email } => member(email),
                            RunTrigger::Scheduled { schedule_token } => {
                                let token = schedule_token.as_str();
                                schedules.get(token).is_some_and(|created| *created < at)
                                    && !paused.contains(token)
                                    && !deleted.contains(token)
                            }
                        }
                }
                EventKind::ScheduleCreated {
                    report_id, email, ..
                }
                | EventKind::ExplorationCreated {
                    report_id, email, ..
                } => report(report_id) && member(email),
                EventKind::SchedulePaused { schedule_token } => {
                    paused.insert(schedule_token.as_str())
                }
                EventKind::ScheduleResumed { schedule_token } => {
                    paused.remove(schedule_token.as_str())
                }
                EventKind::ScheduleDeleted { schedule_token } => {
                    deleted.insert(schedule_token.as_str())
                }
                _ => true,
            };
            assert!(ok, "inconsistent at its time: {event:?}");
        }
    }

    #[test]
    fn manual_runs_fall_both_inside_and_outside_the_recent_window() {
        let (config, _, events) = demo();
        let recent_from = config.end.saturating_sub_days(90);
        let manual_runs: Vec<&Event> = events
            .iter()
            .filter(|event| {
                matches!(
                    &event.kind,
                    EventKind::ReportRun {
                        trigger: RunTrigger::Manual { .. },
                        ..
                    }
                )
            })
            .collect();
        assert!(manual_runs.iter().any(|run| run.occurred_at < recent_from));
        assert!(manual_runs.iter().any(|run| run.occurred_at >= recent_from));
    }

    #[test]
    fn retries_repeat_earlier_lines_verbatim_and_are_counted() {
        let config = ActivityConfig {
            views: 2_000,
            reports: 50,
            members: 12,
            duplicate_fraction: 0.1,
            ..ActivityConfig::demo(end())
        };
        let (ndjson, lines) = generate(&config);
        let text = std::str::from_utf8(&ndjson).unwrap();
        assert_eq!(text.lines().count() as u64, lines);
        let mut seen = HashSet::new();
        let mut repeated = 0;
        for line in text.lines() {
            if !seen.insert(line) {
                repeated += 1;
            }
        }
        let share = repeated as f64 / seen.len() as f64;
        assert!((0.07..0.13).contains(&share), "retried share {share}");
        parse_all(&config, &ndjson);
    }

    #[test]
    fn tiny_workspaces_still_produce_valid_events() {
        let tiny = ActivityConfig {
            reports: 1,
            members: 1,
            shared_spaces: 0,
            views: 100,
            days: 1,
            ..ActivityConfig::demo(end())
        };
        let (ndjson, lines) = generate(&tiny);
        assert_eq!(parse_all(&tiny, &ndjson).len() as u64, lines);

        let empty = ActivityConfig {
            reports: 0,
            views: 0,
            ..tiny.clone()
        };
        let (ndjson, _) = generate(&empty);
        assert!(parse_all(&empty, &ndjson).iter().all(|event| matches!(
            event.kind,
            EventKind::MemberUpserted { .. } | EventKind::SpaceUpserted { .. }
        )));
    }

    #[test]
    fn impossible_configurations_are_refused() {
        let demo = ActivityConfig::demo(end());
        for config in [
            ActivityConfig {
                members: 0,
                ..demo.clone()
            },
            ActivityConfig {
                days: 0,
                ..demo.clone()
            },
            ActivityConfig {
                reports: 0,
                ..demo.clone()
            },
            ActivityConfig {
                duplicate_fraction: 1.5,
                ..demo.clone()
            },
            ActivityConfig {
                company_domain: "a@b".to_owned(),
                ..demo.clone()
            },
            ActivityConfig {
                end: Timestamp::EPOCH,
                ..demo.clone()
            },
        ] {
            let error = write_activity(&config, &mut Vec::new()).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{config:?}");
        }
    }

    #[test]
    fn tokens_never_collide_within_a_kind() {
        let tokens: HashSet<String> = (0..100_000)
            .map(|serial| token(0xDEAD_BEEF, serial))
            .collect();
        assert_eq!(tokens.len(), 100_000);
        assert!(tokens.iter().all(|token| token.len() == 12));
    }
}
