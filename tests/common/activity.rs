//! A varied, seeded stream of events for the storage tests, made here so
//! that they do not depend on the demo generator: members (a few removed),
//! team spaces and every member's personal space (one team space deleted,
//! one renamed), reports created, edited, moved and deleted, views (some
//! anonymous), manual and scheduled runs, schedules paused, resumed and
//! deleted, explorations created and deleted, and retries of some lines.
//!
//! Times are drawn uniformly over the period, so an event may come before
//! what it refers to; the service counts it once that exists (SPEC
//! section 3), and the tests compare with a reference computed from the
//! same events.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reportstats::domain::Timestamp;
use serde_json::{Value, json};

/// What to make. Every count is of distinct events; retries come on top.
#[derive(Clone, Debug)]
pub struct Activity {
    /// Same seed, same lines.
    pub seed: u64,
    pub members: usize,
    /// Team spaces, besides every member's personal space.
    pub team_spaces: usize,
    pub reports: usize,
    pub views: usize,
    pub manual_runs: usize,
    /// Runs of the schedules (about one report in three has one).
    pub scheduled_runs: usize,
    /// The newest `occurred_at`; the period is the `days` before it.
    pub end: Timestamp,
    pub days: u32,
    /// Fraction of lines sent again, verbatim, up to 64 lines later, as a
    /// client retrying a batch would.
    pub duplicate_fraction: f64,
}

impl Activity {
    /// The NDJSON lines, in time order but for the retries.
    pub fn lines(&self) -> Vec<String> {
        let mut stream = Stream {
            rng: StdRng::seed_from_u64(self.seed),
            end: self.end.as_micros() / 1_000,
            span: i64::from(self.days) * 86_400_000,
            events: Vec::new(),
        };
        let member = |index: usize| format!("member{index}@example.com");
        let personal = |member: usize| format!("personal{member}");
        let team = |space: usize| format!("team{space}");

        for index in 0..self.members {
            let joined = json!({
                "type": "member_upserted", "email": member(index),
                "username": format!("m{index}"), "name": format!("Member {index}"),
            });
            let space = json!({
                "type": "space_upserted", "space_token": personal(index),
                "name": format!("Member {index} (personal)"), "space_type": "private",
            });
            stream.early(joined);
            stream.early(space);
            if index % 15 == 14 {
                stream.late(json!({"type": "member_removed", "email": member(index)}));
            }
        }
        for index in 0..self.team_spaces {
            let space_type = if index == 0 { "community" } else { "custom" };
            let space = json!({
                "type": "space_upserted", "space_token": team(index),
                "name": format!("Team {index}"), "description": "Reports of one team.",
                "space_type": space_type,
            });
            stream.early(space);
        }
        if self.team_spaces >= 3 {
            let renamed = json!({
                "type": "space_upserted", "space_token": team(1), "name": "Team 1, renamed",
            });
            stream.anytime(renamed);
            stream.late(json!({"type": "space_deleted", "space_token": team(2)}));
        }

        // Ids grow with gaps, as other workspaces take the ids in between.
        let report_ids: Vec<u64> = (0..self.reports as u64)
            .map(|n| 1001 + n * 3 + n % 2)
            .collect();
        let mut schedules: Vec<(String, u64)> = Vec::new();
        for (index, &report) in report_ids.iter().enumerate() {
            let creator = stream.pick(self.members);
            let space = if self.team_spaces == 0 || stream.chance(0.2) {
                personal(creator)
            } else {
                team(stream.pick(self.team_spaces))
            };
            let created = json!({
                "type": "report_created", "report_id": report, "report_token": format!("r{report}"),
                "space_token": space, "email": member(creator), "name": format!("Report {report}"),
                "description": "Weekly numbers.",
            });
            stream.anytime(created);
            for edit in 0..stream.pick(4) {
                let editor = member(stream.pick(self.members));
                let mut edited =
                    json!({"type": "report_edited", "report_id": report, "email": editor});
                if edit == 1 {
                    edited["name"] = format!("Report {report} v2").into();
                }
                stream.anytime(edited);
            }
            if stream.chance(0.15) {
                // Published from a personal space, or made private again.
                let space = match stream.pick(self.team_spaces + 1) {
                    0 => personal(creator),
                    space => team(space - 1),
                };
                stream.anytime(
                    json!({"type": "report_moved", "report_id": report, "space_token": space}),
                );
            }
            if index > 0 && stream.chance(0.03) {
                stream.late(json!({"type": "report_deleted", "report_id": report}));
            }
            if stream.chance(0.3) {
                let schedule = format!("s{report}");
                let creator = member(stream.pick(self.members));
                let created = json!({
                    "type": "schedule_created", "schedule_token": schedule, "report_id": report,
                    "email": creator,
                });
                stream.early(created);
                let changes: &[&str] = match stream.pick(20) {
                    0..=2 => &["schedule_paused"],
                    3..=4 => &["schedule_paused", "schedule_resumed"],
                    5 => &["schedule_deleted"],
                    _ => &[],
                };
                for kind in changes {
                    stream.anytime(json!({"type": kind, "schedule_token": schedule}));
                }
                schedules.push((schedule, report));
            }
        }
        for index in 0..self.reports / 2 {
            let exploration = format!("x{index}");
            let (report, creator) = (stream.popular(&report_ids), stream.pick(self.members));
            let created = json!({
                "type": "exploration_created", "exploration_token": exploration,
                "report_id": report, "email": member(creator),
            });
            stream.anytime(created);
            if stream.chance(0.1) {
                stream
                    .late(json!({"type": "exploration_deleted", "exploration_token": exploration}));
            }
        }

        for _ in 0..self.views {
            let report = stream.popular(&report_ids);
            let mut viewed = json!({"type": "report_viewed", "report_id": report});
            // A few views come from shared links, without a member.
            if !stream.chance(0.05) {
                viewed["email"] = member(stream.pick(self.members)).into();
            }
            stream.anytime(viewed);
        }
        for run in 0..self.manual_runs {
            let (report, runner) = (stream.popular(&report_ids), stream.pick(self.members));
            let state = ["succeeded", "succeeded", "failed", "cancelled"][stream.pick(4)];
            let ran = json!({
                "type": "report_run", "report_id": report, "run_token": format!("manual{run}"),
                "trigger": "manual", "email": member(runner), "state": state,
            });
            stream.anytime(ran);
        }
        for run in 0..self.scheduled_runs {
            let Some((schedule, report)) = schedules.get(stream.pick(schedules.len())) else {
                break;
            };
            let state = if stream.chance(0.94) {
                "succeeded"
            } else {
                "failed"
            };
            let ran = json!({
                "type": "report_run", "report_id": report, "run_token": format!("scheduled{run}"),
                "trigger": "scheduled", "schedule_token": schedule, "state": state,
            });
            stream.anytime(ran);
        }
        stream.into_lines(self.seed, self.duplicate_fraction)
    }
}

/// The events drawn so far, each with its time in milliseconds.
struct Stream {
    rng: StdRng,
    end: i64,
    span: i64,
    events: Vec<(i64, Value)>,
}

impl Stream {
    /// Adds `event` in the period's first tenth, when the workspace is set up.
    fn early(&mut self, event: Value) {
        let start = self.end - self.span;
        let at = self.rng.random_range(start..start + self.span / 10);
        self.events.push((at, event));
    }

    /// Adds `event` in the period's last fifth, when things end.
    fn late(&mut self, event: Value) {
        let at = self.rng.random_range(self.end - self.span / 5..self.end);
        self.events.push((at, event));
    }

    /// Adds `event` at any time of the period.
    fn anytime(&mut self, event: Value) {
        let at = self.rng.random_range(self.end - self.span..self.end);
        self.events.push((at, event));
    }

    fn pick(&mut self, count: usize) -> usize {
        self.rng.random_range(0..count.max(1))
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.rng.random_bool(probability)
    }

    /// One of `ids`, the first ones far more often than the last, as a few
    /// reports get most of the attention.
    fn popular(&mut self, ids: &[u64]) -> u64 {
        let skewed = self.rng.random::<f64>().powi(3);
        ids[(skewed * ids.len() as f64) as usize]
    }

    /// Sorted by time, numbered, and with retries a few lines after their
    /// original.
    fn into_lines(mut self, seed: u64, duplicate_fraction: f64) -> Vec<String> {
        self.events.sort_by_key(|(at, _)| *at);
        // Each line with where it goes: its own position, or for a retry a
        // later one, after the line at that position.
        let mut lines: Vec<((usize, bool), String)> = Vec::new();
        let events = std::mem::take(&mut self.events);
        for (position, (at, mut event)) in events.into_iter().enumerate() {
            event["id"] = format!("act-{seed}-{position:07}").into();
            event["occurred_at"] = Timestamp::from_micros(at * 1_000).to_string().into();
            let line = event.to_string();
            if self.rng.random_bool(duplicate_fraction) {
                let due = position + self.rng.random_range(1..=64);
                lines.push(((due, true), line.clone()));
            }
            lines.push(((position, false), line));
        }
        lines.sort_by_key(|(place, _)| *place);
        lines.into_iter().map(|(_, line)| line).collect()
    }
}
