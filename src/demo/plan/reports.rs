//! Planning the reports: when each is created, by whom and where, the
//! moves that publish drafts and empty a deleted space, the edits, and
//! the few deletions.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Plan, TokenKind};
use crate::demo::entities::{Interest, Planned, Report};
use crate::demo::random::{between, mix};
use crate::demo::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE};
use crate::demo::topics::Topic;
use crate::demo::words::{edit_description, report_description};

/// Salts the seed of the draws of reports' [`Interest`].
const INTEREST_SALT: u64 = 0x0049_4E54_4552_4553;

impl Plan {
    pub(super) fn plan_reports(&mut self, count: usize, rng: &mut StdRng) {
        let setup_end = self.setup_end();
        // Drawn apart, so that the other draws stay as they were.
        let mut interest_rng = StdRng::seed_from_u64(mix(self.seed ^ INTEREST_SALT));
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
            let topic = Topic::draw(rng);
            let name = topic.report_name();
            let description = rng.random_bool(0.4).then(|| {
                let team = if private_until == self.start {
                    self.spaces[space].name.as_str()
                } else {
                    "analytics"
                };
                report_description(rng, team)
            });
            let interest = self.draw_interest(&mut interest_rng, index, created);
            self.reports.push(Report {
                id,
                token: self.token(TokenKind::Report, index as u64),
                name,
                topic,
                description,
                creator,
                created_in: space,
                created,
                deleted,
                private_until,
                moves: Vec::new(),
                interest,
            });
            if let Interest::TrendsFrom(_) = interest {
                self.trending.push(index);
            }
            self.events.push((created, Planned::ReportCreated(index)));
            if let Some(deleted) = deleted {
                self.events.push((deleted, Planned::ReportDeleted(index)));
            }
        }
        if let Some(first) = self.reports.first() {
            self.activity_start = (first.created + MS_PER_MINUTE).min(self.end);
        }
    }

    /// About one report in six goes stale some time after it was made;
    /// about one in twenty starts trending in the period's last two weeks.
    /// The first report stays steady: it is what a draw falls back on.
    fn draw_interest(&self, rng: &mut StdRng, index: usize, created: i64) -> Interest {
        if index == 0 {
            return Interest::Steady;
        }
        let roll = rng.random_range(0..100);
        let trend_window = (14 * MS_PER_DAY).min(self.span / 4);
        match roll {
            0..17 => between(rng, created + self.span / 20, self.end - self.span / 10)
                .map_or(Interest::Steady, Interest::FadesAt),
            17..22 => between(rng, (self.end - trend_window).max(created), self.end)
                .map_or(Interest::Steady, Interest::TrendsFrom),
            _ => Interest::Steady,
        }
    }

    pub(super) fn plan_moves(&mut self, rng: &mut StdRng) {
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

    pub(super) fn plan_edits(&mut self, rng: &mut StdRng) {
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
                        base_name = Topic::draw(rng).report_name();
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
}
