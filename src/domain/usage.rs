//! Usage over time (SPEC section 8): the rows of `report_usage` and the
//! days of `usage_daily`, how they sort and filter, and a from-scratch
//! computation of both.
//!
//! The stores read these rows from counters and sets they keep as events
//! arrive (`report_days`, `report_viewer_days`); [`compute_report_usage`]
//! and [`compute_usage_daily`] count the same numbers from the events
//! themselves. They are slow and simple: the reference the stores are
//! tested against (`tests/laws.rs`, `tests/usage.rs`). No command runs them.
//!
//! **Days.** D is the UTC date of the clock's instant; "the last N days"
//! are the dates D−N+1 … D, and an event dated after D (possible within
//! the five-minute allowance for clocks ahead) counts as in them: a window
//! is every date from its first on ([`window_start`]).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Event;
use super::event::{EventKind, RunState, RunTrigger};
use super::listings::{ReportRow, compute_reports};
use super::state::Changes;
use super::stats::SpaceFilter;
use super::timestamp::{Timestamp, UtcDay};

/// The windows of `report_usage`, in days.
pub const WINDOWS: [i64; 3] = [7, 30, 90];

/// The most days `usage_daily` answers for at once, and its default.
pub const MAX_DAILY_DAYS: i64 = 366;
pub const DEFAULT_DAILY_DAYS: i64 = 30;

/// The longest `unviewed_days`: ten years.
pub const MAX_UNVIEWED_DAYS: i64 = 3650;

/// The first date of the last `days` days before and on `today`.
pub fn window_start(today: UtcDay, days: i64) -> UtcDay {
    today.plus_days(1 - days)
}

/// One row of `GET /batch/{workspace}/report_usage`, fields in the order of
/// SPEC section 8.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportUsage {
    pub report_id: i64,
    pub report_token: String,
    pub name: Option<String>,
    pub space_token: Option<String>,
    pub creator_email: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
    pub total_views_count: u64,
    pub views_7d: u64,
    pub views_30d: u64,
    pub views_90d: u64,
    /// Distinct emails among its views (anonymous views are views, not
    /// viewers).
    pub total_viewers_count: u64,
    pub viewers_7d: u64,
    pub viewers_30d: u64,
    pub viewers_90d: u64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_viewed_at: Option<Timestamp>,
    /// D minus the date of `last_viewed_at`.
    pub days_since_last_view: Option<i64>,
    /// `report_run` events of both triggers dated in the last 30 days.
    pub runs_30d: u64,
    pub failed_runs_30d: u64,
    pub active_schedules_count: u64,
}

/// What `report_usage` can be sorted by: every field above but the tokens
/// and emails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsageField {
    #[default]
    ReportId,
    Name,
    CreatedAt,
    LastViewedAt,
    DaysSinceLastView,
    TotalViewsCount,
    Views7d,
    Views30d,
    Views90d,
    TotalViewersCount,
    Viewers7d,
    Viewers30d,
    Viewers90d,
    Runs30d,
    FailedRuns30d,
    ActiveSchedulesCount,
}

impl UsageField {
    pub const ALL: [UsageField; 16] = [
        UsageField::ReportId,
        UsageField::Name,
        UsageField::CreatedAt,
        UsageField::LastViewedAt,
        UsageField::DaysSinceLastView,
        UsageField::TotalViewsCount,
        UsageField::Views7d,
        UsageField::Views30d,
        UsageField::Views90d,
        UsageField::TotalViewersCount,
        UsageField::Viewers7d,
        UsageField::Viewers30d,
        UsageField::Viewers90d,
        UsageField::Runs30d,
        UsageField::FailedRuns30d,
        UsageField::ActiveSchedulesCount,
    ];

    /// The field's name in a row.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageField::ReportId => "report_id",
            UsageField::Name => "name",
            UsageField::CreatedAt => "created_at",
            UsageField::LastViewedAt => "last_viewed_at",
            UsageField::DaysSinceLastView => "days_since_last_view",
            UsageField::TotalViewsCount => "total_views_count",
            UsageField::Views7d => "views_7d",
            UsageField::Views30d => "views_30d",
            UsageField::Views90d => "views_90d",
            UsageField::TotalViewersCount => "total_viewers_count",
            UsageField::Viewers7d => "viewers_7d",
            UsageField::Viewers30d => "viewers_30d",
            UsageField::Viewers90d => "viewers_90d",
            UsageField::Runs30d => "runs_30d",
            UsageField::FailedRuns30d => "failed_runs_30d",
            UsageField::ActiveSchedulesCount => "active_schedules_count",
        }
    }

    /// This field of `row`, as it sorts.
    fn key(self, row: &ReportUsage) -> SortKey<'_> {
        let count = |n: u64| SortKey::Int(Some(i64::try_from(n).unwrap_or(i64::MAX)));
        let at = |at: Option<Timestamp>| SortKey::Int(at.map(Timestamp::as_micros));
        match self {
            UsageField::ReportId => SortKey::Int(Some(row.report_id)),
            UsageField::Name => SortKey::Text(row.name.as_deref()),
            UsageField::CreatedAt => at(row.created_at),
            UsageField::LastViewedAt => at(row.last_viewed_at),
            UsageField::DaysSinceLastView => SortKey::Int(row.days_since_last_view),
            UsageField::TotalViewsCount => count(row.total_views_count),
            UsageField::Views7d => count(row.views_7d),
            UsageField::Views30d => count(row.views_30d),
            UsageField::Views90d => count(row.views_90d),
            UsageField::TotalViewersCount => count(row.total_viewers_count),
            UsageField::Viewers7d => count(row.viewers_7d),
            UsageField::Viewers30d => count(row.viewers_30d),
            UsageField::Viewers90d => count(row.viewers_90d),
            UsageField::Runs30d => count(row.runs_30d),
            UsageField::FailedRuns30d => count(row.failed_runs_30d),
            UsageField::ActiveSchedulesCount => count(row.active_schedules_count),
        }
    }
}

/// A field's value as it sorts: names in byte order, instants as numbers.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortKey<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

impl SortKey<'_> {
    fn is_null(&self) -> bool {
        matches!(self, SortKey::Int(None) | SortKey::Text(None))
    }
}

/// `sort`: a field, ascending unless written with a leading `-`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct UsageSort {
    pub field: UsageField,
    pub descending: bool,
}

impl UsageSort {
    /// ```
    /// use reportstats::domain::usage::{UsageField, UsageSort};
    ///
    /// let sort = UsageSort::parse("-views_30d").unwrap();
    /// assert_eq!((sort.field, sort.descending), (UsageField::Views30d, true));
    /// assert_eq!(sort.to_string(), "-views_30d");
    /// assert!(UsageSort::parse("report_token").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text),
        };
        let field = UsageField::ALL
            .into_iter()
            .find(|field| field.as_str() == name)?;
        Some(UsageSort { field, descending })
    }

    /// How two rows compare: by the field, `null`s last in either
    /// direction, ties by `report_id` ascending.
    pub fn compare(self, a: &ReportUsage, b: &ReportUsage) -> Ordering {
        let (x, y) = (self.field.key(a), self.field.key(b));
        let by_field = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) if self.descending => y.cmp(&x),
            (false, false) => x.cmp(&y),
        };
        by_field.then(a.report_id.cmp(&b.report_id))
    }

    /// Where the page after `row` starts, in this order.
    pub fn cursor_after(self, row: &ReportUsage) -> UsageCursor {
        UsageCursor {
            key: match self.field.key(row) {
                SortKey::Int(value) => CursorKey::Int(value),
                SortKey::Text(value) => CursorKey::Text(value.map(str::to_owned)),
            },
            report_id: row.report_id,
        }
    }
}

/// A page that starts after a row rather than at a number (keyset paging):
/// the rows after the one with this sort key and `report_id`, in the
/// page's order. What an export walks its listing by, so that each page
/// seeks to its start instead of counting past every row before it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UsageCursor {
    pub key: CursorKey,
    pub report_id: i64,
}

/// A [`UsageCursor`]'s sort key: the sorted field's value (instants as
/// their microseconds), `None` for `null`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CursorKey {
    Int(Option<i64>),
    Text(Option<String>),
}

impl std::fmt::Display for UsageSort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.descending { "-" } else { "" };
        write!(f, "{sign}{}", self.field.as_str())
    }
}

/// Which listed reports `report_usage` answers with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct UsageFilters {
    /// Only reports with no view dated in the last this many days.
    pub unviewed_days: Option<i64>,
    /// Only reports now in this space.
    pub space_token: Option<String>,
    /// Only reports whose name contains this, compared in lower case.
    pub name_contains: Option<String>,
    /// Only this report: what the dashboard's report page reads (the API
    /// has no such parameter).
    pub report_id: Option<i64>,
}

impl UsageFilters {
    /// Whether `row` passes, on `today`.
    pub fn admit(&self, row: &ReportUsage, today: UtcDay) -> bool {
        let stale = self.unviewed_days.is_none_or(|days| {
            let since = window_start(today, days);
            row.last_viewed_at.is_none_or(|at| at.utc_day() < since)
        });
        let in_space = self
            .space_token
            .as_ref()
            .is_none_or(|token| row.space_token.as_ref() == Some(token));
        let named = self.name_contains.as_ref().is_none_or(|text| {
            row.name
                .as_deref()
                .is_some_and(|name| fold_case(name).contains(&fold_case(text)))
        });
        let this_one = self.report_id.is_none_or(|id| row.report_id == id);
        stale && in_space && named && this_one
    }
}

/// How `q` compares names: both in lower case, by Unicode's mapping (the
/// stores do the same: SQLite through a function the server registers,
/// PostgreSQL's `lower` in a UTF-8 database).
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// One date of `GET /batch/{workspace}/usage_daily`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageDay {
    #[schema(value_type = String, format = Date)]
    pub date: UtcDay,
    pub views: u64,
    /// Distinct emails who viewed that day (the report, or any listed one).
    pub viewers: u64,
    pub manual_runs: u64,
    pub scheduled_runs: u64,
    pub failed_runs: u64,
}

impl UsageDay {
    pub fn empty(date: UtcDay) -> Self {
        UsageDay {
            date,
            views: 0,
            viewers: 0,
            manual_runs: 0,
            scheduled_runs: 0,
            failed_runs: 0,
        }
    }
}

/// What one stored event adds to its report's usage, from the event alone.
struct Counted<'a> {
    report_id: i64,
    day: UtcDay,
    at: Timestamp,
    what: Activity<'a>,
}

enum Activity<'a> {
    View { viewer: Option<&'a str> },
    Run { manual: bool, failed: bool },
}

fn counted(event: &Event) -> Option<Counted<'_>> {
    let at = event.occurred_at;
    let (report_id, what) = match &event.kind {
        EventKind::ReportViewed { report_id, email } => (
            report_id,
            Activity::View {
                viewer: email.as_ref().map(|email| email.as_str()),
            },
        ),
        EventKind::ReportRun {
            report_id,
            trigger,
            state,
            ..
        } => (
            report_id,
            Activity::Run {
                manual: matches!(trigger, RunTrigger::Manual { .. }),
                failed: *state == RunState::Failed,
            },
        ),
        _ => return None,
    };
    Some(Counted {
        report_id: report_id.get(),
        day: at.utc_day(),
        at,
        what,
    })
}

/// The `report_usage` rows of the listed reports that pass `filters`, on
/// `today`, sorted by `sort`. `state` is `events` folded (for which reports
/// are listed, their names and schedules); the numbers are counted from
/// `events`, each distinct event once.
pub fn compute_report_usage(
    state: &Changes,
    events: &[Event],
    today: UtcDay,
    filter: SpaceFilter,
    filters: &UsageFilters,
    sort: UsageSort,
) -> Vec<ReportUsage> {
    let reports: Vec<ReportRow> = compute_reports(state, filter);
    let stats = super::stats::compute_report_stats(state, Timestamp::from_micros(0), filter);
    let schedules: BTreeMap<i64, u64> = stats
        .iter()
        .map(|stat| (stat.report_id, stat.active_schedules_count))
        .collect();
    let mut rows: BTreeMap<i64, ReportUsage> = reports
        .into_iter()
        .map(|report| {
            let row = ReportUsage {
                report_id: report.id,
                report_token: report.token,
                name: report.name,
                space_token: report.space_token,
                creator_email: report.creator_email,
                created_at: report.created_at,
                total_views_count: 0,
                views_7d: 0,
                views_30d: 0,
                views_90d: 0,
                total_viewers_count: 0,
                viewers_7d: 0,
                viewers_30d: 0,
                viewers_90d: 0,
                last_viewed_at: None,
                days_since_last_view: None,
                runs_30d: 0,
                failed_runs_30d: 0,
                active_schedules_count: schedules.get(&report.id).copied().unwrap_or(0),
            };
            (row.report_id, row)
        })
        .collect();
    let [since_7, since_30, since_90] = WINDOWS.map(|days| window_start(today, days));
    let mut viewers: BTreeMap<i64, [BTreeSet<&str>; 4]> = BTreeMap::new();
    for counted in events.iter().filter_map(counted) {
        let Some(row) = rows.get_mut(&counted.report_id) else {
            continue;
        };
        match counted.what {
            Activity::View { viewer } => {
                row.total_views_count += 1;
                row.views_7d += u64::from(counted.day >= since_7);
                row.views_30d += u64::from(counted.day >= since_30);
                row.views_90d += u64::from(counted.day >= since_90);
                row.last_viewed_at = row.last_viewed_at.max(Some(counted.at));
                if let Some(viewer) = viewer {
                    let sets = viewers.entry(counted.report_id).or_default();
                    sets[0].insert(viewer);
                    for (set, since) in sets[1..].iter_mut().zip([since_7, since_30, since_90]) {
                        if counted.day >= since {
                            set.insert(viewer);
                        }
                    }
                }
            }
            Activity::Run { failed, .. } => {
                if counted.day >= since_30 {
                    row.runs_30d += 1;
                    row.failed_runs_30d += u64::from(failed);
                }
            }
        }
    }
    for (report_id, [all, in_7, in_30, in_90]) in viewers {
        let row = rows
            .get_mut(&report_id)
            .expect("counted only for listed reports");
        row.total_viewers_count = all.len() as u64;
        row.viewers_7d = in_7.len() as u64;
        row.viewers_30d = in_30.len() as u64;
        row.viewers_90d = in_90.len() as u64;
    }
    let mut rows: Vec<ReportUsage> = rows
        .into_values()
        .map(|mut row| {
            row.days_since_last_view = row
                .last_viewed_at
                .map(|at| today.days_since_epoch() - at.utc_day().days_since_epoch());
            row
        })
        .filter(|row| filters.admit(row, today))
        .collect();
    rows.sort_by(|a, b| sort.compare(a, b));
    rows
}

/// Which activity `usage_daily` adds up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DailyScope {
    /// One report, live (created and not deleted), in any space.
    Report(i64),
    /// Every listed report.
    Listed(SpaceFilter),
}

/// `usage_daily`'s answer: one row per date, and the distinct viewers
/// over all of them (which no sum of the days gives).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageSeries {
    pub days: Vec<UsageDay>,
    pub viewers: u64,
}

/// The totals of a series: the days' counts summed, its distinct viewers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageTotals {
    pub views: u64,
    /// Distinct emails who viewed on any of the dates.
    pub viewers: u64,
    pub manual_runs: u64,
    pub scheduled_runs: u64,
    pub failed_runs: u64,
}

impl UsageSeries {
    pub fn totals(&self) -> UsageTotals {
        let sum = |count: fn(&UsageDay) -> u64| self.days.iter().map(count).sum();
        UsageTotals {
            views: sum(|day| day.views),
            viewers: self.viewers,
            manual_runs: sum(|day| day.manual_runs),
            scheduled_runs: sum(|day| day.scheduled_runs),
            failed_runs: sum(|day| day.failed_runs),
        }
    }
}

/// The days `from..=to` of `usage_daily`, zeros included (see
/// [`compute_report_usage`] for `state` and `events`).
pub fn compute_usage_daily(
    state: &Changes,
    events: &[Event],
    from: UtcDay,
    to: UtcDay,
    scope: DailyScope,
) -> Vec<UsageDay> {
    compute_usage_series(state, events, from, to, scope).days
}

/// [`compute_usage_daily`] with the distinct viewers over the range.
pub fn compute_usage_series(
    state: &Changes,
    events: &[Event],
    from: UtcDay,
    to: UtcDay,
    scope: DailyScope,
) -> UsageSeries {
    let included: BTreeSet<i64> = match scope {
        DailyScope::Report(id) => compute_reports(state, SpaceFilter::All)
            .into_iter()
            .map(|report| report.id)
            .filter(|report| *report == id)
            .collect(),
        DailyScope::Listed(filter) => compute_reports(state, filter)
            .into_iter()
            .map(|report| report.id)
            .collect(),
    };
    let mut days: BTreeMap<UtcDay, (UsageDay, BTreeSet<&str>)> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        days.insert(day, (UsageDay::empty(day), BTreeSet::new()));
        day = day.plus_days(1);
    }
    for counted in events.iter().filter_map(counted) {
        if !included.contains(&counted.report_id) {
            continue;
        }
        let Some((day, viewers)) = days.get_mut(&counted.day) else {
            continue;
        };
        match counted.what {
            Activity::View { viewer } => {
                day.views += 1;
                viewers.extend(viewer);
            }
            Activity::Run { manual, failed } => {
                if manual {
                    day.manual_runs += 1;
                } else {
                    day.scheduled_runs += 1;
                }
                day.failed_runs += u64::from(failed);
            }
        }
    }
    let mut everyone = BTreeSet::new();
    let days = days
        .into_values()
        .map(|(mut day, viewers)| {
            day.viewers = viewers.len() as u64;
            everyone.extend(viewers);
            day
        })
        .collect();
    UsageSeries {
        days,
        viewers: everyone.len() as u64,
    }
}
