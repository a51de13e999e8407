//! Planning the queries of each report and the charts of each query: who
//! writes them and when, their later edits, and the few deletions.
//!
//! A report is saved with its first query, about what the report's name
//! says; most get a few more while they are being built or when they are
//! edited later. Queries and charts are written by the report's creator or
//! by one of its editors, only while the report exists and its author is a
//! member. A deleted report keeps its queries, as a deleted report in Mode
//! does: they are no longer listed, since their report is not.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};

use super::{Plan, TokenKind};
use crate::demo::entities::{Chart, Planned, Query};
use crate::demo::random::between;
use crate::demo::sql::{DATA_SOURCES, DataSource, QuerySpec};
use crate::demo::time::{MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND, year_of};
use crate::demo::topics::METRICS;

/// The people who work on a report: its creator, and each of its edits
/// with its time and editor.
struct Authors<'a> {
    creator: usize,
    edits: &'a [(i64, usize)],
}

impl Plan {
    pub(super) fn plan_queries(&mut self, rng: &mut StdRng) {
        let sources = data_sources(rng);
        let mut edits: Vec<Vec<(i64, usize)>> = vec![Vec::new(); self.reports.len()];
        for (at, event) in &self.events {
            if let Planned::ReportEdited { report, editor, .. } = event {
                edits[*report].push((*at, *editor));
            }
        }
        for (report, edits) in edits.iter().enumerate() {
            let authors = Authors {
                creator: self.reports[report].creator,
                edits,
            };
            self.plan_report_queries(rng, report, &authors, &sources);
        }
    }

    fn plan_report_queries(
        &mut self,
        rng: &mut StdRng,
        report: usize,
        authors: &Authors,
        sources: &[&'static DataSource],
    ) {
        let r = &self.reports[report];
        let (created, topic) = (r.created, r.topic);
        let life_end = r.deleted.unwrap_or(self.end);
        // A report's queries mostly read one database.
        let home = pick_source(rng, sources);
        let count = match rng.random_range(0..100) {
            0..40 => 1,
            40..70 => 2,
            70..87 => 3,
            87..97 => 4,
            _ => rng.random_range(5..=7),
        };
        for position in 0..count {
            let (at, author) = match (position, rng.random_range(0..10)) {
                (0, _) => (
                    between(
                        rng,
                        created + 5 * MS_PER_SECOND,
                        (created + 5 * MS_PER_MINUTE).min(life_end),
                    ),
                    Some(authors.creator),
                ),
                // Added while the report is being built...
                (_, 0..5) => (
                    between(
                        rng,
                        created + MS_PER_MINUTE,
                        (created + 2 * MS_PER_HOUR).min(life_end),
                    ),
                    None,
                ),
                // ...as part of a later edit...
                (_, 5..8) if !authors.edits.is_empty() => {
                    let (edited, editor) = authors.edits[rng.random_range(0..authors.edits.len())];
                    let at = edited + rng.random_range(MS_PER_SECOND..10 * MS_PER_MINUTE);
                    (Some(at), Some(editor))
                }
                // ...or some day while the report is still young.
                _ => (
                    between(
                        rng,
                        created + MS_PER_HOUR,
                        created + (life_end - created) / 2,
                    ),
                    None,
                ),
            };
            let Some(at) = at.filter(|at| *at < life_end) else {
                continue;
            };
            let author = author
                .filter(|author| self.members[*author].active_at(at))
                .or_else(|| self.pick_author(rng, authors, at));
            let Some(author) = author else {
                continue;
            };
            let year = year_of(at);
            let spec = if position == 0 {
                QuerySpec::for_topic(topic, home, rng.random(), year)
            } else {
                let metric = if rng.random_bool(0.7) {
                    topic.metric
                } else {
                    rng.random_range(0..METRICS.len()) as u8
                };
                let source = if rng.random_bool(0.85) {
                    home
                } else {
                    pick_source(rng, sources)
                };
                QuerySpec::draw(rng, metric, source, year)
            };
            // Mode names a new query "Query 2"; some are never renamed.
            let name = if position > 0 && rng.random_bool(0.08) {
                format!("Query {}", position + 1)
            } else {
                spec.name(rng)
            };
            let deleted = if position > 0 && rng.random_bool(0.1) {
                between(rng, at + 10 * MS_PER_MINUTE, life_end)
            } else {
                None
            };
            let query = self.queries.len();
            self.queries.push(Query {
                token: self.token(TokenKind::Query, query as u64),
                report,
                creator: author,
                name: name.clone(),
                spec,
            });
            self.events.push((at, Planned::QueryCreated(query)));
            let query_end = deleted.unwrap_or(life_end);
            self.plan_query_edits(rng, query, authors, sources, (at, query_end));
            self.plan_charts(rng, query, authors, (at, query_end));
            if let Some(deleted) = deleted {
                self.events.push((deleted, Planned::QueryDeleted(query)));
            }
        }
    }

    /// A member who may work on the report at `at`: its creator more often
    /// than not, else one of its editors; none when all of them have left.
    fn pick_author(&self, rng: &mut StdRng, authors: &Authors, at: i64) -> Option<usize> {
        let creator_active = self.members[authors.creator].active_at(at);
        if creator_active && (authors.edits.is_empty() || rng.random_bool(0.6)) {
            return Some(authors.creator);
        }
        let active = |&&(_, editor): &&(i64, usize)| self.members[editor].active_at(at);
        let editors = authors.edits.iter().filter(active).count();
        if editors > 0 {
            let nth = rng.random_range(0..editors);
            return authors
                .edits
                .iter()
                .filter(active)
                .nth(nth)
                .map(|(_, e)| *e);
        }
        creator_active.then_some(authors.creator)
    }

    /// The query's author, when still a member, or another of the report's.
    fn pick_reviser(
        &self,
        rng: &mut StdRng,
        author: usize,
        authors: &Authors,
        at: i64,
    ) -> Option<usize> {
        if self.members[author].active_at(at) && rng.random_bool(0.6) {
            Some(author)
        } else {
            self.pick_author(rng, authors, at)
        }
    }

    fn plan_query_edits(
        &mut self,
        rng: &mut StdRng,
        query: usize,
        authors: &Authors,
        sources: &[&'static DataSource],
        (created, query_end): (i64, i64),
    ) {
        let mut edits = 0;
        while edits < 8 && rng.random_bool(0.35) {
            edits += 1;
        }
        let mut times: Vec<i64> = (0..edits)
            .filter_map(|_| between(rng, created + MS_PER_MINUTE, query_end))
            .collect();
        times.sort_unstable();
        let author = self.queries[query].creator;
        let mut current = self.queries[query].spec;
        let mut base_name = self.queries[query].name.clone();
        let mut version = 1;
        for at in times {
            let Some(editor) = self.pick_reviser(rng, author, authors, at) else {
                continue;
            };
            let year = year_of(at);
            let other_source = sources
                .iter()
                .copied()
                .filter(|source| source.token != current.source.token)
                .collect::<Vec<_>>()
                .choose(rng)
                .copied();
            let (name, spec, data_source) = match rng.random_range(0..20) {
                // Most edits touch the SQL alone: a filter, a window, a fix.
                0..10 => (None, Some(current.retouched(rng)), None),
                // Cut by another dimension, and renamed to say so.
                10..14 => {
                    let spec = current.recut(rng);
                    let name = spec.name(rng);
                    base_name.clone_from(&name);
                    version = 1;
                    (Some(name), Some(spec), None)
                }
                14..17 => {
                    version += 1;
                    let name = match rng.random_range(0..6) {
                        0 => format!("{base_name} (old)"),
                        1 => format!("DEPRECATED: {base_name}"),
                        _ => format!("{base_name} v{version}"),
                    };
                    (Some(name), None, None)
                }
                17..19 if other_source.is_some() => {
                    let spec = other_source.map(|source| current.moved(rng, source));
                    (None, spec, other_source)
                }
                _ => {
                    let spec = current.retouched(rng);
                    (Some(spec.name(rng)), Some(spec), None)
                }
            };
            // The new text is dated by its edit: its literal dates move on.
            let spec = spec.map(|mut spec| {
                spec.year = year;
                spec
            });
            if let Some(spec) = spec {
                current = spec;
            }
            self.events.push((
                at,
                Planned::QueryEdited {
                    query,
                    editor,
                    name,
                    spec,
                    data_source,
                },
            ));
        }
    }

    fn plan_charts(
        &mut self,
        rng: &mut StdRng,
        query: usize,
        authors: &Authors,
        (created, query_end): (i64, i64),
    ) {
        let count = match rng.random_range(0..100) {
            0..25 => 0,
            25..65 => 1,
            65..87 => 2,
            _ => 3,
        };
        let author = self.queries[query].creator;
        let spec = self.queries[query].spec;
        for position in 0..count {
            let at = if position == 0 {
                // A query's first chart follows it within minutes.
                let soon = (created + 30 * MS_PER_MINUTE).min(query_end);
                between(rng, created + 30 * MS_PER_SECOND, soon)
            } else {
                between(
                    rng,
                    created + MS_PER_MINUTE,
                    created + (query_end - created) / 2,
                )
            };
            let Some(at) = at else {
                continue;
            };
            let Some(creator) = self.pick_reviser(rng, author, authors, at) else {
                continue;
            };
            let chart_type = spec.chart_type(rng, None);
            let title = spec.chart_title(rng, chart_type, true);
            let deleted = if rng.random_bool(0.06) {
                between(rng, at + MS_PER_MINUTE, query_end)
            } else {
                None
            };
            let chart = self.charts.len();
            self.charts.push(Chart {
                token: self.token(TokenKind::Chart, chart as u64),
                query,
                creator,
                chart_type,
                title,
            });
            self.events.push((at, Planned::ChartCreated(chart)));

            let mut edits = 0;
            while edits < 4 && rng.random_bool(0.25) {
                edits += 1;
            }
            let chart_end = deleted.unwrap_or(query_end);
            let mut times: Vec<i64> = (0..edits)
                .filter_map(|_| between(rng, at + MS_PER_MINUTE, chart_end))
                .collect();
            times.sort_unstable();
            let mut current_type = chart_type;
            for edited in times {
                let Some(editor) = self.pick_reviser(rng, creator, authors, edited) else {
                    continue;
                };
                let (retype, retitle) = match rng.random_range(0..10) {
                    0..5 => (true, false),
                    5..9 => (false, true),
                    _ => (true, true),
                };
                let new_type = retype
                    .then(|| spec.chart_type(rng, Some(current_type)))
                    .filter(|new_type| *new_type != current_type);
                let title = (retitle || new_type.is_none())
                    .then(|| spec.chart_title(rng, new_type.unwrap_or(current_type), false))
                    .flatten();
                current_type = new_type.unwrap_or(current_type);
                self.events.push((
                    edited,
                    Planned::ChartEdited {
                        chart,
                        editor,
                        chart_type: new_type,
                        title,
                    },
                ));
            }
            if let Some(deleted) = deleted {
                self.events.push((deleted, Planned::ChartDeleted(chart)));
            }
        }
    }
}

/// The workspace's data sources: the main warehouse and one to three more.
fn data_sources(rng: &mut StdRng) -> Vec<&'static DataSource> {
    let mut others: Vec<&'static DataSource> = DATA_SOURCES[1..].iter().collect();
    others.shuffle(rng);
    let count = rng.random_range(1..=3);
    std::iter::once(&DATA_SOURCES[0])
        .chain(others.into_iter().take(count))
        .collect()
}

/// Most queries read the main warehouse.
fn pick_source(rng: &mut StdRng, sources: &[&'static DataSource]) -> &'static DataSource {
    if sources.len() == 1 || rng.random_bool(0.6) {
        sources[0]
    } else {
        sources[rng.random_range(1..sources.len())]
    }
}
