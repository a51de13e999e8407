//! The generator's own tests: the demo parses, is reproducible, stays in
//! its period and in time order, keeps its references consistent, and
//! looks like real use.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::OnceLock;

use super::{ActivityConfig, write_activity};
use crate::domain::event::{RunTrigger, SpaceType};
use crate::domain::{Email, Event, EventKind, Position, Timestamp, Token};

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
        "query_created",
        "query_edited",
        "query_deleted",
        "chart_created",
        "chart_edited",
        "chart_deleted",
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
    // A report's creator and editors, all time: its queries' and charts' authors.
    let mut authors: HashMap<i64, HashSet<&str>> = HashMap::new();
    for event in events {
        let at = event.occurred_at;
        match &event.kind {
            EventKind::ReportCreated {
                report_id, email, ..
            }
            | EventKind::ReportEdited {
                report_id, email, ..
            } => {
                authors
                    .entry(report_id.get())
                    .or_default()
                    .insert(email.as_str());
            }
            _ => {}
        }
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
        lifetime.is_some_and(|(from, until)| *from <= at && until.is_none_or(|until| at < until))
    };
    let mut paused: HashSet<&str> = HashSet::new();
    let mut deleted: HashSet<&str> = HashSet::new();
    // The queries and charts that exist so far: a query's report, a chart's query.
    let mut queries: HashMap<&str, i64> = HashMap::new();
    let mut charts: HashMap<&str, &str> = HashMap::new();
    for event in events {
        let at = event.occurred_at;
        let member = |email: &Email| exists(members.get(email.as_str()), at);
        let report = |id: i64| exists(reports.get(&id), at);
        let space = |token: &Token| exists(spaces.get(token.as_str()), at);
        let author = |id: i64, email: &Email| {
            member(email)
                && authors
                    .get(&id)
                    .is_some_and(|set| set.contains(email.as_str()))
        };
        // The report of a query that exists, if its report exists too.
        let query = |token: &Token| {
            queries
                .get(token.as_str())
                .copied()
                .filter(|id| report(*id))
        };
        let ok = match &event.kind {
            EventKind::QueryCreated {
                query_token,
                report_id,
                email,
                ..
            } => {
                let ok = report(report_id.get()) && author(report_id.get(), email);
                ok && queries
                    .insert(query_token.as_str(), report_id.get())
                    .is_none()
            }
            EventKind::QueryEdited {
                query_token,
                email,
                name,
                raw_query,
                data_source_token,
            } => {
                query(query_token).is_some_and(|id| author(id, email))
                    && (name.is_some() || raw_query.is_some() || data_source_token.is_some())
            }
            EventKind::QueryDeleted { query_token } => {
                query(query_token).is_some() && queries.remove(query_token.as_str()).is_some()
            }
            EventKind::ChartCreated {
                chart_token,
                query_token,
                email,
                ..
            } => {
                query(query_token).is_some_and(|id| author(id, email))
                    && charts
                        .insert(chart_token.as_str(), query_token.as_str())
                        .is_none()
            }
            EventKind::ChartEdited {
                chart_token,
                email,
                chart_type,
                chart_title,
            } => {
                let query_of_chart = charts
                    .get(chart_token.as_str())
                    .and_then(|token| queries.get(token).copied().filter(|id| report(*id)));
                query_of_chart.is_some_and(|id| author(id, email))
                    && (chart_type.is_some() || chart_title.is_some())
            }
            EventKind::ChartDeleted { chart_token } => charts
                .remove(chart_token.as_str())
                .is_some_and(|token| queries.contains_key(token)),
            EventKind::ReportCreated {
                space_token, email, ..
            } => space(space_token) && member(email),
            EventKind::ReportEdited {
                report_id, email, ..
            } => report(report_id.get()) && member(email),
            EventKind::ReportMoved {
                report_id,
                space_token,
            } => report(report_id.get()) && space(space_token),
            EventKind::ReportViewed { report_id, email } => {
                report(report_id.get()) && email.as_ref().is_none_or(member)
            }
            EventKind::ReportRun {
                report_id, trigger, ..
            } => {
                report(report_id.get())
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
            } => report(report_id.get()) && member(email),
            EventKind::SchedulePaused { schedule_token } => paused.insert(schedule_token.as_str()),
            EventKind::ScheduleResumed { schedule_token } => paused.remove(schedule_token.as_str()),
            EventKind::ScheduleDeleted { schedule_token } => {
                deleted.insert(schedule_token.as_str())
            }
            _ => true,
        };
        assert!(ok, "inconsistent at its time: {event:?}");
    }
}

#[test]
fn every_report_gets_about_two_queries_and_most_queries_get_charts() {
    let (config, _, events) = demo();
    let mut queries_per_report: HashMap<i64, usize> = HashMap::new();
    let mut charts_per_query: HashMap<&str, usize> = HashMap::new();
    let mut data_sources = HashSet::new();
    for event in events {
        match &event.kind {
            EventKind::QueryCreated {
                query_token,
                report_id,
                data_source_token,
                ..
            } => {
                *queries_per_report.entry(report_id.get()).or_default() += 1;
                charts_per_query.insert(query_token.as_str(), 0);
                data_sources.insert(data_source_token.as_str());
            }
            EventKind::ChartCreated { query_token, .. } => {
                *charts_per_query.get_mut(query_token.as_str()).unwrap() += 1;
            }
            _ => {}
        }
    }
    assert_eq!(queries_per_report.len(), config.reports);
    let queries = count(events, "query_created");
    let per_report = queries as f64 / config.reports as f64;
    assert!(
        (1.7..2.5).contains(&per_report),
        "{per_report} queries per report"
    );
    assert!(queries_per_report.values().any(|count| *count >= 4));
    let per_query = count(events, "chart_created") as f64 / queries as f64;
    assert!(
        (0.9..1.6).contains(&per_query),
        "{per_query} charts per query"
    );
    assert!(charts_per_query.values().any(|count| *count == 0));
    assert!(charts_per_query.values().any(|count| *count == 3));
    assert!((2..=4).contains(&data_sources.len()), "{data_sources:?}");
    assert!(data_sources.contains("warehouse"));
}

#[test]
fn queries_read_like_sql_an_analyst_wrote() {
    let (_, _, events) = demo();
    let mut texts = Vec::new();
    let mut names = HashSet::new();
    for event in events {
        if let EventKind::QueryCreated {
            name, raw_query, ..
        } = &event.kind
        {
            texts.push(raw_query.as_str());
            names.insert(name.as_str());
        }
    }
    let share = |test: &dyn Fn(&str) -> bool| {
        texts.iter().filter(|text| test(text)).count() as f64 / texts.len() as f64
    };
    assert!(share(&|text| text.contains("SELECT") && text.contains("\nFROM ")) == 1.0);
    assert!(share(&|text| text.lines().count() >= 4) == 1.0);
    for (part, at_least) in [
        ("JOIN ", 0.3),
        ("GROUP BY", 0.5),
        ("WITH ", 0.1),
        ("--", 0.2),
        ("'", 0.5),
        ("{{ start_date }}", 0.02),
    ] {
        let found = share(&|text| text.contains(part));
        assert!(found >= at_least, "{found} of the queries have {part:?}");
    }
    let distinct: HashSet<&str> = texts.iter().copied().collect();
    assert!(distinct.len() as f64 >= 0.95 * texts.len() as f64);
    assert!(names.len() as f64 >= 0.5 * texts.len() as f64);
    assert!(
        names.contains("Query 2"),
        "Mode's default names are kept now and then"
    );
}

#[test]
fn queries_and_charts_change_over_time() {
    let (_, _, events) = demo();
    let edits: Vec<&EventKind> = events
        .iter()
        .map(|event| &event.kind)
        .filter(|kind| matches!(kind, EventKind::QueryEdited { .. }))
        .collect();
    let with = |test: fn(&EventKind) -> bool| edits.iter().filter(|kind| test(kind)).count();
    assert!(
        with(|kind| matches!(
            kind,
            EventKind::QueryEdited {
                raw_query: Some(_),
                ..
            }
        )) > 0
    );
    assert!(with(|kind| matches!(kind, EventKind::QueryEdited { name: Some(_), .. })) > 0);
    assert!(
        with(|kind| matches!(
            kind,
            EventKind::QueryEdited {
                data_source_token: Some(_),
                ..
            }
        )) > 0
    );

    let mut chart_types = HashSet::new();
    let (mut titled, mut untitled) = (0, 0);
    for event in events {
        if let EventKind::ChartCreated {
            chart_type,
            chart_title,
            ..
        } = &event.kind
        {
            chart_types.insert(chart_type.as_str());
            if chart_title.is_some() {
                titled += 1;
            } else {
                untitled += 1;
            }
        }
    }
    for chart_type in [
        "bar",
        "line",
        "table",
        "big_number",
        "pie",
        "area",
        "pivot_table",
    ] {
        assert!(chart_types.contains(chart_type), "no {chart_type} chart");
    }
    assert!(
        titled > untitled && untitled > 0,
        "{titled} titled, {untitled} not"
    );
}

#[test]
fn some_queries_belong_to_deleted_reports_and_to_personal_spaces() {
    let (_, _, events) = demo();
    let private: HashSet<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::SpaceUpserted {
                space_token,
                space_type: SpaceType::Private,
                ..
            } => Some(space_token.as_str()),
            _ => None,
        })
        .collect();
    let mut drafts = HashSet::new();
    let mut deleted = HashSet::new();
    for event in events {
        match &event.kind {
            EventKind::ReportCreated {
                report_id,
                space_token,
                ..
            } if private.contains(space_token.as_str()) => {
                drafts.insert(report_id.get());
            }
            EventKind::ReportDeleted { report_id } => {
                deleted.insert(report_id.get());
            }
            _ => {}
        }
    }
    let queries_of = |reports: &HashSet<i64>| {
        events
            .iter()
            .filter(|event| {
                matches!(&event.kind, EventKind::QueryCreated { report_id, .. } if reports.contains(&report_id.get()))
            })
            .count()
    };
    assert!(queries_of(&drafts) > 0);
    assert!(queries_of(&deleted) > 0);
}

#[test]
fn queries_and_charts_stay_the_same_when_only_views_change() {
    let small = ActivityConfig {
        reports: 60,
        members: 15,
        views: 1_000,
        ..ActivityConfig::demo(end())
    };
    let busier = ActivityConfig {
        views: 5_000,
        ..small.clone()
    };
    let queries_and_charts = |config: &ActivityConfig| -> Vec<(Timestamp, EventKind)> {
        let (ndjson, _) = generate(config);
        parse_all(config, &ndjson)
            .into_iter()
            .filter(|event| {
                let type_name = event.kind.type_name();
                type_name.starts_with("query_") || type_name.starts_with("chart_")
            })
            .map(|event| (event.occurred_at, event.kind))
            .collect()
    };
    let before = queries_and_charts(&small);
    assert!(!before.is_empty());
    assert_eq!(before, queries_and_charts(&busier));
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

/// What usage over time shows (SPEC section 8) has something to show:
/// reports that went stale while they still exist, reports that trend in
/// the last week, and a weekly rhythm.
#[test]
fn some_reports_go_stale_some_trend_and_weekends_are_quiet() {
    let (config, _, events) = demo();
    let end = config.end.as_micros();
    let day = 86_400_000_000;
    let mut deleted = HashSet::new();
    // Per report: views in the last 7 days, views in the 28 days before,
    // and the last view.
    let mut usage: HashMap<i64, (u32, u32, i64)> = HashMap::new();
    let mut by_weekday = [0u32; 7];
    for event in events {
        let at = event.occurred_at.as_micros();
        match &event.kind {
            EventKind::ReportDeleted { report_id } => {
                deleted.insert(report_id.get());
            }
            EventKind::ReportViewed { report_id, .. } => {
                let entry = usage.entry(report_id.get()).or_default();
                if at >= end - 7 * day {
                    entry.0 += 1;
                } else if at >= end - 35 * day {
                    entry.1 += 1;
                }
                entry.2 = entry.2.max(at);
                // 1970-01-01 was a Thursday: 0 is Monday here.
                by_weekday[((at.div_euclid(day) + 3) % 7) as usize] += 1;
            }
            _ => {}
        }
    }
    let live = usage.iter().filter(|(id, _)| !deleted.contains(*id));
    let stale = live
        .clone()
        .filter(|(_, (_, _, last))| *last < end - 90 * day)
        .count();
    let trending = live
        .filter(|(_, (recent, before, _))| {
            *recent >= 10 && *recent as f64 > 2.0 * *before as f64 / 4.0
        })
        .count();
    assert!(stale >= 10, "{stale} reports unviewed for 90 days");
    assert!(trending >= 3, "{trending} reports trending");
    let weekday = by_weekday[..5].iter().sum::<u32>() as f64 / 5.0;
    let weekend = by_weekday[5..].iter().sum::<u32>() as f64 / 2.0;
    assert!(
        weekend < 0.5 * weekday,
        "weekday {weekday}, weekend {weekend}"
    );
}
