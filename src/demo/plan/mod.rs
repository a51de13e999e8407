//! The planning phase: everything decided before streaming, and the draws
//! that both phases make from it.
//!
//! [`Plan::new`] draws the entities in a fixed order (team spaces, members,
//! reports, their moves and edits, schedules, explorations) from one random
//! stream seeded by the configuration, so the same configuration always
//! gives the same plan. Queries and charts come from a second stream, also
//! seeded by the configuration, so that adding them left everything else
//! as it was, and they stay the same when only `views` changes. Each kind
//! of entity is planned in a file of its own.

mod people;
mod queries;
mod reports;
mod schedules;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::ActivityConfig;
use super::entities::{Chart, Exploration, Member, Planned, Query, Report, Schedule, Space};
use super::random::{Zipf, mix, token};
use super::time::{MS_PER_DAY, MS_PER_HOUR, weekday_of};

/// One exploration per this many views, on top of one per two reports.
const VIEWS_PER_EXPLORATION: usize = 500;
/// Seeds the random stream of queries and charts.
const QUERY_SALT: u64 = 0x0051_5545_5249_4553;
/// Rejection sampling gives up after this many draws and falls back to the
/// member or report that exists from the start, so a draw never loops long.
const MAX_ATTEMPTS: usize = 32;

/// Kinds of token, each with its own key so that each kind's tokens are
/// unique among themselves.
#[derive(Clone, Copy)]
pub(crate) enum TokenKind {
    Space = 1,
    Report = 2,
    Schedule = 3,
    Run = 4,
    Exploration = 5,
    Query = 6,
    Chart = 7,
}

/// Everything decided before streaming: entities, their lifecycle events
/// sorted by time, and the popularity tables that views are drawn from.
pub(crate) struct Plan {
    seed: u64,
    pub(crate) start: i64,
    end: i64,
    pub(crate) span: i64,
    /// Views and manual runs start just after the first report exists.
    pub(crate) activity_start: i64,
    shared_spaces: usize,
    pub(crate) members: Vec<Member>,
    pub(crate) spaces: Vec<Space>,
    pub(crate) reports: Vec<Report>,
    pub(crate) schedules: Vec<Schedule>,
    pub(crate) explorations: Vec<Exploration>,
    pub(crate) queries: Vec<Query>,
    pub(crate) charts: Vec<Chart>,
    pub(crate) events: Vec<(i64, Planned)>,
    member_activity: Zipf,
    space_popularity: Zipf,
    report_popularity: Zipf,
    /// The reports that start trending at some point (see
    /// [`Interest`](super::entities::Interest)).
    trending: Vec<usize>,
}

/// The share of views and manual runs that go to trending reports, while
/// any trends.
const TRENDING_SHARE: f64 = 0.12;

impl Plan {
    pub(crate) fn new(config: &ActivityConfig) -> Plan {
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
            queries: Vec::new(),
            charts: Vec::new(),
            events: Vec::new(),
            member_activity,
            space_popularity,
            report_popularity,
            trending: Vec::new(),
        };
        plan.plan_shared_spaces(&mut rng);
        plan.plan_members(config, &mut rng);
        plan.plan_reports(config.reports, &mut rng);
        plan.plan_moves(&mut rng);
        plan.plan_edits(&mut rng);
        plan.plan_queries(&mut StdRng::seed_from_u64(mix(config.seed ^ QUERY_SALT)));
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

    pub(crate) fn token(&self, kind: TokenKind, serial: u64) -> String {
        token(
            mix(self.seed ^ (kind as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            serial,
        )
    }

    /// A member who can act at `at`, favouring the most active people. The
    /// first member joined at the start and is never removed.
    pub(crate) fn pick_member(&self, rng: &mut StdRng, at: i64) -> usize {
        (0..MAX_ATTEMPTS)
            .map(|_| self.member_activity.sample(rng, self.members.len()))
            .find(|&member| self.members[member].active_at(at))
            .unwrap_or(0)
    }

    /// A report that exists at `at`, drawn by popularity among the `top`
    /// most popular. The first report is never deleted.
    pub(crate) fn pick_report(&self, rng: &mut StdRng, at: i64, top: usize) -> usize {
        (0..MAX_ATTEMPTS)
            .map(|_| self.report_popularity.sample(rng, top))
            .find(|&report| self.reports[report].exists_at(at))
            .unwrap_or(0)
    }

    /// A report someone opens or runs at `at`: by popularity, except that
    /// a report gone stale is not opened any more, and trending reports
    /// draw a share of their own.
    pub(crate) fn pick_used_report(&self, rng: &mut StdRng, at: i64) -> usize {
        if !self.trending.is_empty() && rng.random_bool(TRENDING_SHARE) {
            let report = self.trending[rng.random_range(0..self.trending.len())];
            if self.reports[report].trends_at(at) {
                return report;
            }
        }
        (0..MAX_ATTEMPTS)
            .map(|_| self.report_popularity.sample(rng, self.reports.len()))
            .find(|&report| self.reports[report].viewed_at(at))
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
    pub(crate) fn pick_viewer(&self, rng: &mut StdRng, report: usize, at: i64) -> Option<usize> {
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
    pub(crate) fn busyness(&self, from: i64, until: i64) -> f64 {
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
    pub(crate) fn occurrence(&self, schedule: usize, occurrence: u64) -> i64 {
        let s = &self.schedules[schedule];
        let slot = s
            .first_run
            .saturating_add(s.period.saturating_mul(occurrence as i64));
        let jitter = mix(self.seed ^ mix(schedule as u64) ^ occurrence.rotate_left(32)) % 90_000;
        slot.saturating_add(jitter as i64)
    }

    /// The first moment a schedule no longer runs at all.
    pub(crate) fn schedule_stops(&self, schedule: usize) -> i64 {
        let s = &self.schedules[schedule];
        let report_deleted = self.reports[s.report].deleted;
        [s.deleted, report_deleted]
            .into_iter()
            .flatten()
            .fold(self.end, i64::min)
    }
}
