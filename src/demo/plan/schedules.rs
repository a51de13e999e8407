//! Planning what follows a report: its schedules (daily or weekly, some
//! paused, resumed or deleted) and the explorations started from it.

use rand::Rng;
use rand::rngs::StdRng;

use super::{Plan, TokenKind};
use crate::demo::entities::{Exploration, Planned, Schedule};
use crate::demo::random::between;
use crate::demo::time::{MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, weekday_of};

impl Plan {
    pub(super) fn plan_schedules(&mut self, rng: &mut StdRng) {
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

    pub(super) fn plan_explorations(&mut self, count: usize, rng: &mut StdRng) {
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
}
